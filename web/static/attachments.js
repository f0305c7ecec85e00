// Attach files without leaving the page: files dropped on the drop zone (or chosen) are sent with fetch, and the
// attachments section is replaced by the server's fresh copy — so a half-filled task form above stays as it is.
// Without JavaScript the same form posts normally and the page reloads.
"use strict";

function attachmentsSection(el) {
  return el.closest("section.attachments");
}

async function sendFiles(form) {
  const status = form.querySelector(".attach-status");
  const input = form.querySelector('input[type="file"]');
  if (!input.files.length) {
    return;
  }
  status.textContent = form.dataset.uploading;
  form.classList.add("busy");
  let response;
  try {
    response = await fetch(form.action, {
      method: "POST", body: new FormData(form), headers: {"X-Requested-With": "fetch"}, credentials: "same-origin",
    });
  } catch (error) {
    status.textContent = form.dataset.failed;
    form.classList.remove("busy");
    return;
  }
  form.classList.remove("busy");
  if (response.ok) {
    const holder = document.createElement("div");
    holder.innerHTML = await response.text();
    const fresh = holder.querySelector("section.attachments");
    if (fresh) {
      attachmentsSection(form).replaceWith(fresh);
      return;
    }
  }
  let message = form.dataset.failed;
  try {
    message = (await response.json()).error || message;
  } catch (error) {
    // not JSON (e.g. the proxy refused a too-large body): keep the general message
  }
  status.textContent = message;
  status.classList.add("error");
  input.value = "";
}

document.addEventListener("submit", (event) => {
  const form = event.target.closest("form.attach-form");
  if (form && window.fetch && window.FormData) {
    event.preventDefault();
    sendFiles(form);
  }
});

document.addEventListener("change", (event) => {
  const form = event.target.closest("form.attach-form");
  if (form && event.target.type === "file") {
    sendFiles(form);
  }
});

for (const type of ["dragenter", "dragover"]) {
  document.addEventListener(type, (event) => {
    const zone = event.target.closest && event.target.closest("[data-drop-zone]");
    if (zone) {
      event.preventDefault();
      zone.classList.add("dragging");
    }
  });
}

document.addEventListener("dragleave", (event) => {
  const zone = event.target.closest && event.target.closest("[data-drop-zone]");
  if (zone && !zone.contains(event.relatedTarget)) {
    zone.classList.remove("dragging");
  }
});

document.addEventListener("drop", (event) => {
  const zone = event.target.closest && event.target.closest("[data-drop-zone]");
  if (!zone) {
    return;
  }
  event.preventDefault();
  zone.classList.remove("dragging");
  const form = zone.closest("form.attach-form");
  const input = form.querySelector('input[type="file"]');
  input.files = event.dataTransfer.files;
  sendFiles(form);
});
