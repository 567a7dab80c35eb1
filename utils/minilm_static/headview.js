/* Seeing Attention: a head view and a head overview of a model's attention, drawn from given
   numbers (no build step, no dependencies, ES2020). Loaded as a plain <script> it defines
   window.SAHeadView; under Node, module.exports is the same object.

   Data (what the caller hands over; chapter 15's MiniLM has layers = 6, heads = 12):
     data = {tokens:  [n strings],
             weights: Float32Array or number[] of length layers * heads * n * n, row-major:
                      weights[((l * heads + h) * n + i) * n + j] is the weight that query i puts
                      on key j in layer l, head h; each row (fixed l, h, i) sums to 1,
             layers:  L, heads: H}

   API:
     const view = SAHeadView.render(container, data, options);
       options = {layer: 0, head: 0,          // 0-based: the head shown first
                  labels: {...}}              // every string the reader sees (DEFAULT_LABELS)
     view.update(data)        new sentence (same container; keeps the layer and head if they exist)
     view.select(layer, head) show another head (0-based), as the selects and the overview do
     view.svgText()           the head view as a standalone SVG document (a string)
     view.pngBlob()           Promise of the head view as a PNG Blob at twice its CSS size
     view.destroy()           remove everything render() made
   SAHeadView.validate(data) throws the Error render() would throw for bad data and otherwise
   returns {tokens, weights: Float32Array, layers, heads, n}.

   What is drawn:
   - the head view, an <svg>: queries on the left, keys on the right (as in bertviz's head view),
     one line from query i to key j whose stroke-opacity is the weight itself (lines for weights
     below THRESHOLD = 0.01 are left out, and the <desc> says how many; a head with more than
     MAX_LINES = 1000 such lines, which only long sentences have, draws those above a higher round
     threshold, and says so on screen too). Hovering or focusing a word shows only its lines
     (all of them from 0.01); click, Enter or Space keeps them (aria-pressed); Escape shows all again.
     Arrow keys move between the words (up/down in a column, left/right across).
   - the overview: one <button> per head holding an n x n <canvas> of that head's map, on a
     perceptual sequential ramp (matplotlib's viridis, as in the book's figures: dark = 0,
     bright = 1; linear in the weight); above 40 words each pixel shows the largest weight of a block of cells. Arrow keys move between the buttons (one tab stop); Enter, Space or a click selects.
   - two buttons that download the head view as PNG and SVG (minilm-layer3-head7.svg: 1-based,
     as the book numbers layers and heads). Label functions receive 1-based numbers too.
   The look (and the light and dark colours) is headview.css, classes prefixed sa-hv-. */
