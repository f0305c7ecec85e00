// Check a form's cross-field and relative rules (the schema's "x-rules") in the browser before it is sent.
// The server checks the same rules again (engine/definitions/forms.py); this only saves a round trip. Each field
// with rules carries them as data-rules (web/formview.py: browser_rules): [{op, kind, other | value, message}],
// where "other" is the id of the field compared with and "value" a literal or today's date of the deployment.
"use strict";

const TESTS = {
  gt: (a, b) => a > b,
  ge: (a, b) => a >= b,
  lt: (a, b) => a < b,
  le: (a, b) => a <= b,
};

function comparable(text, kind) {
  const value = (text || "").trim();
  if (!value) {
    return null;
  }
  if (kind === "number") {
    const number = Number(value.replace(/[,\s]/g, ""));
    return Number.isFinite(number) ? number : null;
  }
  return value; // ISO dates and datetime-local values compare as text
}

function holds(rule, left, right) {
  if (rule.kind === "date" && left.length !== right.length) {
    // A date against a date and time: compare the days.
    left = left.slice(0, 10);
    right = right.slice(0, 10);
  }
  return TESTS[rule.op](left, right);
}

function brokenRule(input) {
  const rules = JSON.parse(input.dataset.rules || "[]");
  for (const rule of rules) {
    const left = comparable(input.value, rule.kind);
    let right = null;
    if (rule.other) {
      const other = document.getElementById(rule.other);
      right = other ? comparable(other.value, rule.kind) : null;
    } else {
      right = comparable(rule.value, rule.kind);
    }
    if (left !== null && right !== null && TESTS[rule.op] && !holds(rule, left, right)) {
      return rule;
    }
  }
  return null;
}

function show(input, rule) {
  const field = input.closest(".field");
  const id = input.id + "-check";
  let note = document.getElementById(id);
  const described = (input.getAttribute("aria-describedby") || "").split(" ").filter((part) => part && part !== id);
  if (rule) {
    if (!note) {
      note = document.createElement("p");
      note.className = "error";
      note.id = id;
      note.setAttribute("aria-live", "polite");
      input.insertAdjacentElement("afterend", note);
    }
    note.textContent = rule.message;
    described.unshift(id);
    input.setAttribute("aria-invalid", "true");
    if (field) {
      field.classList.add("has-error");
    }
  } else {
    if (note) {
      note.remove();
    }
    if (field && !field.querySelector("p.error")) {
      field.classList.remove("has-error");
      input.removeAttribute("aria-invalid");
    }
  }
  if (described.length) {
    input.setAttribute("aria-describedby", described.join(" "));
  } else {
    input.removeAttribute("aria-describedby");
  }
}

function enhance(form) {
  const checked = Array.from(form.querySelectorAll("[data-rules]"));
  if (!checked.length) {
    return;
  }
  const check = (input) => {
    const rule = brokenRule(input);
    show(input, rule);
    return rule === null;
  };
  for (const input of checked) {
    const recheck = () => check(input);
    input.addEventListener("change", recheck);
    input.addEventListener("blur", recheck);
    // A rule also breaks or heals when the field it compares with changes.
    for (const rule of JSON.parse(input.dataset.rules || "[]")) {
      const other = rule.other ? document.getElementById(rule.other) : null;
      if (other) {
        other.addEventListener("change", () => {
          if (input.value) {
            check(input);
          }
        });
      }
    }
  }
  form.addEventListener("submit", (event) => {
    // "Save draft" keeps whatever was typed; only completing or starting is checked.
    const submitter = event.submitter;
    if (submitter && submitter.hasAttribute("formaction")) {
      return;
    }
    const broken = checked.filter((input) => !check(input));
    if (broken.length) {
      event.preventDefault();
      broken[0].focus();
    }
  });
}

for (const form of document.querySelectorAll("form.checked-form")) {
  enhance(form);
}
