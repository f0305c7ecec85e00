// 表单设计: edit one form of a designer's draft bundle (web/definitions/form_editor.py) without typing JSON.
// With static/form_editor_kit.js (DOM helpers, the form model) and static/form_editor_rules.js (rules between fields).
// The model is the form as the engine stores it — the JSON Schema and the UI hints — so keywords this page does not
// show survive an edit. Every change asks the server for a preview drawn by the task page's own code and for the
// engine's check_form findings, which are shown next to their field or rule. No form is drawn here.
"use strict";

(function () {
  const dataNode = document.getElementById("form-editor-data");
  if (!dataNode) {
    return;
  }
  const DATA = JSON.parse(dataNode.textContent);
  const CSRF = document.getElementById("form-editor-csrf").value;
  const LABELS = DATA.labels;
  const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;
  const OPS = DATA.operators.date.concat(DATA.operators.number);

  function L(key, params) {
    let text = LABELS[key] || key;
    Object.entries(params || {}).forEach(([name, value]) => {
      text = text.replace(`%(${name})s`, value);
    });
    return text;
  }

  // -- the model ------------------------------------------------------------------------------------------------
  const form = DATA.form ? JSON.parse(JSON.stringify(DATA.form)) : null;
  if (!form) {
    bindNewForm();
    return;
  }
  const schema = form.schema;
  const ui = form.ui;
  let dirty = false;
  let language = DATA.language;
  const kit = window.FormEditorKit;
  const { el, input, problemsBox } = kit;
  const model = kit.model(form, OPS);
  const { normalise, hint, read, setText, typeOf, SHAPES, setType, rename, freshName } = model;

  // -- drawing the design view -----------------------------------------------------------------------------------
  const fieldList = document.getElementById("field-list");
  const expanded = new Set(); // the fields whose details are open (the first one when the page opens)
  const rules = window.FormEditorRules({ schema, ui, DATA, L, kit, model, render: () => render(), changed: () => changed(),
    language: () => language, list: document.getElementById("rule-list") });
  const drawRules = rules.draw;
  const addRule = rules.add;

  function retitle(card, name) {
    const label = read(hint(name), "label");
    card.querySelector(".field-card-title").textContent = label[language] || label.en || name;
  }

  function numberInput(labelText, prop, key) {
    return input(labelText, prop[key] === undefined ? "" : String(prop[key]), (value) => {
      const number = Number(value);
      if (value.trim() === "" || !Number.isFinite(number)) {
        delete prop[key];
      } else {
        prop[key] = number;
      }
      changed();
    }, { inputmode: "decimal", class: "short" });
  }

  function drawFields() {
    fieldList.replaceChildren();
    if (!ui.order.length) {
      fieldList.append(el("li", { class: "empty" }, L("no_fields")));
    }
    ui.order.forEach((name, index) => fieldList.append(fieldCard(name, index)));
  }

  function fieldCard(name, index) {
    const prop = schema.properties[name];
    const h = hint(name);
    const type = typeOf(name);
    const required = schema.required.includes(name);
    const nameId = kit.nextId();
    const typeId = kit.nextId();
    const reqId = kit.nextId();
    const open = expanded.has(name);
    const card = el("li", { class: open ? "field-card open" : "field-card", "data-field": name });
    const title = read(h, "label")[language] || read(h, "label").en || name;
    card.append(el("div", { class: "field-card-head" },
      el("span", { class: "field-no", text: String(index + 1) }),
      el("button", { type: "button", class: "field-toggle", "aria-expanded": String(open), "data-role": "toggle",
        onclick: () => {
          if (open) expanded.delete(name); else expanded.add(name);
          drawFields();
        } }, el("strong", { class: "field-card-title", text: title }), el("code", { text: name })),
      el("span", { class: "tag", text: L(`type_${type}`) }),
      required ? el("span", { class: "tag required-tag", text: L("required") }) : null,
      el("span", { class: "spacer" }),
      el("button", { type: "button", class: "icon", title: L("move_up"), "aria-label": L("move_up"), disabled: index === 0,
        onclick: () => move(index, -1) }, "↑"),
      el("button", { type: "button", class: "icon", title: L("move_down"), "aria-label": L("move_down"),
        disabled: index === ui.order.length - 1, onclick: () => move(index, 1) }, "↓"),
      el("button", { type: "button", class: "icon danger-text", title: L("remove"), "aria-label": L("remove"),
        onclick: () => removeField(name) }, "✕")));
    const nameInput = el("input", { type: "text", id: nameId, value: name, class: "code", "data-role": "name",
      autocomplete: "off", spellcheck: "false" });
    const nameError = el("p", { class: "error", hidden: true });
    nameInput.addEventListener("change", () => {
      const wanted = nameInput.value.trim();
      if (wanted === name) return;
      let problem = null;
      if (!NAME.test(wanted)) problem = L("name_invalid");
      else if (wanted in schema.properties) problem = L("name_taken");
      if (problem) {
        nameError.textContent = problem;
        nameError.hidden = false;
        nameInput.setAttribute("aria-invalid", "true");
        return;
      }
      rename(name, wanted);
      expanded.delete(name);
      expanded.add(wanted);
      render();
    });
    const typeSelect = el("select", { id: typeId, "data-role": "type",
      onchange: (e) => { setType(name, e.target.value); render(); } },
      DATA.types.map((t) => el("option", { value: t, selected: t === type ? "selected" : null, text: L(`type_${t}`) })));
    const body = el("div", { class: "field-card-body", hidden: !open });
    body.append(el("div", { class: "grid-3" },
      el("div", { class: "field" }, el("label", { for: nameId, text: L("name") }), nameInput, nameError),
      el("div", { class: "field" }, el("label", { for: typeId, text: L("type") }), typeSelect),
      el("div", { class: "field check-cell" }, el("label", { class: "check", for: reqId },
        el("input", { type: "checkbox", id: reqId, "data-role": "required", checked: required, onchange: (e) => {
          schema.required = schema.required.filter((n) => n !== name);
          if (e.target.checked) schema.required.push(name);
          render();
        } }), L("required")))));
    body.append(el("div", { class: "grid-2" },
      input(L("label_zh"), read(h, "label")["zh-CN"], (v) => { setText(h, "label", "zh-CN", v); retitle(card, name); changed(); },
        { "data-role": "label-zh-CN" }),
      input(L("label_en"), read(h, "label").en, (v) => { setText(h, "label", "en", v); retitle(card, name); changed(); },
        { "data-role": "label-en" }),
      input(L("help_zh"), read(h, "help")["zh-CN"], (v) => { setText(h, "help", "zh-CN", v); changed(); },
        { "data-role": "help-zh-CN" }, true),
      input(L("help_en"), read(h, "help").en, (v) => { setText(h, "help", "en", v); changed(); },
        { "data-role": "help-en" }, true)));
    const extra = typeExtras(name, type, prop, h);
    if (extra) body.append(extra);
    card.append(body, problemsBox(`field:${name}`));
    return card;
  }

  function typeExtras(name, type, prop, h) {
    const fallback = defaultControl(type, prop, h);
    if (type === "text" || type === "textarea") {
      return el("div", { class: "grid-3" }, numberInput(L("max_length"), prop, "maxLength"), fallback);
    }
    if (type === "number" || type === "integer") {
      return el("div", { class: "grid-3" }, numberInput(L("minimum"), prop, "minimum"), numberInput(L("maximum"), prop, "maximum"),
        fallback);
    }
    if (type === "money") {
      const currency = "currency" in schema.properties && name !== "currency"
        ? el("p", { class: "hint", text: L("currency_note", { name: "currency" }) })
        : el("div", {}, el("button", { type: "button", class: "secondary small", "data-action": "add-currency",
          onclick: () => addCurrency(name) }, L("add_currency")));
      return el("div", {}, el("div", { class: "grid-3" }, fallback), currency);
    }
    if (type === "enum") {
      return el("div", {}, el("div", { class: "grid-3" }, fallback), optionsTable(name, prop, h));
    }
    return fallback ? el("div", { class: "grid-3" }, fallback) : null;
  }

  // The field's default (the schema's "default"): what the form shows before anyone types. A value that does not fit
  // the field is kept as typed and the server's check says so.
  function defaultControl(type, prop, h) {
    const id = kit.nextId();
    const set = (value) => {
      if (value === "" || value === null || value === false) delete prop.default; else prop.default = value;
      changed();
    };
    if (type === "boolean") {
      return el("div", { class: "field check-cell" }, el("label", { class: "check", for: id },
        el("input", { type: "checkbox", id, "data-role": "default", checked: prop.default === true,
          onchange: (e) => set(e.target.checked) }), L("default_checked")));
    }
    if (type === "list") {
      return null;
    }
    let control;
    if (type === "enum") {
      const names = h.options && typeof h.options === "object" ? h.options : {};
      control = el("select", { id, "data-role": "default", onchange: (e) => set(e.target.value) },
        el("option", { value: "", text: L("no_default") }),
        prop.enum.map((v) => el("option", { value: String(v), selected: String(v) === String(prop.default) ? "selected" : null,
          text: read(names, String(v))[language] || read(names, String(v)).en || String(v) })));
    } else {
      const numeric = type === "number" || type === "integer";
      control = el("input", { type: type === "date" ? "date" : "text", id, "data-role": "default", class: "short",
        value: prop.default === undefined ? "" : String(prop.default), inputmode: numeric ? "decimal" : null,
        placeholder: type === "datetime" ? "2026-03-02T09:00:00+08:00" : null,
        oninput: (e) => {
          const text = e.target.value.trim();
          const number = Number(text);
          set(numeric && text !== "" && Number.isFinite(number) ? number : text);
        } });
    }
    return el("div", { class: "field" }, el("label", { for: id, text: L("default") }), control);
  }

  function optionsTable(name, prop, h) {
    if (!h.options || typeof h.options !== "object") h.options = {};
    const body = el("tbody");
    prop.enum.forEach((value, i) => {
      const labels = h.options[String(value)] && typeof h.options[String(value)] === "object" ? h.options[String(value)] : {};
      const cell = (lang) => el("td", {}, el("input", { type: "text", value: labels[lang] || "", "aria-label": `${value} ${L(lang === "en" ? "option_en" : "option_zh")}`,
        "data-role": `option-${lang}`, oninput: (e) => {
          const map = h.options[String(prop.enum[i])] || {};
          if (e.target.value) map[lang] = e.target.value; else delete map[lang];
          h.options[String(prop.enum[i])] = map;
          changed();
        } }));
      const valueInput = el("input", { type: "text", class: "code", value: String(value), "aria-label": L("value"),
        "data-role": "option-value", onchange: (e) => {
          const fresh = e.target.value.trim();
          if (!fresh || prop.enum.includes(fresh)) { e.target.value = String(prop.enum[i]); return; }
          const old = String(prop.enum[i]);
          prop.enum[i] = fresh;
          if (h.options[old]) { h.options[fresh] = h.options[old]; delete h.options[old]; }
          render();
        } });
      body.append(el("tr", {}, el("td", {}, valueInput), cell("zh-CN"), cell("en"),
        el("td", {}, el("button", { type: "button", class: "icon danger-text", title: L("remove"), "aria-label": L("remove"),
          disabled: prop.enum.length === 1, onclick: () => {
            delete h.options[String(prop.enum[i])];
            prop.enum.splice(i, 1);
            render();
          } }, "✕"))));
    });
    return el("div", { class: "options" },
      el("table", { class: "list compact options-table" },
        el("thead", {}, el("tr", {}, el("th", { text: L("value") }), el("th", { text: L("option_zh") }),
          el("th", { text: L("option_en") }), el("th", {}))), body),
      el("button", { type: "button", class: "secondary small", "data-action": "add-option", onclick: () => {
        let n = prop.enum.length + 1;
        while (prop.enum.includes(`option_${n}`)) n += 1;
        prop.enum.push(`option_${n}`);
        render();
      } }, `+ ${L("add_option")}`));
  }

  function addCurrency(after) {
    schema.properties.currency = { type: "string", enum: DATA.currencies.slice(), default: "CNY" };
    const names = { CNY: ["人民币", "Chinese yuan"], USD: ["美元", "US dollar"], EUR: ["欧元", "Euro"], HKD: ["港币", "Hong Kong dollar"] };
    const options = {};
    DATA.currencies.forEach((c) => { options[c] = { "zh-CN": (names[c] || [c])[0], en: (names[c] || [c, c])[1] }; });
    ui.fields.currency = { label: { "zh-CN": "币种", en: "Currency" }, options };
    ui.order = ui.order.filter((n) => n !== "currency");
    ui.order.splice(ui.order.indexOf(after) + 1, 0, "currency");
    render();
  }

  function move(index, by) {
    const [name] = ui.order.splice(index, 1);
    ui.order.splice(index + by, 0, name);
    render();
  }

  function removeField(name) {
    delete schema.properties[name];
    delete ui.fields[name];
    schema.required = schema.required.filter((n) => n !== name);
    ui.order = ui.order.filter((n) => n !== name);
    render();
  }

  function addField() {
    const name = freshName("new_field");
    schema.properties[name] = SHAPES.text();
    ui.fields[name] = { label: { "zh-CN": "", en: "" } };
    ui.order.push(name);
    expanded.add(name);
    render();
    const card = fieldList.querySelector(`[data-field="${name}"] [data-role="label-zh-CN"]`);
    if (card) card.focus();
  }

  // -- rules -----------------------------------------------------------------------------------------------------
  // -- titles, views, status ---------------------------------------------------------------------------------------
  document.querySelectorAll("[data-title]").forEach((node) => {
    const lang = node.dataset.title;
    node.value = read(ui, "title")[lang] || "";
    node.addEventListener("input", () => { setText(ui, "title", lang, node.value); changed(); });
  });
  const status = document.getElementById("form-status");
  function say(text, kind) {
    status.textContent = text;
    status.className = kind ? `muted status-${kind}` : "muted";
  }

  function render() {
    normalise();
    drawFields();
    drawRules();
    changed();
  }

  function changed() {
    dirty = true;
    say(L("unsaved"), "dirty");
    syncJson();
    schedulePreview();
  }

  const jsonSchema = document.getElementById("json-schema");
  const jsonUi = document.getElementById("json-ui");
  const jsonStatus = document.getElementById("json-status");
  function syncJson() {
    if (!document.getElementById("json-pane").hidden) {
      jsonSchema.value = JSON.stringify(schema, null, 2);
      jsonUi.value = JSON.stringify(ui, null, 2);
    }
  }

  document.querySelectorAll("[data-view]").forEach((tab) => {
    tab.addEventListener("click", () => {
      document.querySelectorAll("[data-view]").forEach((t) => t.setAttribute("aria-selected", String(t === tab)));
      document.querySelectorAll("[data-pane]").forEach((pane) => { pane.hidden = pane.dataset.pane !== tab.dataset.view; });
      syncJson();
    });
  });

  document.querySelector('[data-action="apply-json"]').addEventListener("click", () => {
    let parsedSchema;
    let parsedUi;
    try {
      parsedSchema = JSON.parse(jsonSchema.value);
      parsedUi = JSON.parse(jsonUi.value);
      if (!parsedSchema || typeof parsedSchema !== "object" || Array.isArray(parsedSchema)
          || !parsedUi || typeof parsedUi !== "object" || Array.isArray(parsedUi)) {
        throw new Error("{…}");
      }
      const shapeProblem = kit.jsonShapeProblem(parsedSchema, parsedUi);
      if (shapeProblem) {
        throw new Error(shapeProblem);
      }
    } catch (error) {
      jsonStatus.textContent = L("json_invalid", { error: error.message });
      jsonStatus.className = "error";
      return;
    }
    Object.keys(schema).forEach((k) => delete schema[k]);
    Object.keys(ui).forEach((k) => delete ui[k]);
    Object.assign(schema, parsedSchema);
    Object.assign(ui, parsedUi);
    jsonStatus.textContent = L("json_applied");
    jsonStatus.className = "muted";
    document.querySelectorAll("[data-title]").forEach((node) => { node.value = read(ui, "title")[node.dataset.title] || ""; });
    render();
  });

  // -- preview and problems (from the server) -------------------------------------------------------------------
  const preview = document.getElementById("form-preview");
  const problemsTop = document.getElementById("form-problems");
  let timer = null;
  let sequence = 0;

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": CSRF, Accept: "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(answer.message || `${response.status} ${response.statusText}`);
    }
    return answer;
  }

  function schedulePreview() {
    clearTimeout(timer);
    timer = setTimeout(() => refreshPreview(null), 250);
  }

  async function refreshPreview(values) {
    const mine = ++sequence;
    preview.setAttribute("aria-busy", "true");
    try {
      const answer = await post(DATA.urls.preview, { schema, ui, language, values });
      if (mine !== sequence) return;
      preview.innerHTML = answer.html; // the server's rendering of the task page's own template
      showProblems(answer.problems, answer.warnings);
    } catch (error) {
      if (mine === sequence) say(L("failed", { error: error.message }), "error");
    } finally {
      if (mine === sequence) preview.removeAttribute("aria-busy");
    }
  }

  function showProblems(problems, warnings) {
    document.querySelectorAll(".card-problems").forEach((box) => box.replaceChildren());
    document.querySelectorAll(".field-card, .rule-card").forEach((card) => card.classList.remove("has-problem"));
    problemsTop.replaceChildren();
    const top = el("ul", {});
    const place = (entry, kind) => {
      const target = entry.rule !== null && entry.rule !== undefined ? `rule:${entry.rule}` : entry.field ? `field:${entry.field}` : null;
      const box = target ? document.querySelector(`[data-problems-for="${CSS.escape(target)}"]`) : null;
      const item = el("li", { class: kind, text: entry.message });
      if (box) {
        box.append(item);
        if (kind === "problem") box.closest("li").classList.add("has-problem");
      } else {
        top.append(item);
      }
    };
    (problems || []).forEach((p) => place(p, "problem"));
    (warnings || []).forEach((w) => place(w, "warning"));
    if (top.children.length) {
      problemsTop.append(top);
    }
    problemsTop.dataset.ok = String(!(problems || []).length);
  }

  preview.addEventListener("click", (event) => {
    const button = event.target.closest('[data-action="check-sample"]');
    if (!button) return;
    const values = {};
    new FormData(button.form).forEach((value, key) => { values[key] = value; });
    clearTimeout(timer);
    refreshPreview(values);
  });

  document.querySelectorAll("[data-lang]").forEach((button) => {
    button.addEventListener("click", () => {
      language = button.dataset.lang;
      document.querySelectorAll("[data-lang]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
      drawFields();
      drawRules();
      refreshPreview(null);
    });
  });

  // -- save and remove -------------------------------------------------------------------------------------------
  document.querySelector('[data-action="save-form"]').addEventListener("click", async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    say(L("working"));
    try {
      const answer = await post(DATA.urls.save, { schema, ui });
      dirty = false;
      const time = new Date(answer.draft.updated_at).toLocaleTimeString();
      say(answer.problems.length ? L("save_problems") : L("saved", { time }), answer.problems.length ? "warning" : "ok");
      if (answer.problems.length) showProblems(answer.problems, []);
      listSavedForm();
    } catch (error) {
      say(L("failed", { error: error.message }), "error");
    } finally {
      button.disabled = false;
    }
  });

  // A new form, once saved, is one of the draft's forms: list it with the others.
  function listSavedForm() {
    const list = document.querySelector(".form-list ul");
    if (!DATA.is_new || !list || list.querySelector(`a[data-form-key="${CSS.escape(DATA.key)}"]`)) return;
    list.querySelectorAll("li.muted").forEach((item) => item.remove());
    list.querySelectorAll("li.current").forEach((item) => item.classList.remove("current"));
    list.append(el("li", { class: "current" }, el("a", { href: window.location.pathname, "aria-current": "page",
      "data-form-key": DATA.key }, el("span", { class: "form-list-title", text: read(ui, "title")[language] || DATA.key }),
    el("code", { text: DATA.key }), el("span", { class: "tag changed", text: L("changed") }))));
  }

  const removeButton = document.querySelector('[data-action="remove-form"]');
  if (removeButton) {
    removeButton.addEventListener("click", async () => {
      if (!window.confirm(L("confirm_remove"))) return;
      try {
        const answer = await post(DATA.urls.remove, {});
        dirty = false;
        window.location.assign(answer.url);
      } catch (error) {
        say(L("failed", { error: error.message }), "error");
      }
    });
  }

  document.querySelector('[data-action="add-field"]').addEventListener("click", addField);
  document.querySelector('[data-action="add-rule"]').addEventListener("click", addRule);
  window.addEventListener("beforeunload", (event) => {
    if (dirty) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  bindNewForm();
  normalise();
  if (ui.order.length) expanded.add(ui.order[0]);
  drawFields();
  drawRules();
  refreshPreview(null);
  say("");
  dirty = false;

  function bindNewForm() {
    const newForm = document.getElementById("new-form");
    if (!newForm) return;
    newForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const key = newForm.elements.key.value.trim();
      if (!/^[A-Za-z0-9_.-]{1,200}$/.test(key)) {
        newForm.elements.key.setAttribute("aria-invalid", "true");
        newForm.elements.key.reportValidity();
        return;
      }
      window.location.assign(`${newForm.dataset.base}/${encodeURIComponent(key)}`);
    });
  }
}());
