// The static explorer's only script (utils/explorer/core.py inlines it once per explorer, after
// the explorer's controls, its default state and its JSON payload).
//
// The payload (script.sa-data) is inline, or, in the built book, in a script file of its own
// (book/_ext/book_pages.py moves it there: data-src, data-key), which sets
// window.saStates[key]. Either way it is read only when needed: when the explorer comes within
// two screens of being seen, or when a control is touched, so that a page with many explorers
// paints its text first. root.saReady() loads it and returns a promise (for the tests).
//
// The payload holds, for every distinct state that Python rendered:
//   states[i]  the state's HTML (utils.explorer.panels.render), swapped into the page;
//   paint[i]   for each heatmap table in that state, in order, what its cells show:
//              bg    one string, 6 hex digits per cell (the background, "------" if masked),
//              ink   one string, one digit per cell: the index of its text colour in inks,
//              text  the cells' texts, exactly as in the HTML.
// and shape (positions per control), labels, index (state of each combination of positions,
// row-major), inks (the text colours, utils.style.INKS).
//
// Moving a control looks up the state for the controls' positions and shows it: the page's
// nodes are patched where they differ, except the heatmap tables' cells, which a canvas laid
// over each table repaints at once from paint[i] (restyling and laying out 64 annotated table
// cells costs a browser several times more). The table's own cells catch up when the browser
// is idle. Colours the canvas copies from the table's CSS (cell borders, masked stripes) are
// read from the CSS custom properties in utils/explorer/static/explorer.css. Without JavaScript the
// default state's table is all there is.
(function () {
  "use strict";
  var root = document.currentScript.parentNode;
  var source = root.querySelector("script.sa-data");
  var view = root.querySelector(".sa-view");
  var inputs = Array.prototype.slice.call(root.querySelectorAll("[data-control]"));
  var data = null, shown = null, parsed = {}, painters = null, pending = false;
  var look = null, period = 0;
  var idle = window.requestIdleCallback || function (f) { return setTimeout(f, 50); };
  var map = function (list, f) { return Array.prototype.map.call(list, f); };
  function position(el) { return el.type === "checkbox" ? (el.checked ? 1 : 0) : +el.value; }

  // The payload, once: ready() is a promise of it.
  var loaded = null;
  function ready() {
    if (loaded) { return loaded; }
    loaded = new Promise(function (resolve, reject) {
      if (!source.getAttribute("data-src")) { resolve(JSON.parse(source.textContent)); return; }
      var key = source.getAttribute("data-key"), file = document.createElement("script");
      file.src = source.getAttribute("data-src");
      file.onload = function () {
        var found = window.saStates && window.saStates[key];
        if (found) { resolve(found); } else { reject(new Error(file.src + " did not define state " + key)); }
      };
      file.onerror = function () { reject(new Error("could not load the explorer's states: " + file.src)); };
      document.head.appendChild(file);
    }).then(function (payload) {
      data = payload;
      shown = data.index[+view.dataset.key];
      // The table's look that the canvas copies, from explorer.css's custom properties.
      var style = getComputedStyle(root);
      var get = function (name) { return style.getPropertyValue(name).trim(); };
      look = {border: get("--sa-cell-border"), stripes: [get("--sa-stripe-0"), get("--sa-stripe-1")],
        stripeWidth: parseFloat(get("--sa-stripe-width")) || 3, maskText: get("--sa-mask-text")};
      period = 2 * look.stripeWidth * Math.SQRT2;  // along a row, in px
      idle(warm);
    }, function (error) {
      var note = document.createElement("p");
      note.className = "sa-note";
      note.setAttribute("role", "alert");
      note.textContent = error.message;
      root.appendChild(note);
      throw error;
    });
    return loaded;
  }
  root.saReady = ready;

  // A state's HTML, parsed once.
  function element(i) {
    if (!parsed[i]) {
      var t = document.createElement("template");
      t.innerHTML = data.states[i];
      parsed[i] = t.content.firstElementChild;
    }
    return parsed[i];
  }

  // Make the page's nodes equal to a state's, touching only what differs. With skipCells the
  // heatmap tables' cells are left alone (their canvas shows them); inside such a table it is 2.
  // False if a part had to be replaced.
  function patch(old, now, skipCells) {
    if (old.nodeType !== now.nodeType || old.nodeName !== now.nodeName ||
        old.childNodes.length !== now.childNodes.length) {
      old.replaceWith(now.cloneNode(true));
      return false;
    }
    if (old.nodeType === 3) {
      if (old.nodeValue !== now.nodeValue) { old.nodeValue = now.nodeValue; }
      return true;
    }
    if (skipCells === 2 && old.nodeName === "TD") { return true; }
    var i, a, intact = true;
    var inner = skipCells && (skipCells === 2 || old.classList.contains("sa-table")) ? 2 : skipCells;
    for (i = old.attributes.length - 1; i >= 0; i--) {
      if (!now.hasAttribute(old.attributes[i].name)) { old.removeAttribute(old.attributes[i].name); }
    }
    for (i = 0; i < now.attributes.length; i++) {
      a = now.attributes[i];
      if (old.getAttribute(a.name) !== a.value) { old.setAttribute(a.name, a.value); }
    }
    var o = old.firstChild, n = now.firstChild, next;
    while (o) { next = o.nextSibling; intact = patch(o, n, inner) && intact; o = next; n = n.nextSibling; }
    return intact;
  }

  // The grey stripes of a masked cell, as the table draws them (.sa-masked in the CSS: a
  // repeating-linear-gradient at 45°, stripeWidth px of each colour, restarting in every cell).
  var hatchPattern = null;
  function hatch(ctx, r) {
    if (!hatchPattern) {
      var tile = document.createElement("canvas"), t = tile.getContext("2d");
      tile.width = tile.height = 8;  // one period of 45° stripes, scaled to period below
      t.fillStyle = look.stripes[1];
      t.fillRect(0, 0, 8, 8);
      t.strokeStyle = look.stripes[0];
      t.lineWidth = 4 / Math.SQRT2;  // half of the period
      [-8, 0, 8].forEach(function (c) { t.beginPath(); t.moveTo(c, 0); t.lineTo(c + 8, 8); t.stroke(); });
      hatchPattern = ctx.createPattern(tile, "repeat");
    }
    if (hatchPattern.setTransform && window.DOMMatrix) {  // put the stripes' phase where CSS has it
      var k = period / 8;
      hatchPattern.setTransform(new DOMMatrix([k, 0, 0, k, r[0] + period / 4 - r[3], r[1]]));
    }
    return hatchPattern;
  }

  // A canvas laid exactly over one heatmap table's cells.
  function Painter(table) {
    this.table = table;
    this.tds = table.getElementsByTagName("td");
    this.canvas = document.createElement("canvas");
    this.canvas.className = "sa-paint";
    this.canvas.setAttribute("aria-hidden", "true");
    view.appendChild(this.canvas);
    this.ctx = this.canvas.getContext("2d");
  }
  Painter.prototype.measure = function () {
    // Cell rectangles in whole CSS pixels, relative to the canvas, so that lines stay sharp.
    var origin = view.getBoundingClientRect(), rects = map(this.tds, function (td) {
      var r = td.getBoundingClientRect();
      return [Math.round(r.left - origin.left), Math.round(r.top - origin.top),
        Math.round(r.right - origin.left), Math.round(r.bottom - origin.top)];
    });
    var x0 = Math.min.apply(null, rects.map(function (r) { return r[0]; }));
    var y0 = Math.min.apply(null, rects.map(function (r) { return r[1]; }));
    var x1 = Math.max.apply(null, rects.map(function (r) { return r[2]; }));
    var y1 = Math.max.apply(null, rects.map(function (r) { return r[3]; }));
    var dpr = window.devicePixelRatio || 1, c = this.canvas;
    if (!rects.length || x1 <= x0) { c.style.display = "none"; this.rects = []; return; }
    this.rects = rects.map(function (r) { return [r[0] - x0, r[1] - y0, r[2] - r[0], r[3] - r[1]]; });
    this.size = [x1 - x0, y1 - y0];
    c.style.cssText = "display:block;left:" + x0 + "px;top:" + y0 + "px;width:" + (x1 - x0) +
      "px;height:" + (y1 - y0) + "px";
    c.width = Math.round((x1 - x0) * dpr);
    c.height = Math.round((y1 - y0) * dpr);
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    var style = getComputedStyle(this.tds[0]);
    this.font = style.font || style.fontWeight + " " + style.fontSize + " " + style.fontFamily;
  };
  // Paint one table's cells from the state's arrays (see the payload above).
  Painter.prototype.paint = function (cells) {
    var ctx = this.ctx, rects = this.rects, w = this.size && this.size[0], h = this.size && this.size[1];
    var k, r, bg;
    ctx.font = this.font;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (k = 0; k < rects.length; k++) {
      r = rects[k];
      bg = cells.bg.substr(6 * k, 6);
      var masked = bg === "------";
      ctx.fillStyle = masked ? hatch(ctx, r) : "#" + bg;
      ctx.fillRect(r[0], r[1], r[2], r[3]);
      ctx.fillStyle = look.border;  // the table's cell borders (.sa-table td)
      ctx.fillRect(r[0], r[1], r[2], 1);
      ctx.fillRect(r[0], r[1], 1, r[3]);
      if (r[0] + r[2] >= w) { ctx.fillRect(r[0] + r[2] - 1, r[1], 1, r[3]); }
      if (r[1] + r[3] >= h) { ctx.fillRect(r[0], r[1] + r[3] - 1, r[2], 1); }
      ctx.fillStyle = masked ? look.maskText : data.inks[+cells.ink.charAt(k)];
      ctx.fillText(cells.text[k], r[0] + r[2] / 2, r[1] + r[3] / 2 + 0.5);
    }
    this.canvas.saTexts = cells.text;  // what was painted, for the tests
  };

  // Measure again and repaint when the page's layout or zoom changes the tables' cells.
  var watch = window.ResizeObserver && new ResizeObserver(function () { if (painters) { repaint(); } });
  window.addEventListener("resize", function () { if (painters) { repaint(); } });
  function startPainting() {
    var tables = view.firstElementChild.querySelectorAll("table.sa-table");
    painters = map(tables, function (table) { return new Painter(table); });
    repaint();
    if (watch) {
      watch.disconnect();
      watch.observe(view);
      painters.forEach(function (p) { watch.observe(p.table); });
    }
  }
  function stopPainting() {
    (painters || []).forEach(function (p) { p.canvas.remove(); });
    painters = null;
  }
  function repaint() {
    var cells = data.paint[shown];
    painters.forEach(function (p, k) { p.measure(); p.paint(cells[k]); });
  }
  // Bring the page's nodes (the table cells too) up to the state on show.
  function sync() {
    pending = false;
    if (!patch(view.firstElementChild, element(shown), false)) { stopPainting(); }
    if (painters) { repaint(); } else { startPainting(); }
    view.dataset.synced = view.dataset.key;
  }
  root.saSync = function () { if (data) { sync(); } };  // for the tests and the benchmark (after saReady)

  function show(i) {
    var cells = data.paint[i], fits = painters && painters.length === cells.length &&
      painters.every(function (p, k) { return p.tds.length === cells[k].text.length; });
    if (fits && patch(view.firstElementChild, element(i), true)) {
      painters.forEach(function (p, k) { p.paint(cells[k]); });
    } else {  // another shape of picture: take the state's nodes now, paint again later
      stopPainting();
      patch(view.firstElementChild, element(i), false);
    }
    if (!pending) { pending = true; idle(sync, {timeout: 250}); }
  }

  // While the reader reads: parse every state and lay the canvases over the tables, so that a
  // first move is as quick as a later one.
  var next = 0;
  function warm(deadline) {
    if (!painters && !pending) { sync(); }
    var timed = deadline && deadline.timeRemaining;
    while (next < data.states.length && (!timed || deadline.timeRemaining() > 2)) { element(next++); }
    if (next < data.states.length) { idle(warm); }
  }
  function update() {
    if (!data) { ready().then(update); return; }
    var key = 0;
    inputs.forEach(function (el, i) {
      key = key * data.shape[i] + position(el);
      var out = el.parentNode.querySelector("output");
      if (out) { out.textContent = data.labels[i][position(el)]; }
    });
    view.dataset.key = key;
    if (data.index[key] !== shown) {
      shown = data.index[key];
      show(shown);
    } else if (!pending) {
      view.dataset.synced = key;
    }
  }
  inputs.forEach(function (el) {
    el.addEventListener("input", update);
    el.addEventListener("change", update);
  });
  ["focusin", "pointerdown"].forEach(function (type) { root.addEventListener(type, function () { ready(); }); });
  if (window.IntersectionObserver) {
    var near = new IntersectionObserver(function (entries) {
      if (entries.some(function (e) { return e.isIntersecting; })) { near.disconnect(); ready(); }
    }, {rootMargin: "200% 0px"});
    near.observe(root);
  } else {
    idle(function () { ready(); });
  }
})();
