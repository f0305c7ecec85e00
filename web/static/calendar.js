// Add and remove rows in the admin calendar tables (web/templates/admin/calendars.html).
// The page works without this script: it then shows empty rows and "remove" boxes, and saving gives more empty rows.
// Row fields are named date-N, kind-N, name-N; the server reads whichever N are present, so removed rows leave gaps.
"use strict";

function wireRemove(row, addButton) {
  const button = row.querySelector("[data-remove-row]");
  if (!button) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", () => {
    row.remove();
    addButton.focus();
  });
}

function enhance(form) {
  const body = form.querySelector("tbody");
  const template = form.querySelector("template.calendar-row");
  const addButton = form.querySelector("[data-add-row]");
  if (!body || !template || !addButton) {
    return;
  }
  let next = Number(form.dataset.nextIndex) || body.rows.length;
  for (const element of form.querySelectorAll("[data-nojs]")) {
    element.hidden = true;
    // A hidden "remove" box still submits if it was ticked; the row's button removes the row instead.
    if (element instanceof HTMLInputElement) {
      element.checked = false;
      element.disabled = true;
    }
  }
  for (const element of form.querySelectorAll("[data-js]")) {
    element.hidden = false;
  }
  for (const row of body.rows) {
    wireRemove(row, addButton);
  }
  addButton.hidden = false;
  addButton.addEventListener("click", () => {
    const fragment = template.content.cloneNode(true);
    for (const field of fragment.querySelectorAll("[name]")) {
      field.name = field.name.replace("__i__", String(next));
    }
    next += 1;
    const row = fragment.querySelector("tr");
    body.appendChild(fragment);
    wireRemove(row, addButton);
    row.querySelector("input").focus();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form.calendar-edit")) {
    enhance(form);
  }
});
