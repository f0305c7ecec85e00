/* Pan and zoom a server-drawn BPMN diagram (.diagram > svg.bpmn-diagram) by changing its viewBox.
   Without this script the SVG shows the whole drawing (its viewBox); with it the diagram opens at a readable size,
   centred on the current step(s), and moves with mouse drag, touch, wheel, pinch, the toolbar and the keyboard. */
(function () {
  "use strict";

  var MAX_SCALE = 4;
  var STEP = 1.25;        // one click or key press zooms by this factor
  var KEY_PAN = 80;       // screen pixels an arrow key moves the view
  var PADDING = 60;       // diagram units kept around the current step(s)
  var READABLE = 0.85;    // the opening scale: names still legible, some of the way there in sight

  function setUp(box) {
    var svg = box.querySelector("svg.bpmn-diagram");
    if (!svg || !svg.viewBox || !svg.viewBox.baseVal) return;
    var base = svg.viewBox.baseVal;
    var full = { x: base.x, y: base.y, w: base.width, h: base.height };
    var frame = box.closest(".diagram-frame");
    var tools = frame ? frame.querySelector(".diagram-tools") : null;
    var view = { cx: full.x + full.w / 2, cy: full.y + full.h / 2, scale: 1 };
    var pointers = {};
    var pinch = null;

    function setHeight() {
      // As tall as the drawing at full width, within 440 px and 72 % of the window.
      var natural = (box.clientWidth || 600) * full.h / full.w;
      box.style.height = Math.round(Math.min(window.innerHeight * 0.72, Math.max(440, natural))) + "px";
    }

    setHeight();
    box.classList.add("is-interactive");
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");

    function size() {
      return { w: box.clientWidth || 1, h: box.clientHeight || 1 };
    }

    function fitScale() {
      var s = size();
      return Math.min(s.w / full.w, s.h / full.h);
    }

    function minScale() {
      return Math.min(fitScale() * 0.8, 0.5);
    }

    function clamp() {
      var s = size();
      view.scale = Math.max(minScale(), Math.min(MAX_SCALE, view.scale));
      var halfW = s.w / 2 / view.scale, halfH = s.h / 2 / view.scale;
      // Keep some of the drawing in sight: the view's centre stays over the drawing, or centred when it is smaller.
      view.cx = halfW * 2 >= full.w ? full.x + full.w / 2 : Math.max(full.x + halfW, Math.min(full.x + full.w - halfW, view.cx));
      view.cy = halfH * 2 >= full.h ? full.y + full.h / 2 : Math.max(full.y + halfH, Math.min(full.y + full.h - halfH, view.cy));
    }

    function draw() {
      clamp();
      var s = size();
      var w = s.w / view.scale, h = s.h / view.scale;
      svg.setAttribute("viewBox", [view.cx - w / 2, view.cy - h / 2, w, h].map(function (n) {
        return Math.round(n * 100) / 100;
      }).join(" "));
      box.setAttribute("data-scale", view.scale.toFixed(3));
    }

    function fit() {
      view.scale = fitScale();
      view.cx = full.x + full.w / 2;
      view.cy = full.y + full.h / 2;
      draw();
    }

    function currentBox() {
      var marked = svg.querySelectorAll(".is-current");
      if (!marked.length) marked = svg.querySelectorAll(".is-active, .is-waiting");
      var box = null;
      Array.prototype.forEach.call(marked, function (el) {
        var b;
        try { b = el.getBBox(); } catch (e) { return; }
        if (!b || (!b.width && !b.height)) return;
        if (!box) { box = { x1: b.x, y1: b.y, x2: b.x + b.width, y2: b.y + b.height }; return; }
        box.x1 = Math.min(box.x1, b.x); box.y1 = Math.min(box.y1, b.y);
        box.x2 = Math.max(box.x2, b.x + b.width); box.y2 = Math.max(box.y2, b.y + b.height);
      });
      return box;
    }

    function showCurrent() {
      var b = currentBox();
      if (!b) { fit(); return; }
      var s = size();
      var needed = Math.min(s.w / (b.x2 - b.x1 + 2 * PADDING), s.h / (b.y2 - b.y1 + 2 * PADDING));
      // Readable when the steps fit; smaller when they are far apart; never smaller than the whole drawing.
      view.scale = Math.max(fitScale(), Math.min(READABLE, needed));
      view.cx = (b.x1 + b.x2) / 2;
      view.cy = (b.y1 + b.y2) / 2;
      draw();
    }

    function zoomAt(factor, px, py) {
      var s = size();
      if (px === undefined) { px = s.w / 2; py = s.h / 2; }
      var dx = (px - s.w / 2) / view.scale, dy = (py - s.h / 2) / view.scale;
      var before = view.scale;
      view.scale = Math.max(minScale(), Math.min(MAX_SCALE, view.scale * factor));
      // The diagram point under (px, py) stays under it.
      view.cx += dx - dx * before / view.scale;
      view.cy += dy - dy * before / view.scale;
      draw();
    }

    function panBy(dxPx, dyPx) {
      view.cx -= dxPx / view.scale;
      view.cy -= dyPx / view.scale;
      draw();
    }

    function local(event) {
      var r = box.getBoundingClientRect();
      return { x: event.clientX - r.left, y: event.clientY - r.top };
    }

    box.addEventListener("wheel", function (event) {
      event.preventDefault();
      var p = local(event);
      var lines = event.deltaMode === 1 ? 16 : 1;
      if (!event.ctrlKey && Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
        panBy(-event.deltaX * lines, 0);  // a touchpad's sideways swipe moves the view
        return;
      }
      zoomAt(Math.exp(-event.deltaY * lines * 0.0015), p.x, p.y);
    }, { passive: false });

    box.addEventListener("pointerdown", function (event) {
      if (event.button !== undefined && event.button !== 0) return;
      pointers[event.pointerId] = local(event);
      try { box.setPointerCapture(event.pointerId); } catch (e) { /* the pointer is gone already */ }
      box.classList.add("is-dragging");
      pinch = null;
    });

    box.addEventListener("pointermove", function (event) {
      var last = pointers[event.pointerId];
      if (!last) return;
      var p = local(event);
      var ids = Object.keys(pointers);
      if (ids.length === 1) {
        panBy(p.x - last.x, p.y - last.y);
      } else if (ids.length === 2) {
        pointers[event.pointerId] = p;
        var a = pointers[ids[0]], b = pointers[ids[1]];
        var dist = Math.hypot(a.x - b.x, a.y - b.y) || 1;
        var mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
        if (pinch) {
          panBy(mid.x - pinch.mid.x, mid.y - pinch.mid.y);
          zoomAt(dist / pinch.dist, mid.x, mid.y);
        }
        pinch = { dist: dist, mid: mid };
      }
      pointers[event.pointerId] = p;
    });

    function release(event) {
      delete pointers[event.pointerId];
      pinch = null;
      if (!Object.keys(pointers).length) box.classList.remove("is-dragging");
    }
    box.addEventListener("pointerup", release);
    box.addEventListener("pointercancel", release);

    box.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      var handled = true;
      switch (event.key) {
        case "+": case "=": zoomAt(STEP); break;
        case "-": case "_": zoomAt(1 / STEP); break;
        case "0": fit(); break;
        case "ArrowLeft": panBy(KEY_PAN, 0); break;
        case "ArrowRight": panBy(-KEY_PAN, 0); break;
        case "ArrowUp": panBy(0, KEY_PAN); break;
        case "ArrowDown": panBy(0, -KEY_PAN); break;
        default: handled = false;
      }
      if (handled) event.preventDefault();
    });

    if (tools) {
      tools.hidden = false;
      var toCurrent = tools.querySelector('[data-diagram="current"]');
      if (toCurrent && !currentBox()) toCurrent.hidden = true;  // a finished instance, or a definition's drawing
      tools.addEventListener("click", function (event) {
        var button = event.target.closest("[data-diagram]");
        if (!button) return;
        var action = button.getAttribute("data-diagram");
        if (action === "in") zoomAt(STEP);
        else if (action === "out") zoomAt(1 / STEP);
        else if (action === "fit") fit();
        else if (action === "current") showCurrent();
      });
    }

    var width = box.clientWidth;
    window.addEventListener("resize", function () {
      if (box.clientWidth !== width) { width = box.clientWidth; setHeight(); draw(); }
    });
    showCurrent();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".diagram"), setUp);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