(function (root, factory) {
  "use strict";
  const api = factory();
  if (typeof module === "object" && module && module.exports) module.exports = api;
  if (root) root.SAHeadView = api;
})(typeof window !== "undefined" ? window : null, function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const THRESHOLD = 0.01;   // lines for weights below this are not drawn
  const ROW = 24;           // px per word: every word is a 24 x 24 px (or larger) target
  const TOP = 26;           // px above the first word: the column titles
  const FONT_PX = 13;
  const MAX_CHARS = 18;     // longer words are shortened on screen (their accessible name is whole)
  const THUMB_CELLS = 40;  // an overview map has at most 40 x 40 pixels (block maxima beyond)
  const MAX_LINES = 1000;   // at most this many lines for a whole head (a word's own lines: all)

  // matplotlib's viridis, as in the book's figures and explorers (dark = 0, bright = 1): 17 stops
  // from weight 0 to weight 1, interpolated to 256 colours
  const RAMP = ["#440154", "#48186a", "#472d7b", "#424086", "#3b528b", "#33638d", "#2c728e", "#26828e",
    "#21918c", "#1fa088", "#28ae80", "#3fbc73", "#5ec962", "#84d44b", "#addc30", "#d8e219", "#fde725"];

  const DEFAULT_LABELS = {
    layer: "Layer",
    head: "Head",
    queries: "queries",
    keys: "keys",
    overview: "All heads: click one to see it above",
    overviewAria: "All heads, one map each (rows: layers, columns: heads)",
    rowLabel: (layer) => "L" + layer,
    colLabel: (head) => "H" + head,
    export: "Download the head view:",
    exportPng: "PNG",
    exportSvg: "SVG",
    hint: "Point at, tap or focus a word to see where it looks (left) or what looks at it (right); " +
      "click it or press Enter to keep its lines.",
    headViewCaption: (layer, head) => "Layer " + layer + ", head " + head +
      ": each line joins a word (left) to a word it attends to (right); the more weight, the stronger the line.",
    thumbAria: (layer, head) => "Layer " + layer + ", head " + head,
    tokenAria: (token, i, side) => token + " (word " + i + ", " + (side === "query" ? "query" : "key") + ")",
    skipped: (threshold, left, total, wordThreshold) => "Weights below " + threshold + " get no line (" +
      left + " of the " + total + " pairs of words)" + (threshold > wordThreshold
      ? "; a word you point at, tap or focus shows all its lines from " + wordThreshold + "." : "."),
    // top: the 3 largest weights of the word's row (query) or column (key), each {token, weight,
    // index (1-based), repeated (the word occurs more than once in the sentence)}
    readout: (token, side, top) => (side === "query" ? "\u201c" + token + "\u201d looks most at: "
      : "\u201c" + token + "\u201d is looked at most by: ") +
      top.map((t) => t.token + (t.repeated ? " (" + t.index + ")" : "") + " " + t.weight.toFixed(2)).join(", "),
  };

  // ---- data -----------------------------------------------------------------------------------

  function validate(data) {
    if (!data || typeof data !== "object") {
      throw new Error("SAHeadView: data must be an object {tokens, weights, layers, heads}");
    }
    const tokens = data.tokens, layers = data.layers, heads = data.heads, w = data.weights;
    if (!Array.isArray(tokens)) throw new Error("SAHeadView: data.tokens must be an array of strings");
    const n = tokens.length;
    if (n === 0) throw new Error("SAHeadView: data.tokens is empty (n = 0): there is nothing to draw");
    for (const [name, v] of [["layers", layers], ["heads", heads]]) {
      if (!Number.isInteger(v) || v < 1) {
        throw new Error("SAHeadView: data." + name + " must be a positive integer, got " + v);
      }
    }
    if (!w || typeof w.length !== "number") {
      throw new Error("SAHeadView: data.weights must be a Float32Array or an array of numbers");
    }
    const expected = layers * heads * n * n;
    if (w.length !== expected) {
      throw new Error("SAHeadView: data.weights has " + w.length + " numbers; expected layers x heads x n x n = " +
        layers + " x " + heads + " x " + n + " x " + n + " = " + expected);
    }
    const weights = w instanceof Float32Array ? w : Float32Array.from(w, Number);
    for (let k = 0; k < expected; k++) {
      const v = weights[k];
      if (!Number.isFinite(v) || (typeof w[k] !== "number" && !(w instanceof Float32Array))) {
        const j = k % n, i = Math.floor(k / n) % n, h = Math.floor(k / (n * n)) % heads;
        const l = Math.floor(k / (n * n * heads));
        throw new Error("SAHeadView: data.weights[" + k + "] is " + w[k] + " (layer " + (l + 1) + ", head " +
          (h + 1) + ", query " + i + ", key " + j + "): every weight must be a finite number");
      }
    }
    for (let r = 0; r < layers * heads * n; r++) {
      let sum = 0, low = Infinity;
      for (let j = 0; j < n; j++) { sum += weights[r * n + j]; low = Math.min(low, weights[r * n + j]); }
      if (Math.abs(sum - 1) > 1e-3 || low < -1e-6) {
        const i = r % n, h = Math.floor(r / n) % heads, l = Math.floor(r / (n * heads));
        throw new Error("SAHeadView: the weights of layer " + (l + 1) + ", head " + (h + 1) + ", query " + i +
          " sum to " + sum + " (smallest " + low + "): each row must be >= 0 and sum to 1");
      }
    }
    return {tokens: tokens.map(String), weights, layers, heads, n};
  }

  // 256 colours of the ramp as [r, g, b, r, g, b, ...]
  const LUT = (function () {
    const stops = RAMP.map((hex) => [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16)));
    const lut = new Uint8ClampedArray(256 * 3);
    for (let k = 0; k < 256; k++) {
      const x = k / 255 * (stops.length - 1), a = Math.min(Math.floor(x), stops.length - 2), t = x - a;
      for (let c = 0; c < 3; c++) lut[3 * k + c] = Math.round(stops[a][c] * (1 - t) + stops[a + 1][c] * t);
    }
    return lut;
  })();

  // ---- small DOM helpers ---------------------------------------------------------------------

  let counter = 0;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const k in attrs) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svgEl(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const k in attrs) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function label(labels, key, ...args) {
    const v = labels[key];
    return typeof v === "function" ? v(...args) : String(v);
  }

  // x rounded up to two significant digits (0.03412 -> 0.035)
  function roundUp(x) {
    const scale = Math.pow(10, 1 - Math.floor(Math.log10(x)));
    return Math.ceil(x * scale - 1e-9) / scale;
  }

  function shorten(token) {
    return token.length > MAX_CHARS ? token.slice(0, MAX_CHARS - 1) + "\u2026" : token;
  }

  function download(blob, name) {
    const a = el("a", {download: name, href: URL.createObjectURL(blob)});
    a.hidden = true;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 30000);
  }

  // ---- the view ------------------------------------------------------------------------------

  function render(container, data, options) {
    if (!container || !container.appendChild) throw new Error("SAHeadView.render: container must be a DOM element");
    const opts = options || {};
    const labels = Object.assign({}, DEFAULT_LABELS, opts.labels || {});
    let d = validate(data);
    const id = "sa-hv-" + (++counter);
    const state = {layer: 0, head: 0, hover: null, focus: null, pin: null, dismissed: false};

    // -- skeleton: controls, hint, head view, overview
    const root = el("div", {class: "sa-hv"});
    const controls = el("div", {class: "sa-hv-controls"});
    const selects = {};
    for (const key of ["layer", "head"]) {
      const lab = el("label", {class: "sa-hv-control"});
      lab.appendChild(document.createTextNode(label(labels, key) + " "));
      const select = el("select", {name: id + "-" + key, class: "sa-hv-select"});
      select.addEventListener("change", () => {
        const l = Number(selects.layer.value), h = Number(selects.head.value);
        select_(l, h);
      });
      selects[key] = select;
      lab.appendChild(select);
      controls.appendChild(lab);
    }
    const exporter = el("div", {class: "sa-hv-export", role: "group", "aria-labelledby": id + "-export"});
    exporter.appendChild(el("span", {id: id + "-export"}, label(labels, "export")));
    const pngButton = el("button", {type: "button", class: "sa-hv-button"}, label(labels, "exportPng"));
    const svgButton = el("button", {type: "button", class: "sa-hv-button"}, label(labels, "exportSvg"));
    exporter.append(pngButton, svgButton);
    controls.appendChild(exporter);
    const hint = el("p", {class: "sa-hv-hint"}, label(labels, "hint"));
    const body = el("div", {class: "sa-hv-body"});
    const headFigure = el("figure", {class: "sa-hv-headview"});
    const caption = el("figcaption", {id: id + "-caption", class: "sa-hv-caption"});
    const scroller = el("div", {class: "sa-hv-scroll"});
    const readout = el("p", {class: "sa-hv-readout", "aria-live": "polite"});
    const note = el("p", {class: "sa-hv-note"});  // says so when a long sentence's lines are thinned
    headFigure.append(caption, scroller, readout, note);
    const overFigure = el("figure", {class: "sa-hv-overview"});
    const overCaption = el("figcaption", {class: "sa-hv-caption"}, label(labels, "overview"));
    const grid = el("div", {class: "sa-hv-grid", role: "group", "aria-label": label(labels, "overviewAria")});
    overFigure.append(overCaption, grid);
    body.append(headFigure, overFigure);
    root.append(controls, hint, body);
    container.appendChild(root);

    let svg = null, linesG = null, focusG = null, tokenNodes = {query: [], key: []}, thumbs = [];

    // -- the selects and the overview (rebuilt for each data)
    function buildChoices() {
      for (const [key, count] of [["layer", d.layers], ["head", d.heads]]) {
        const select = selects[key];
        select.textContent = "";
        for (let k = 0; k < count; k++) select.appendChild(el("option", {value: String(k)}, String(k + 1)));
      }
      grid.textContent = "";
      grid.style.setProperty("--sa-hv-heads", d.heads);
      grid.appendChild(el("span", {class: "sa-hv-corner", "aria-hidden": "true"}));
      for (let h = 0; h < d.heads; h++) {
        grid.appendChild(el("span", {class: "sa-hv-collabel", "aria-hidden": "true"}, label(labels, "colLabel", h + 1)));
      }
      thumbs = [];
      for (let l = 0; l < d.layers; l++) {
        grid.appendChild(el("span", {class: "sa-hv-rowlabel", "aria-hidden": "true"}, label(labels, "rowLabel", l + 1)));
        for (let h = 0; h < d.heads; h++) {
          const b = el("button", {type: "button", class: "sa-hv-thumb", tabindex: "-1",
            "aria-label": label(labels, "thumbAria", l + 1, h + 1), "aria-pressed": "false",
            "data-layer": String(l), "data-head": String(h)});
          const side = Math.ceil(d.n / pool()), c = el("canvas", {width: side, height: side, "aria-hidden": "true"});
          b.appendChild(c);
          grid.appendChild(b);
          thumbs.push(b);
        }
      }
      paintThumbs();
    }

    // Cells per thumbnail pixel (per side): 1 up to THUMB_CELLS words; beyond, each pixel shows
    // the largest weight of its block, so that a thin diagonal or column stays visible.
    function pool() { return Math.ceil(d.n / THUMB_CELLS); }

    function paintThumbs() {
      const n = d.n, size = n * n, k = pool(), side = Math.ceil(n / k);
      const block = new Float32Array(side * side);
      for (let t = 0; t < thumbs.length; t++) {
        const canvas = thumbs[t].firstChild, ctx = canvas.getContext("2d");
        const image = ctx.createImageData(side, side), px = image.data, base = t * size;
        block.fill(0);
        for (let i = 0; i < n; i++) {
          const row = Math.floor(i / k) * side;
          for (let j = 0; j < n; j++) {
            const b = row + Math.floor(j / k), w = d.weights[base + i * n + j];
            if (w > block[b]) block[b] = w;
          }
        }
        for (let p = 0; p < side * side; p++) {
          const c = 3 * Math.round(Math.min(block[p], 1) * 255);
          px[4 * p] = LUT[c]; px[4 * p + 1] = LUT[c + 1]; px[4 * p + 2] = LUT[c + 2]; px[4 * p + 3] = 255;
        }
        ctx.putImageData(image, 0, 0);
      }
    }

    // -- the head view's words (rebuilt for each data) and lines (redrawn for each head)
    const measure = document.createElement("canvas").getContext("2d");

    function layout() {
      const family = getComputedStyle(root).fontFamily || "sans-serif";
      measure.font = FONT_PX + "px " + family;
      let widest = 0;
      for (const t of d.tokens) widest = Math.max(widest, measure.measureText(shorten(t)).width);
      const colW = Math.ceil(Math.max(widest, measure.measureText(label(labels, "queries")).width,
        measure.measureText(label(labels, "keys")).width) + 14);
      const room = scroller.clientWidth || 600;
      const gap = Math.round(Math.min(Math.max(room - 2 * colW - 2, 72), 260));
      return {colW, gap, width: 2 * colW + gap, height: TOP + d.n * ROW + 4, family};
    }

    function buildHeadView() {
      const g = layout();
      state.geometry = g;
      svg = svgEl("svg", {xmlns: SVG, class: "sa-hv-svg", width: g.width, height: g.height,
        viewBox: "0 0 " + g.width + " " + g.height, role: "group", "aria-labelledby": id + "-caption",
        "aria-describedby": id + "-desc"});
      svg.appendChild(svgEl("title", {}, ""));
      svg.appendChild(svgEl("desc", {id: id + "-desc"}, ""));
      svg.appendChild(svgEl("text", {class: "sa-hv-coltitle", x: g.colW - 6, y: 16, "text-anchor": "end",
        "aria-hidden": "true"}, label(labels, "queries")));
      svg.appendChild(svgEl("text", {class: "sa-hv-coltitle", x: g.colW + g.gap + 6, y: 16,
        "aria-hidden": "true"}, label(labels, "keys")));
      linesG = svgEl("g", {class: "sa-hv-lines", "aria-hidden": "true"});
      focusG = svgEl("g", {class: "sa-hv-lines sa-hv-word-lines", "aria-hidden": "true", display: "none"});
      svg.append(linesG, focusG);
      tokenNodes = {query: [], key: []};
      for (const side of ["query", "key"]) {
        const col = svgEl("g", {class: "sa-hv-col sa-hv-" + side});
        const x = side === "query" ? 0 : g.colW + g.gap;
        d.tokens.forEach((t, i) => {
          const y = TOP + i * ROW;
          const node = svgEl("g", {class: "sa-hv-tok", tabindex: "0", role: "button", "aria-pressed": "false",
            "aria-label": label(labels, "tokenAria", t, i + 1, side), "data-side": side, "data-i": String(i)});
          node.appendChild(svgEl("rect", {class: "sa-hv-hit", x, y, width: g.colW, height: ROW, rx: 3}));
          node.appendChild(svgEl("text", {x: side === "query" ? g.colW - 7 : x + 7, y: y + ROW / 2 + 4.5,
            "text-anchor": side === "query" ? "end" : "start"}, shorten(t)));
          col.appendChild(node);
          tokenNodes[side].push(node);
        });
        svg.appendChild(col);
      }
      scroller.textContent = "";
      scroller.appendChild(svg);
    }

    // One <line> per drawn weight, its stroke-opacity the weight (to 1e-7), query i -> key j.
    function linesHTML(pairs) {
      const g = state.geometry, x1 = g.colW + 2, x2 = g.colW + g.gap - 2, parts = [];
      for (const [i, j, w] of pairs) {
        parts.push('<line x1="' + x1 + '" y1="' + (TOP + i * ROW + ROW / 2) + '" x2="' + x2 + '" y2="' +
          (TOP + j * ROW + ROW / 2) + '" stroke-opacity="' + Math.round(Math.min(w, 1) * 1e7) / 1e7 +
          '" data-i="' + i + '" data-j="' + j + '"/>');
      }
      return parts.join("");
    }

    // The head's lines: every weight >= THRESHOLD, or, when there would be more than MAX_LINES
    // of them (long sentences), the weights >= a higher round threshold that keeps at most
    // MAX_LINES. A hovered or focused word always shows all its lines >= THRESHOLD.
    function drawLines() {
      const n = d.n, base = (state.layer * d.heads + state.head) * n * n;
      let candidates = 0;
      for (let k = 0; k < n * n; k++) if (d.weights[base + k] >= THRESHOLD) candidates++;
      let threshold = THRESHOLD;
      if (candidates > MAX_LINES) {
        const sorted = Float32Array.from(d.weights.subarray(base, base + n * n)).sort().reverse();
        threshold = roundUp(sorted[MAX_LINES]);
      }
      const pairs = [];
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const w = d.weights[base + i * n + j];
          if (w >= threshold) pairs.push([i, j, w]);
        }
      }
      linesG.innerHTML = linesHTML(pairs);
      state.threshold = threshold;
      const text = label(labels, "headViewCaption", state.layer + 1, state.head + 1);
      caption.textContent = text;
      svg.querySelector("title").textContent = text;
      const skipped = label(labels, "skipped", threshold, n * n - pairs.length, n * n, THRESHOLD);
      svg.querySelector("desc").textContent = skipped;
      note.textContent = threshold > THRESHOLD ? skipped : "";
      showActive(true);
    }

    // -- which word's lines are shown: hover, else focus, else the kept (pinned) one, else all
    function active() {
      if (state.dismissed) return null;
      return state.hover || state.focus || state.pin;
    }

    function showActive(redraw) {
      const a = active();
      if (!redraw && (a === state.shown || same(a, state.shown))) return;
      if (state.shown) tokenNodes[state.shown.side][state.shown.i].classList.remove("sa-hv-active");
      state.shown = a;
      if (!a) {
        focusG.setAttribute("display", "none");
        focusG.textContent = "";
        linesG.removeAttribute("display");
        readout.textContent = "";
        return;
      }
      const n = d.n, base = (state.layer * d.heads + state.head) * n * n, pairs = [], ws = [];
      const counts = new Map();
      for (const t of d.tokens) counts.set(t, (counts.get(t) || 0) + 1);
      for (let k = 0; k < n; k++) {
        const i = a.side === "query" ? a.i : k, j = a.side === "query" ? k : a.i, w = d.weights[base + i * n + j];
        if (w >= THRESHOLD) pairs.push([i, j, w]);
        ws.push({token: d.tokens[k], weight: w, index: k + 1, repeated: counts.get(d.tokens[k]) > 1});
      }
      focusG.innerHTML = linesHTML(pairs);
      focusG.removeAttribute("display");
      linesG.setAttribute("display", "none");
      tokenNodes[a.side][a.i].classList.add("sa-hv-active");
      ws.sort((p, q) => q.weight - p.weight);
      readout.textContent = label(labels, "readout", d.tokens[a.i], a.side, ws.slice(0, 3));
    }

    function tokenOf(target) {
      const node = target && target.closest ? target.closest(".sa-hv-tok") : null;
      return node ? {side: node.getAttribute("data-side"), i: +node.getAttribute("data-i"), node} : null;
    }

    function same(a, b) { return !!a && !!b && a.side === b.side && a.i === b.i; }

    function setPin(t) {
      if (state.pin) tokenNodes[state.pin.side][state.pin.i].setAttribute("aria-pressed", "false");
      state.pin = same(state.pin, t) ? null : t;
      if (state.pin) tokenNodes[t.side][t.i].setAttribute("aria-pressed", "true");
    }

    const onOver = (e) => { const t = tokenOf(e.target); if (t && !same(t, state.hover)) { state.hover = t; state.dismissed = false; showActive(); } };
    const onOut = (e) => {
      const t = tokenOf(e.target);
      if (t && !(e.relatedTarget && t.node.contains(e.relatedTarget))) { state.hover = null; showActive(); }
    };
    const onFocusIn = (e) => { const t = tokenOf(e.target); if (t) { state.focus = t; state.dismissed = false; showActive(); } };
    const onFocusOut = (e) => { if (tokenOf(e.target)) { state.focus = null; showActive(); } };
    const onClick = (e) => { const t = tokenOf(e.target); if (t) { setPin(t); state.dismissed = false; showActive(); } };
    const onKey = (e) => {
      const t = tokenOf(e.target);
      if (!t) return;
      let side = t.side, i = t.i;
      switch (e.key) {
      case "ArrowDown": i = Math.min(i + 1, d.n - 1); break;
      case "ArrowUp": i = Math.max(i - 1, 0); break;
      case "ArrowLeft": side = "query"; break;
      case "ArrowRight": side = "key"; break;
      case "Home": i = 0; break;
      case "End": i = d.n - 1; break;
      case "Enter": case " ": setPin(t); state.dismissed = false; showActive(); e.preventDefault(); return;
      case "Escape": setPin(null); state.pin = null; state.dismissed = true; showActive(); return;
      default: return;
      }
      e.preventDefault();
      tokenNodes[side][i].focus();
    };
    scroller.addEventListener("mouseover", onOver);
    scroller.addEventListener("mouseout", onOut);
    scroller.addEventListener("focusin", onFocusIn);
    scroller.addEventListener("focusout", onFocusOut);
    scroller.addEventListener("click", onClick);
    scroller.addEventListener("keydown", onKey);

    // -- the overview's keyboard: one tab stop, arrows move, Enter/Space/click select
    grid.addEventListener("click", (e) => {
      const b = e.target.closest(".sa-hv-thumb");
      if (b) select_(+b.getAttribute("data-layer"), +b.getAttribute("data-head"));
    });
    grid.addEventListener("keydown", (e) => {
      const b = e.target.closest(".sa-hv-thumb");
      if (!b) return;
      let l = +b.getAttribute("data-layer"), h = +b.getAttribute("data-head");
      switch (e.key) {
      case "ArrowRight": h = Math.min(h + 1, d.heads - 1); break;
      case "ArrowLeft": h = Math.max(h - 1, 0); break;
      case "ArrowDown": l = Math.min(l + 1, d.layers - 1); break;
      case "ArrowUp": l = Math.max(l - 1, 0); break;
      case "Home": h = 0; break;
      case "End": h = d.heads - 1; break;
      default: return;
      }
      e.preventDefault();
      const next = thumbs[l * d.heads + h];
      for (const t of thumbs) t.setAttribute("tabindex", t === next ? "0" : "-1");
      next.focus();
    });

    function select_(layer, head) {
      if (!Number.isInteger(layer) || layer < 0 || layer >= d.layers || !Number.isInteger(head) || head < 0 || head >= d.heads) {
        throw new Error("SAHeadView.select: layer must be 0.." + (d.layers - 1) + " and head 0.." + (d.heads - 1) +
          ", got " + layer + ", " + head);
      }
      state.layer = layer; state.head = head;
      selects.layer.value = String(layer);
      selects.head.value = String(head);
      thumbs.forEach((t, k) => {
        const on = k === layer * d.heads + head;
        t.setAttribute("aria-pressed", on ? "true" : "false");
        t.setAttribute("tabindex", on ? "0" : "-1");
        t.classList.toggle("sa-hv-selected", on);
      });
      drawLines();
    }

    // -- export
    function fileName(ext) {
      return "minilm-layer" + (state.layer + 1) + "-head" + (state.head + 1) + "." + ext;
    }

    function svgText() {
      const g = state.geometry, clone = svg.cloneNode(true);
      const cs = getComputedStyle(root);
      const colour = (name) => cs.getPropertyValue(name).trim();
      const sampleLine = linesG.firstElementChild || focusG.firstElementChild;
      clone.removeAttribute("class");
      clone.removeAttribute("role");
      clone.removeAttribute("aria-labelledby");
      clone.removeAttribute("aria-describedby");
      clone.setAttribute("font-family", g.family);
      clone.setAttribute("font-size", String(FONT_PX));
      clone.insertBefore(svgEl("rect", {width: g.width, height: g.height, fill: colour("--sa-hv-bg")}),
        clone.querySelector("title").nextSibling.nextSibling);
      // the picture names its head (the page's caption does not travel with the file)
      clone.insertBefore(svgEl("text", {class: "sa-hv-coltitle", x: g.colW + g.gap / 2, y: 16, "text-anchor": "middle"},
        label(labels, "thumbAria", state.layer + 1, state.head + 1)), clone.querySelector(".sa-hv-lines"));
      clone.querySelector("desc").removeAttribute("id");
      for (const t of clone.querySelectorAll("text")) t.setAttribute("fill", colour("--sa-hv-fg"));
      for (const t of clone.querySelectorAll(".sa-hv-coltitle")) t.setAttribute("fill", colour("--sa-hv-muted"));
      for (const lines of Array.from(clone.querySelectorAll(".sa-hv-lines"))) {
        if (lines.getAttribute("display") === "none") { lines.remove(); continue; }
        lines.setAttribute("stroke", sampleLine ? getComputedStyle(sampleLine).stroke : colour("--sa-hv-line"));
        lines.setAttribute("stroke-width", sampleLine ? getComputedStyle(sampleLine).strokeWidth : "2");
      }
      for (const node of clone.querySelectorAll("[tabindex], [role], [aria-pressed], [aria-label], [aria-hidden]")) {
        for (const a of ["tabindex", "role", "aria-pressed", "aria-label", "aria-hidden"]) node.removeAttribute(a);
      }
      for (const rect of clone.querySelectorAll(".sa-hv-hit")) {
        const on = rect.parentNode.classList.contains("sa-hv-active");
        rect.setAttribute("fill", on ? colour("--sa-hv-active-bg") : "none");
      }
      for (const node of clone.querySelectorAll("[class]")) node.removeAttribute("class");
      for (const node of clone.querySelectorAll("[data-side], [data-i], [data-j]")) {
        for (const a of ["data-side", "data-i", "data-j"]) node.removeAttribute(a);
      }
      return '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(clone);
    }

    function pngBlob() {
      const g = state.geometry, text = svgText();
      return new Promise((resolve, reject) => {
        const url = URL.createObjectURL(new Blob([text], {type: "image/svg+xml"}));
        const img = new Image();
        img.onload = () => {
          const canvas = document.createElement("canvas");
          canvas.width = 2 * g.width;
          canvas.height = 2 * g.height;
          const ctx = canvas.getContext("2d");
          ctx.scale(2, 2);
          ctx.drawImage(img, 0, 0, g.width, g.height);
          URL.revokeObjectURL(url);
          canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("SAHeadView: the PNG could not be made"))),
            "image/png");
        };
        img.onerror = () => { URL.revokeObjectURL(url); reject(new Error("SAHeadView: the SVG could not be drawn")); };
        img.src = url;
      });
    }

    svgButton.addEventListener("click", () => download(new Blob([svgText()], {type: "image/svg+xml"}), fileName("svg")));
    pngButton.addEventListener("click", () => pngBlob().then((blob) => download(blob, fileName("png"))));

    // -- first drawing
    function build(layer, head) {
      state.hover = state.focus = state.pin = state.shown = null;
      state.dismissed = false;
      buildChoices();
      buildHeadView();
      select_(Math.min(layer, d.layers - 1), Math.min(head, d.heads - 1));
    }
    build(opts.layer || 0, opts.head || 0);

    return {
      update(newData) { d = validate(newData); build(state.layer, state.head); },
      select(layer, head) { select_(layer, head); },
      svgText,
      pngBlob,
      destroy() { root.remove(); },
    };
  }

  return {render, validate, DEFAULT_LABELS, RAMP, THRESHOLD};
});
