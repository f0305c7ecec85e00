// The decision-table editor: dmn-js on a deployed DMN file; save draft / validate / deploy as in modeler.js.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("modeler-data").textContent);
  var L = data.labels;
  var csrf = document.getElementById("modeler-csrf").value;
  var results = document.getElementById("modeler-results");
  var statusLine = document.getElementById("modeler-status");
  // dmn-js's labels (When, Then, Hit policy …) in the page's language.
  var translateModule = { translate: ["value", function (template, replacements) {
    var text = data.translations[template] || template;
    return text.replace(/{([^}]+)}/g, function (_m, key) { return (replacements || {})[key] || "{" + key + "}"; });
  }] };
  var modeler = new window.DmnJS({ container: "#dmn-canvas", common: { additionalModules: [translateModule] } });

  function fill(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_m, key) { return values[key]; });
  }

  function note(cls, text, id) {
    var p = document.createElement("p");
    p.className = "flash " + cls;
    if (id) { p.id = id; }
    p.textContent = text;
    results.appendChild(p);
  }

  function list(title, items, cls) {
    var h = document.createElement("h3");
    h.textContent = title;
    var ul = document.createElement("ul");
    ul.className = "modeler-list " + cls;
    items.forEach(function (item) {
      var li = document.createElement("li");
      li.textContent = item.text;
      if (item.element_id) { li.setAttribute("data-element", item.element_id); }
      ul.appendChild(li);
    });
    results.appendChild(h);
    results.appendChild(ul);
  }

  function open(xml) {
    return modeler.importXML(xml).then(function () {
      var table = modeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
      return table ? modeler.open(table) : null;
    }).then(function () { document.getElementById("dmn-canvas").setAttribute("data-ready", "true"); });
  }

  function post(url, payload) {
    return fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify(payload || {}) }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok && !(response.status === 422 && body.problems)) {
          throw new Error(body.message || response.status + " " + response.statusText);
        }
        return body;
      });
    });
  }

  function withXml(url) {
    return modeler.saveXML({ format: true }).then(function (saved) { return post(url, { dmn: saved.xml }); });
  }

  function showProblems(body) {
    results.textContent = "";
    if (body.ok) { note("success", L.valid); }
    if ((body.problems || []).length) { list(L.problems, body.problems, "problems"); }
    if ((body.warnings || []).length) { list(L.warnings, body.warnings, "warnings"); }
  }

  var actions = {
    save: function () {
      return withXml(data.urls.save).then(function (body) {
        statusLine.textContent = fill(L.saved, { time: new Date(body.draft.updated_at).toLocaleTimeString() });
      });
    },
    validate: function () { return withXml(data.urls.validate).then(showProblems); },
    deploy: function () {
      if (!window.confirm(L.confirm_deploy)) { return Promise.resolve(); }
      return withXml(data.urls.deploy).then(function (body) {
        if (body.problems) { showProblems({ ok: false, problems: body.problems }); return; }
        results.textContent = "";
        note("success", fill(L.deployed, { name: data.name, version: body.file_version }), "deployed-note");
        body.deployed.forEach(function (d) { note("info", fill(L.deployed, { name: d.name, version: d.version })); });
      });
    },
    discard: function () {
      if (!window.confirm(L.confirm_discard)) { return Promise.resolve(); }
      return post(data.urls.discard).then(function (body) {
        results.textContent = "";
        var draftNote = document.getElementById("draft-note");
        if (draftNote) { draftNote.remove(); }
        return open(body.dmn).then(function () { statusLine.textContent = L.discarded; });
      });
    }
  };

  document.querySelectorAll("[data-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      var name = button.getAttribute("data-action");
      statusLine.textContent = L.working;
      var done = actions[name]();
      if (name === "validate" || name === "deploy") { done = done.then(function () { statusLine.textContent = ""; }); }
      done.catch(function (error) { statusLine.textContent = fill(L.failed, { error: error.message }); });
    });
  });

  open(data.dmn).catch(function (error) { statusLine.textContent = fill(L.failed, { error: error.message }); });
}());
