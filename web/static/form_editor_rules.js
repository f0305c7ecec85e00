// The form editor's rules between fields (the schema's "x-rules"): field, comparison word, what it is compared with
// (another field, today, a value) and the message in both languages. Used by static/form_editor.js.
"use strict";

window.FormEditorRules = function (ctx) {
  const { schema, ui, DATA, L, kit, model } = ctx;
  const { el, input, problemsBox } = kit;
  const { kindOf } = model;
  const OPS = DATA.operators.date.concat(DATA.operators.number);
  const ruleList = ctx.list;
  const render = ctx.render;
  const changed = ctx.changed;

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
    const text = label && typeof label === "object" ? (label[ctx.language()] || label.en) : label;
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
    const ids = [1, 2, 3, 4, 5].map(() => kit.nextId());
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

  return { draw: drawRules, add: addRule };
};
