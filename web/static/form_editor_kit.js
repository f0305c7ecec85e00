// The form editor's toolkit (static/form_editor.js): building DOM nodes and the form model — the JSON Schema and
// UI hints edited in place, so keywords the editor does not show survive an edit. Loaded before form_editor.js.
"use strict";

window.FormEditorKit = (function () {
  let uid = 0;

  function nextId() {
    uid += 1;
    return `fe-${uid}`;
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

  function input(labelText, value, onInput, attrs, multiline) {
    const id = nextId();
    const control = multiline
      ? el("textarea", { id, rows: "2", value: value || "", oninput: (e) => onInput(e.target.value), ...(attrs || {}) })
      : el("input", { type: "text", id, value: value || "", oninput: (e) => onInput(e.target.value), ...(attrs || {}) });
    return el("div", { class: "field" }, el("label", { for: id, text: labelText }), control);
  }

  function problemsBox(target) {
    return el("ul", { class: "card-problems", "data-problems-for": target });
  }

  function isObject(value) {
    return Boolean(value) && typeof value === "object" && !Array.isArray(value);
  }

  // The designer view edits objects in these places; anything else is refused here rather than dropped.
  function jsonShapeProblem(parsedSchema, parsedUi) {
    if ("properties" in parsedSchema && !isObject(parsedSchema.properties)) return "schema.properties: {…}";
    const bad = Object.entries(parsedSchema.properties || {}).find(([, prop]) => !isObject(prop));
    if (bad) return `schema.properties.${bad[0]}: {…}`;
    if ("required" in parsedSchema && !Array.isArray(parsedSchema.required)) return "schema.required: […]";
    if ("x-rules" in parsedSchema && !Array.isArray(parsedSchema["x-rules"])) return "schema.x-rules: […]";
    if ("fields" in parsedUi && !isObject(parsedUi.fields)) return "ui.fields: {…}";
    if ("order" in parsedUi && !Array.isArray(parsedUi.order)) return "ui.order: […]";
    return null;
  }

  // The model of one form ({schema, ui}); ``ops`` are the rule words a rule may use (renames follow them).
  function model(form, ops) {
    const schema = form.schema;
    const ui = form.ui;
    const OPS = ops;

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


    return { normalise, hint, texts, read, setText, typeOf, kindOf, SHAPES, setType, rename, freshName };
  }

  return { nextId, el, input, problemsBox, isObject, jsonShapeProblem, model };
}());
