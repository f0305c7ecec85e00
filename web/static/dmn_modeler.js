// The decision-table editor: dmn-js on a deployed DMN file; draft, validate and deploy through editor.js.
(function () {
  "use strict";
  var E = window.BpmEditor;
  var L = E.labels;
  // dmn-js is several editors (the DRD, decision tables, literal and boxed expressions), each built with its own
  // modules: its Manager passes `common` to each but replaces common.additionalModules with the view's own, so
  // the translate module goes to every view by name. Typing is applied at once (debounceInput: false), not 300 ms
  // later, so a save, validate, diff or deploy clicked right after typing carries the last keystroke.
  var perView = {};
  ["drd", "decisionTable", "literalExpression", "boxedExpression"].forEach(function (view) {
    perView[view] = { additionalModules: [E.translateModule], debounceInput: false };
  });
  var modeler = new window.DmnJS(Object.assign({ container: "#dmn-canvas" }, perView));
  var canvas = document.getElementById("dmn-canvas");

  function open(xml) {
    return modeler.importXML(xml).then(function () {
      var table = modeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
      return table ? modeler.open(table) : null;
    });
  }

  // Problems name a rule's cell (an input or output entry) or a rule: the open table's registry knows which row
  // and column that is, and table-js draws every cell with data-row-id / data-col-id.
  function cellsOf(id) {
    var viewer = modeler.getActiveViewer();
    var registry = viewer && viewer.get("elementRegistry", false);
    var element = id && registry ? registry.get(id) : null;
    if (!element) { return []; }
    var selector;
    if (element.row && element.col) {  // a cell
      selector = '[data-row-id="' + window.CSS.escape(element.row.id) + '"][data-col-id="' + window.CSS.escape(element.col.id) + '"]';
    } else {  // a rule (row) or a column
      selector = '[data-row-id="' + window.CSS.escape(id) + '"], [data-col-id="' + window.CSS.escape(id) + '"]';
    }
    return Array.prototype.slice.call(canvas.querySelectorAll(selector));
  }

  var markers = {
    clear: function () {
      canvas.querySelectorAll(".has-problem, .has-warning, .diff-added, .diff-changed").forEach(function (node) {
        node.classList.remove("has-problem", "has-warning", "diff-added", "diff-changed");
      });
    },
    add: function (id, cls, title) {
      var cells = cellsOf(id);
      cells.forEach(function (cell) {
        cell.classList.add(cls);
        if (title) { cell.setAttribute("title", title); }
      });
      return cells.length > 0;
    },
    focus: function (id) {
      var cell = cellsOf(id)[0];
      if (cell) { cell.scrollIntoView({ block: "center" }); cell.focus(); }
    }
  };

  E.start({
    key: "dmn", modeler: modeler, open: open, ready: canvas, markers: markers,
    onEdit: function (callback) {  // each dmn-js view has its own event bus; listen on every one as it is made
      modeler.on("viewer.created", function (event) {
        event.viewer.get("eventBus").on("commandStack.changed", function (change) {
          if (change.trigger !== "clear") { callback(); }  // an import clears the stack; it is no edit
        });
      });
    },
    deployed: function (body) {
      var notes = [{ text: E.fill(L.deployed, { name: E.data.name, version: body.file_version }) }];
      return notes.concat(body.deployed.map(function (d) {
        return { text: E.fill(L.deployed, { name: d.name, version: d.version }), url: d.url, link: d.name };
      }));
    }
  });
}());
