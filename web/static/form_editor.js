// 表单设计: edit one form of a designer's draft bundle (web/definitions/form_editor.py) without typing JSON.
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
  const LANGS = ["zh-CN", "en"];
  const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;
  const OPS = DATA.operators.date.concat(DATA.operators.number);

  function L(key, params) {
    let text = LABELS[key] || key;
    Object.entries(params || {}).forEach(([name, value]) => {
      text = text.replace(`%(${name})s`, value);
    });
    return text;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([name, value]) => {
      if (value === null || value === undefined || value === false) {
        return;
      }
      if (name === "text") {
        node.textContent = value;
      } else if (name.startsWith("on")) {
        node.addEventListener(name.slice(2), value);
      } else if (name === "value") {
        node.value = value;
      } else if (name === "checked") {
        node.checked = Boolean(value);
      } else {
        node.setAttribute(name, value === true ? "" : value);
      }
    });
    children.flat().forEach((child) => {
      if (child !== null && child !== undefined && child !== false) {
        node.append(child);
      }
    });
    return node;
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
  let uid = 0;

  function normalise() {
    if (!schema.properties || typeof schema.properties !== "object" || Array.isArray(schema.properties)) {
      schema.properties = {};
    }
    if (!Array.isArray(schema.required)) {
      schema.required = [];
    }
    if (!ui.fields || typeof ui.fields !== "object" || Array.isArray(ui.fields)) {
      ui.fields = {};
    }
    const names = Object.keys(schema.properties);
    const order = (Array.isArray(ui.order) ? ui.order : []).filter((n) => names.includes(n));
    ui.order = order.concat(names.filter((n) => !order.includes(n)));
    if (!Array.isArray(schema["x-rules"])) {
      delete schema["x-rules"];
    }
  }

  function hint(name) {
    if (!ui.fields[name] || typeof ui.fields[name] !== "object") {
      ui.fields[name] = {};
    }
    return ui.fields[name];
  }

  function texts(holder, key) {
    if (!holder[key] || typeof holder[key] !== "object") {
      holder[key] = typeof holder[key] === "string" ? { en: holder[key] } : {};
    }
    return holder[key];
  }

  function read(holder, key) {
    const value = holder[key];
    if (typeof value === "string") return { en: value };
    return value && typeof value === "object" ? value : {};
  }

  function setText(holder, key, lang, value) {
    const map = texts(holder, key);
    if (value) {
      map[lang] = value;
    } else {
      delete map[lang];
    }
    if (!Object.keys(map).length) {
      delete holder[key];
    }
  }

  function typeOf(name) {
    const prop = schema.properties[name] || {};
    const widget = (ui.fields[name] || {}).widget;
    if (prop.type === "boolean") return "boolean";
    if (prop.type === "integer") return "integer";
    if (prop.type === "number") return "number";
    if (prop.type === "array") return "list";
    if (prop.format === "money" || prop.format === "decimal") return "money";
    if (prop.format === "date") return "date";
    if (prop.format === "date-time") return "datetime";
    if (Array.isArray(prop.enum)) return "enum";
    if (widget === "textarea") return "textarea";
    return "text";
  }

  function kindOf(name) {
    const type = typeOf(name);
    if (type === "date" || type === "datetime") return "date";
    if (type === "number" || type === "integer" || type === "money") return "number";
    return null;
  }

  const SHAPES = {
    text: () => ({ type: "string" }),
    textarea: () => ({ type: "string" }),
    number: () => ({ type: "number" }),
    integer: () => ({ type: "integer" }),
    money: () => ({ type: "string", format: "money" }),
    date: () => ({ type: "string", format: "date" }),
    datetime: () => ({ type: "string", format: "date-time" }),
    boolean: () => ({ type: "boolean" }),
    enum: () => ({ type: "string", enum: ["option_1"] }),
    list: () => ({ type: "array", items: { type: "string" } }),
  };

  function setType(name, type) {
    const old = schema.properties[name] || {};
    const shape = SHAPES[type]();
    const keep = ["description", "title"];
    if (type === "text" || type === "textarea") keep.push("minLength", "maxLength", "pattern");
    if (type === "number" || type === "integer") keep.push("minimum", "maximum");
    if (type === "enum" && Array.isArray(old.enum) && old.enum.length) shape.enum = old.enum.slice();
    keep.forEach((key) => {
      if (key in old) shape[key] = old[key];
    });
    schema.properties[name] = shape;
    const h = hint(name);
    delete h.widget;
    if (type === "textarea") h.widget = "textarea";
    if (type !== "enum") delete h.options;
  }

  function rename(oldName, newName) {
    const props = {};
    Object.entries(schema.properties).forEach(([key, value]) => {
      props[key === oldName ? newName : key] = value;
    });
    schema.properties = props;
    schema.required = schema.required.map((n) => (n === oldName ? newName : n));
    ui.order = ui.order.map((n) => (n === oldName ? newName : n));
    if (ui.fields[oldName]) {
      ui.fields[newName] = ui.fields[oldName];
      delete ui.fields[oldName];
    }
    (schema["x-rules"] || []).forEach((rule) => {
      if (rule.field === oldName) rule.field = newName;
      OPS.forEach((op) => {
        if (rule[op] === oldName) rule[op] = newName;
      });
    });
  }

  function freshName(base) {
    let name = base;
    let n = 1;
    while (name in schema.properties) {
      n += 1;
      name = `${base}_${n}`;
    }
    return name;
  }

  // -- drawing the design view -----------------------------------------------------------------------------------
  const fieldList = document.getElementById("field-list");
  const ruleList = document.getElementById("rule-list");

  function input(labelText, value, onInput, attrs, multiline) {
    const id = `fe-${++uid}`;
    const control = multiline
      ? el("textarea", { id, rows: "2", value: value || "", oninput: (e) => onInput(e.target.value), ...(attrs || {}) })
      : el("input", { type: "text", id, value: value || "", oninput: (e) => onInput(e.target.value), ...(attrs || {}) });
    return el("div", { class: "field" }, el("label", { for: id, text: labelText }), control);
  }

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

  function problemsBox(target) {
    return el("ul", { class: "card-problems", "data-problems-for": target });
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
    const nameId = `fe-${++uid}`;
    const typeId = `fe-${++uid}`;
    const reqId = `fe-${++uid}`;
    const card = el("li", { class: "field-card", "data-field": name });
    const title = read(h, "label")[language] || read(h, "label").en || name;
    card.append(el("div", { class: "field-card-head" },
      el("span", { class: "field-no", text: String(index + 1) }),
      el("strong", { class: "field-card-title", text: title }),
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
      render();
    });
    const typeSelect = el("select", { id: typeId, "data-role": "type",
      onchange: (e) => { setType(name, e.target.value); render(); } },
      DATA.types.map((t) => el("option", { value: t, selected: t === type ? "selected" : null, text: L(`type_${t}`) })));
    card.append(el("div", { class: "grid-3" },
      el("div", { class: "field" }, el("label", { for: nameId, text: L("name") }), nameInput, nameError),
      el("div", { class: "field" }, el("label", { for: typeId, text: L("type") }), typeSelect),
      el("div", { class: "field check-cell" }, el("label", { class: "check", for: reqId },
        el("input", { type: "checkbox", id: reqId, "data-role": "required", checked: required, onchange: (e) => {
          schema.required = schema.required.filter((n) => n !== name);
          if (e.target.checked) schema.required.push(name);
          render();
        } }), L("required")))));
    card.append(el("div", { class: "grid-2" },
      input(L("label_zh"), read(h, "label")["zh-CN"], (v) => { setText(h, "label", "zh-CN", v); retitle(card, name); changed(); },
        { "data-role": "label-zh-CN" }),
      input(L("label_en"), read(h, "label").en, (v) => { setText(h, "label", "en", v); retitle(card, name); changed(); },
        { "data-role": "label-en" }),
      input(L("help_zh"), read(h, "help")["zh-CN"], (v) => { setText(h, "help", "zh-CN", v); changed(); },
        { "data-role": "help-zh-CN" }, true),
      input(L("help_en"), read(h, "help").en, (v) => { setText(h, "help", "en", v); changed(); },
        { "data-role": "help-en" }, true)));
    const extra = typeExtras(name, type, prop, h);
    if (extra) card.append(extra);
    card.append(problemsBox(`field:${name}`));
    return card;
  }

  function typeExtras(name, type, prop, h) {
    if (type === "text" || type === "textarea") {
      return el("div", { class: "grid-3" }, numberInput(L("max_length"), prop, "maxLength"));
    }
    if (type === "number" || type === "integer") {
      return el("div", { class: "grid-3" }, numberInput(L("minimum"), prop, "minimum"), numberInput(L("maximum"), prop, "maximum"));
    }
    if (type === "money") {
      if ("currency" in schema.properties && name !== "currency") {
        return el("p", { class: "hint", text: L("currency_note", { name: "currency" }) });
      }
      return el("div", {}, el("button", { type: "button", class: "secondary small", "data-action": "add-currency",
        onclick: () => addCurrency(name) }, L("add_currency")));
    }
    if (type === "enum") {
      return optionsTable(name, prop, h);
    }
    return null;
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
    render();
    const card = fieldList.querySelector(`[data-field="${name}"] [data-role="label-zh-CN"]`);
    if (card) card.focus();
  }

  // -- rules -----------------------------------------------------------------------------------------------------
  function ruleParts(rule) {
    const op = OPS.find((o) => o in rule) || null;
    const operand = op ? String(rule[op]) : "";
    let against = "value";
    if (operand in schema.properties) against = "field";
    else if (operand === "today") against = "today";
    return { op, operand, against };
  }

  function setRule(rule, op, operand) {
    OPS.forEach((o) => delete rule[o]);
    rule[op] = operand;
  }

  function drawRules() {
    ruleList.replaceChildren();
    const rules = schema["x-rules"] || [];
    const comparable = ui.order.filter((n) => kindOf(n));
    if (!rules.length) {
      ruleList.append(el("li", { class: "empty" }, comparable.length ? L("no_rules") : L("no_comparable")));
    }
    rules.forEach((rule, index) => ruleList.append(ruleCard(rule, index, comparable)));
    document.querySelector('[data-action="add-rule"]').disabled = !comparable.length;
  }

  function fieldLabel(name) {
    const label = (ui.fields[name] || {}).label;
    const text = label && typeof label === "object" ? (label[language] || label.en) : label;
    return text || name;
  }

  function ruleCard(rule, index, comparable) {
    if (typeof rule !== "object" || rule === null) {
      return el("li", { class: "rule-card" }, el("code", { text: JSON.stringify(rule) }), problemsBox(`rule:${index}`));
    }
    const kind = kindOf(rule.field) || "date";
    const parts = ruleParts(rule);
    const ops = DATA.operators[kind];
    const op = ops.includes(parts.op) ? parts.op : (parts.op ? DATA.operators[kind][OPS.indexOf(parts.op) % 4] : ops[0]);
    const ids = [1, 2, 3, 4, 5].map(() => `fe-${++uid}`);
    const others = comparable.filter((n) => n !== rule.field && kindOf(n) === kind);
    const fieldSelect = el("select", { id: ids[0], "data-role": "rule-field", onchange: (e) => {
      rule.field = e.target.value;
      const newKind = kindOf(rule.field);
      const p = ruleParts(rule);
      setRule(rule, DATA.operators[newKind][Math.max(0, OPS.indexOf(p.op)) % 4], newKind === "date" ? "today" : "0");
      render();
    } }, (comparable.includes(rule.field) ? [] : [el("option", { value: rule.field || "", text: rule.field || "—" })]),
    comparable.map((n) => el("option", { value: n, selected: n === rule.field ? "selected" : null, text: fieldLabel(n) })));
    const opSelect = el("select", { id: ids[1], "data-role": "rule-op", onchange: (e) => { setRule(rule, e.target.value, parts.operand); changed(); } },
      ops.map((o) => el("option", { value: o, selected: o === op ? "selected" : null, text: L(`op_${o}`) })));
    const againstChoices = [["field", L("rule_other")], ["value", L("rule_value")]];
    if (kind === "date") againstChoices.splice(1, 0, ["today", L("rule_today")]);
    const againstSelect = el("select", { id: ids[2], "data-role": "rule-against", onchange: (e) => {
      const choice = e.target.value;
      setRule(rule, op, choice === "today" ? "today" : choice === "field" ? (others[0] || "") : (kind === "date" ? "" : "0"));
      render();
    } }, againstChoices.map(([v, t]) => el("option", { value: v, selected: v === parts.against ? "selected" : null, text: t })));
    let operandBox = el("div", { class: "field" });
    if (parts.against === "field") {
      operandBox = el("div", { class: "field" }, el("label", { for: ids[3], text: L("rule_other") }),
        el("select", { id: ids[3], "data-role": "rule-other", onchange: (e) => { setRule(rule, op, e.target.value); changed(); } },
          (others.includes(parts.operand) ? [] : [el("option", { value: parts.operand, text: parts.operand || "—" })]),
          others.map((n) => el("option", { value: n, selected: n === parts.operand ? "selected" : null, text: fieldLabel(n) }))));
    } else if (parts.against === "value") {
      operandBox = el("div", { class: "field" }, el("label", { for: ids[3], text: L("rule_value") }),
        el("input", { id: ids[3], type: kind === "date" ? "date" : "text", value: parts.operand, "data-role": "rule-value",
          inputmode: kind === "number" ? "decimal" : null,
          oninput: (e) => { setRule(rule, op, e.target.value.trim()); changed(); } }));
    }
    if (!rule.message || typeof rule.message !== "object") {
      rule.message = typeof rule.message === "string" ? { en: rule.message } : {};
    }
    const message = rule.message;
    const card = el("li", { class: "rule-card", "data-rule": String(index) },
      el("div", { class: "rule-line" },
        el("div", { class: "field" }, el("label", { for: ids[0], text: L("rule_field") }), fieldSelect),
        el("div", { class: "field" }, el("label", { for: ids[1], text: L("rule_op") }), opSelect),
        el("div", { class: "field" }, el("label", { for: ids[2], text: L("rule_against") }), againstSelect),
        operandBox,
        el("button", { type: "button", class: "icon danger-text", title: L("remove"), "aria-label": L("remove"), onclick: () => {
          schema["x-rules"].splice(index, 1);
          if (!schema["x-rules"].length) delete schema["x-rules"];
          render();
        } }, "✕")),
      el("div", { class: "grid-2" },
        input(L("message_zh"), message["zh-CN"], (v) => { setMessage(rule, "zh-CN", v); changed(); }, {}, true),
        input(L("message_en"), message.en, (v) => { setMessage(rule, "en", v); changed(); }, {}, true)),
      problemsBox(`rule:${index}`));
    tidyMessage(rule);
    return card;
  }

  function setMessage(rule, lang, value) {
    const message = rule.message && typeof rule.message === "object" ? rule.message : {};
    if (value) message[lang] = value; else delete message[lang];
    rule.message = message;
    tidyMessage(rule);
  }

  function tidyMessage(rule) {
    if (rule.message && typeof rule.message === "object" && !Object.keys(rule.message).length) {
      delete rule.message;
    }
  }

  function addRule() {
    const comparable = ui.order.filter((n) => kindOf(n));
    if (!comparable.length) return;
    const field = comparable[0];
    const rule = { field };
    rule[DATA.operators[kindOf(field)][1]] = kindOf(field) === "date" ? "today" : "0";
    schema["x-rules"] = (schema["x-rules"] || []).concat([rule]);
    render();
  }

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
    } catch (error) {
      say(L("failed", { error: error.message }), "error");
    } finally {
      button.disabled = false;
    }
  });

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
