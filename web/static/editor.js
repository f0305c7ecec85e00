// What the BPMN modeler (modeler.js) and the decision-table editor (dmn_modeler.js) share: the page's data and
// labels, the translate module that gives bpmn-js / dmn-js their labels from gettext, the JSON posts (session
// cookie + X-CSRFToken), the toolbar (save draft, validate with markers, diff, deploy, discard), the results
// lists and the status line. Each editor passes what differs: how to build the library's editor, how to open a
// file, where problems are marked, and what a deploy answer says.
window.BpmEditor = (function () {
  "use strict";
  var data = JSON.parse(document.getElementById("modeler-data").textContent);
  var L = data.labels;
  var csrf = document.getElementById("modeler-csrf").value;
  var results = document.getElementById("modeler-results");
  var statusLine = document.getElementById("modeler-status");

  function fill(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_m, key) { return values[key]; });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function say(text) { statusLine.textContent = text; }

  // bpmn-js and dmn-js look every label up through a "translate" service; this one reads the page's catalogue
  // (data.translations, from gettext) and fills {placeholders} like theirs does.
  var translateModule = { translate: ["value", function (template, replacements) {
    var text = (data.translations || {})[template] || template;
    return text.replace(/{([^}]+)}/g, function (_m, key) {
      var value = (replacements || {})[key];
      return value === undefined ? "{" + key + "}" : value;
    });
  }] };

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

  function removeDraftNote() {
    var draftNote = document.getElementById("draft-note");
    if (draftNote) { draftNote.remove(); }
  }

  var LIVE_DELAY_MS = 1200;

  // Start an editor. config: key ("bpmn" / "dmn": the posted field and the discard answer's field), modeler (the
  // library's editor, with saveXML), open(xml) → Promise, ready (the element that gets data-ready="true"),
  // markers (optional: clear(), add(id, cls, title) → whether the element is on the diagram, focus(id)),
  // deployed(body) → [{text, url, link}] notes for a deploy answer, onEdit(callback) (optional: call it after
  // every edit the designer makes; live validation follows).
  function start(config) {
    var markers = config.markers || { clear: function () {}, add: function () { return false; }, focus: null };

    function list(title, items, cls) {
      var ul = el("ul", { "class": "modeler-list " + cls });
      items.forEach(function (item) {
        var li = el("li", {}, [document.createTextNode(item.text)]);
        if (item.id) { li.setAttribute("data-element", item.id); }
        if (item.id && item.marked && markers.focus) {
          li.classList.add("clickable");
          li.addEventListener("click", function () { markers.focus(item.id); });
        }
        ul.appendChild(li);
      });
      results.appendChild(el("div", {}, [el("h3", { text: title }), ul]));
    }

    function reset() {
      markers.clear();
      results.textContent = "";
    }

    function showProblems(body) {
      reset();
      if (body.ok) { results.appendChild(el("p", { "class": "flash success", text: L.valid })); }
      [["problems", "has-problem"], ["warnings", "has-warning"]].forEach(function (pair) {
        var items = (body[pair[0]] || []).map(function (p) {
          return { id: p.element_id, text: p.text, marked: markers.add(p.element_id, pair[1], p.message) };
        });
        if (items.length) { list(L[pair[0]], items, pair[0]); }
      });
    }

    function describe(change) {
      var name = change.name ? change.name + " " : "";
      var fields = (change.fields || []).map(function (f) { return (data.field_labels || {})[f] || f; });
      var kind = (data.kind_labels || {})[change.kind] || change.kind;
      return name + "(" + change.id + ", " + kind + ")" + (fields.length ? " — " + fields.join(", ") : "");
    }

    function showDiff(body) {
      reset();
      if (!body.added.length && !body.removed.length && !body.changed.length) {
        results.appendChild(el("p", { "class": "flash info", text: L.no_diff }));
        return;
      }
      [["added", L.added], ["changed", L.changed], ["removed", L.removed]].forEach(function (pair) {
        var items = body[pair[0]].map(function (c) {
          return { id: c.id, text: describe(c), marked: pair[0] !== "removed" && markers.add(c.id, "diff-" + pair[0]) };
        });
        if (items.length) { list(pair[1], items, "diff-" + pair[0]); }
      });
    }

    function showDeployed(body) {
      reset();
      if (body.problems) { showProblems({ ok: false, problems: body.problems }); return; }
      var notes = config.deployed(body);
      if (!notes.length) { results.appendChild(el("p", { "class": "flash info", text: L.unchanged })); return; }
      notes.forEach(function (n, i) {
        var attrs = { "class": "flash " + (i === 0 ? "success" : "info") };
        if (i === 0) { attrs.id = "deployed-note"; }
        results.appendChild(el("p", attrs, [document.createTextNode(n.text + " "),
          n.url ? el("a", { href: n.url, text: n.link }) : null]));
      });
      removeDraftNote();
    }

    function withXml(url) {
      return config.modeler.saveXML({ format: true }).then(function (saved) {
        var payload = {};
        payload[config.key] = saved.xml;
        return post(url, payload);
      });
    }

    // Live validation: a moment after the last edit the draft goes through the engine's checks and the markers
    // follow. An answer that an edit or a toolbar action overtook is dropped.
    var liveTimer = null;
    var checkNumber = 0;

    function liveCheck() {
      var mine = ++checkNumber;
      withXml(data.urls.validate).then(function (body) {
        if (mine === checkNumber) { showProblems(body); say(body.ok ? L.live_ok : L.live_problems); }
      }).catch(function () { /* a failed live check says nothing; the toolbar's Validate reports errors */ });
    }

    // Unsaved edits: leaving the page asks first (the browser's own question).
    var dirty = false;
    window.addEventListener("beforeunload", function (event) {
      if (dirty) { event.preventDefault(); event.returnValue = ""; }
    });

    function edited() {
      dirty = true;
      window.clearTimeout(liveTimer);
      checkNumber++;
      liveTimer = window.setTimeout(liveCheck, LIVE_DELAY_MS);
    }

    function settle() {  // a toolbar action supersedes the pending and running live checks
      window.clearTimeout(liveTimer);
      checkNumber++;
    }

    var actions = {
      save: function () {
        return withXml(data.urls.save).then(function (body) {
          dirty = false;
          return fill(L.saved, { time: new Date(body.draft.updated_at).toLocaleTimeString() });
        });
      },
      validate: function () { return withXml(data.urls.validate).then(showProblems); },
      diff: function () { return withXml(data.urls.diff).then(showDiff); },
      deploy: function () {
        if (!window.confirm(L.confirm_deploy)) { return Promise.resolve(); }
        return withXml(data.urls.deploy).then(function (body) {
          if (!body.problems) { dirty = false; }
          showDeployed(body);
        });
      },
      discard: function () {
        if (!window.confirm(L.confirm_discard)) { return Promise.resolve(); }
        return post(data.urls.discard).then(function (body) {
          return config.open(body[config.key]).then(function () {
            dirty = false;
            reset();
            removeDraftNote();
            return L.discarded;
          });
        });
      }
    };

    document.querySelectorAll("[data-action]").forEach(function (button) {
      button.addEventListener("click", function () {
        settle();
        say(L.working);
        actions[button.getAttribute("data-action")]().then(function (message) { say(message || ""); })
          .catch(function (error) { say(fill(L.failed, { error: error.message })); });
      });
    });

    if (config.onEdit) { config.onEdit(edited); }
    return config.open(data[config.key]).then(function () {
      config.ready.setAttribute("data-ready", "true");
    }).catch(function (error) { say(fill(L.failed, { error: error.message })); });
  }

  return { data: data, labels: L, fill: fill, el: el, say: say, translateModule: translateModule, start: start };
}());
