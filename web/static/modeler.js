// The browser modeler: bpmn-js with the Camunda moddle, and a properties panel limited to what the engine reads.
// Draft, validate, diff, deploy and the translate module are shared with the decision editor (editor.js).
(function () {
  "use strict";
  var E = window.BpmEditor;
  var data = E.data;
  var L = E.labels;
  var el = E.el;
  var panel = document.getElementById("modeler-panel");
  var modeler, modeling, moddle, canvas, registry, overlays, selection;
  var marked = [];
  var TIMERS = ["timeDuration", "timeDate", "timeCycle"];

  // Fit the diagram, a little smaller and to the right, so the palette on the left covers none of it.
  function fit() {
    canvas.zoom("fit-viewport", "auto");
    canvas.zoom(Math.min(canvas.zoom() * 0.88, 1), "auto");
    canvas.scroll({ dx: 50, dy: 0 });
  }

  // ---- reading and writing the business object -------------------------------------------------------------

  function is(bo, type) { return bo && bo.$instanceOf && bo.$instanceOf(type); }

  function propertiesOf(bo) {
    var ext = bo.extensionElements;
    var values = ext ? ext.get("values") : [];
    return values.filter(function (v) { return is(v, "camunda:Properties"); })[0];
  }

  function getProperty(bo, name) {
    var props = propertiesOf(bo);
    var found = props ? props.get("values").filter(function (p) { return p.name === name; })[0] : null;
    return found ? (found.value || "") : "";
  }

  function setProperty(element, name, value) {
    var bo = element.businessObject;
    var ext = bo.extensionElements;
    if (!ext) {
      if (!value) { return; }
      ext = moddle.create("bpmn:ExtensionElements", { values: [] });
      ext.$parent = bo;
      modeling.updateProperties(element, { extensionElements: ext });
    }
    var props = propertiesOf(bo);
    if (!props) {
      if (!value) { return; }
      props = moddle.create("camunda:Properties", { values: [] });
      props.$parent = ext;
      modeling.updateModdleProperties(element, ext, { values: ext.get("values").concat([props]) });
    }
    var found = props.get("values").filter(function (p) { return p.name === name; })[0];
    if (!value) {
      if (found) {
        modeling.updateModdleProperties(element, props, { values: props.get("values").filter(function (p) { return p !== found; }) });
      }
    } else if (found) {
      modeling.updateModdleProperties(element, found, { value: value });
    } else {
      var prop = moddle.create("camunda:Property", { name: name, value: value });
      prop.$parent = props;
      modeling.updateModdleProperties(element, props, { values: props.get("values").concat([prop]) });
    }
  }

  function expression(body) {
    return body ? moddle.create("bpmn:FormalExpression", { body: body }) : undefined;
  }

  function timerOf(bo) {
    return (bo.eventDefinitions || []).filter(function (d) { return is(d, "bpmn:TimerEventDefinition"); })[0];
  }

  // ---- the panel -------------------------------------------------------------------------------------------

  function field(label, input, name) {
    input.id = "prop-" + name;
    input.setAttribute("name", name);
    return el("div", { "class": "prop" }, [el("label", { "for": input.id, text: label }), input]);
  }

  function textInput(value, onChange, list) {
    var input = el("input", { type: "text", value: value || "" });
    if (list) { input.setAttribute("list", list); }
    input.addEventListener("change", function () { onChange(input.value.trim()); });
    return input;
  }

  function textArea(value, onChange, rows) {
    var area = el("textarea", { rows: String(rows || 3), spellcheck: "false" });
    area.value = value || "";
    area.addEventListener("change", function () { onChange(area.value); });
    return area;
  }

  function choice(options, value, onChange) {
    var select = el("select", {}, [el("option", { value: "", text: L.none })]);
    options.forEach(function (o) {
      var option = el("option", { value: o.value, text: o.label });
      if (o.value === value) { option.selected = true; }
      select.appendChild(option);
    });
    if (value && !options.some(function (o) { return o.value === value; })) {
      select.appendChild(el("option", { value: value, text: value, selected: "selected" }));
    }
    select.addEventListener("change", function () { onChange(select.value); });
    return select;
  }

  function groupPicker(element, bo) {
    var chosen = (bo.get("camunda:candidateGroups") || "").split(",").map(function (g) { return g.trim(); })
      .filter(Boolean);
    var box = el("fieldset", { "class": "prop prop-groups", id: "prop-candidateGroups" },
      [el("legend", { text: L.candidate_groups })]);
    data.groups.forEach(function (g) {
      var check = el("input", { type: "checkbox", value: g.id, name: "candidateGroups" });
      check.checked = chosen.indexOf(g.id) >= 0;
      check.addEventListener("change", function () {
        var picked = Array.prototype.slice.call(box.querySelectorAll("input:checked")).map(function (c) { return c.value; });
        var unknown = chosen.filter(function (id) { return !data.groups.some(function (x) { return x.id === id; }); });
        modeling.updateProperties(element, { "camunda:candidateGroups": unknown.concat(picked).join(",") || undefined });
      });
      box.appendChild(el("label", { "class": "check" }, [check, document.createTextNode(" " + g.label + " (" + g.id + ")")]));
    });
    return box;
  }

  function update(element, name) {
    return function (value) {
      var change = {};
      change[name] = value === "" ? undefined : value;
      modeling.updateProperties(element, change);
    };
  }

  // Buttons that put a business-calendar helper (or an ISO 8601 example) into a field, folded under it.
  function helperChips(input, helpers, onPick) {
    var box = el("details", { "class": "prop-helpers", id: input.id + "-helpers" },
      [el("summary", { text: L.calendar_helpers })]);
    helpers.forEach(function (h) {
      var chip = el("button", { type: "button", "class": "chip", text: h });
      chip.addEventListener("click", function () { input.value = h; onPick(h); });
      box.appendChild(chip);
    });
    return box;
  }

  function dateField(element, bo, attribute, label, name, parts) {
    var write = update(element, attribute);
    var input = textInput(bo.get(attribute), write, "modeler-calendar-helpers");
    parts.push(field(label, input, name));
    parts.push(helperChips(input, data.calendar_helpers, write));
  }

  function timerFields(element, bo, parts) {
    var timer = timerOf(bo);
    if (!timer) { return; }
    var kind = TIMERS.filter(function (k) { return timer[k]; })[0] || "timeDuration";
    var current = timer[kind] ? timer[kind].body : "";
    var kinds = [{ value: "timeDuration", label: L.time_duration }, { value: "timeDate", label: L.time_date },
      { value: "timeCycle", label: L.time_cycle }];
    var value = textInput(current, function (text) { write(kindSelect.value || "timeDuration", text); }, "modeler-timer-examples");
    var kindSelect = choice(kinds, kind, function (k) {
      write(k || "timeDuration", value.value.trim());
      render(element);  // the suggestions and helper buttons follow the new kind
    });
    function write(k, text) {
      var change = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
      change[k] = expression(text);
      modeling.updateModdleProperties(element, timer, change);
    }
    timerExamples(kind);
    parts.push(el("h3", { text: L.timer }));
    parts.push(field(L.timer_kind, kindSelect, "timerKind"));
    parts.push(field(L.timer_value, value, "timer"));
    parts.push(helperChips(value, data.timer_helpers[kind], function (text) { write(kindSelect.value || kind, text); }));
  }

  function render(element) {
    panel.textContent = "";
    if (element && element.labelTarget) { element = element.labelTarget; }  // a label edits its flow or event
    if (!element) { panel.appendChild(el("p", { "class": "muted", text: L.select_element })); return; }
    var bo = element.businessObject;
    var parts = [el("h2", { text: L.general }),
      el("p", { "class": "prop-id" }, [el("span", { "class": "muted", text: L.id + ": " }), el("code", { text: bo.id }),
        document.createTextNode(" · "), el("code", { "class": "muted", text: bo.$type.replace("bpmn:", "") })])];
    parts.push(field(L.name, textInput(bo.name, update(element, "name")), "name"));
    var engineReads = false;
    if (is(bo, "bpmn:UserTask")) {
      engineReads = true;
      parts.push(groupPicker(element, bo));
      parts.push(field(L.assignee, textInput(bo.get("camunda:assignee"), update(element, "camunda:assignee")), "assignee"));
      parts.push(field(L.form_key, choice(data.form_keys.map(function (k) { return { value: k, label: k }; }),
        bo.get("camunda:formKey"), update(element, "camunda:formKey")), "formKey"));
      var priority = textInput(bo.get("camunda:priority"), update(element, "camunda:priority"));
      priority.setAttribute("inputmode", "numeric");
      parts.push(field(L.priority, priority, "priority"));
      dateField(element, bo, "camunda:dueDate", L.due_date, "dueDate", parts);
      dateField(element, bo, "camunda:followUpDate", L.follow_up_date, "followUpDate", parts);
    }
    if (is(bo, "bpmn:StartEvent") && !timerOf(bo)) {
      engineReads = true;
      parts.push(field(L.form_key, choice(data.form_keys.map(function (k) { return { value: k, label: k }; }),
        bo.get("camunda:formKey"), update(element, "camunda:formKey")), "formKey"));
    }
    if (is(bo, "bpmn:ServiceTask") || is(bo, "bpmn:SendTask")) {
      engineReads = true;
      parts.push(field(L.topic, textInput(bo.get("camunda:topic"), function (topic) {
        modeling.updateProperties(element, { "camunda:type": topic ? "external" : undefined, "camunda:topic": topic || undefined });
      }), "topic"));
    }
    if (is(bo, "bpmn:ScriptTask")) {
      engineReads = true;
      parts.push(field(L.script, textArea(bo.script, function (text) {
        modeling.updateProperties(element, { script: text || undefined, scriptFormat: bo.scriptFormat || "python" });
      }, 8), "script"));
    }
    if (is(bo, "bpmn:SequenceFlow") && bo.sourceRef && (is(bo.sourceRef, "bpmn:ExclusiveGateway") ||
        is(bo.sourceRef, "bpmn:InclusiveGateway") || bo.conditionExpression)) {
      engineReads = true;
      parts.push(field(L.condition, textArea(bo.conditionExpression ? bo.conditionExpression.body : "", function (text) {
        modeling.updateProperties(element, { conditionExpression: expression(text.trim()) });
      }, 2), "condition"));
    }
    if (timerOf(bo)) {
      engineReads = true;
      timerFields(element, bo, parts);
      if (is(bo, "bpmn:BoundaryEvent")) {
        parts.push(field(L.sla, textInput(getProperty(bo, "sla"), function (v) { setProperty(element, "sla", v); }), "sla"));
      }
    }
    if (!engineReads && !is(bo, "bpmn:Process") && !is(bo, "bpmn:Participant")) {
      parts.push(el("p", { "class": "muted", text: L.not_applicable }));
    }
    parts.forEach(function (p) { panel.appendChild(p); });
  }

  function datalists() {
    var helpers = el("datalist", { id: "modeler-calendar-helpers" });
    data.calendar_helpers.forEach(function (h) { helpers.appendChild(el("option", { value: h })); });
    document.body.appendChild(helpers);
    document.body.appendChild(el("datalist", { id: "modeler-timer-examples" }));
  }

  // The timer field's suggestions follow its kind (a duration, a date, a cycle).
  function timerExamples(kind) {
    var list = document.getElementById("modeler-timer-examples");
    list.textContent = "";
    (data.timer_helpers[kind] || []).forEach(function (h) { list.appendChild(el("option", { value: h })); });
  }

  // ---- markers on the diagram ------------------------------------------------------------------------------

  var markers = {
    clear: function () {
      marked.forEach(function (m) { if (registry.get(m[0])) { canvas.removeMarker(m[0], m[1]); } });
      marked = [];
      overlays.remove({ type: "problem" });
    },
    add: function (id, cls, title) {
      if (!id || !registry.get(id)) { return false; }
      canvas.addMarker(id, cls);
      marked.push([id, cls]);
      if (cls === "has-problem") {
        overlays.add(id, "problem", { position: { top: -12, right: 12 },
          html: el("span", { "class": "problem-badge", title: title || "", text: "!" }) });
      }
      return true;
    },
    focus: function (id) {
      var element = registry.get(id);
      if (element) { selection.select(element); canvas.scrollToElement(element); }
    }
  };

  // ---- start -----------------------------------------------------------------------------------------------

  fetch(data.moddle, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (camunda) {
    modeler = new window.BpmnJS({ container: "#modeler-canvas", moddleExtensions: { camunda: camunda },
      additionalModules: [E.translateModule] });
    modeling = modeler.get("modeling");
    moddle = modeler.get("moddle");
    canvas = modeler.get("canvas");
    registry = modeler.get("elementRegistry");
    overlays = modeler.get("overlays");
    selection = modeler.get("selection");
    datalists();
    modeler.on("selection.changed", function (event) { render(event.newSelection[0] || null); });
    modeler.on("commandStack.changed", function () {
      if (!panel.contains(document.activeElement)) { render(selection.get()[0] || null); }
    });
    return E.start({
      key: "bpmn", modeler: modeler, ready: document.getElementById("modeler-canvas"), markers: markers,
      open: function (xml) { return modeler.importXML(xml).then(function () { fit(); render(null); }); },
      onEdit: function (callback) {  // not when an import clears the stack
        modeler.on("commandStack.changed", function (event) { if (event.trigger !== "clear") { callback(); } });
      },
      deployed: function (body) {
        return body.deployed.map(function (d) {
          return { text: E.fill(L.deployed, { version: d.version }), url: d.url,
            link: E.fill(L.open_version, { version: d.version }) };
        });
      }
    });
  }).catch(function (error) { E.say(E.fill(L.failed, { error: error.message })); });
}());
