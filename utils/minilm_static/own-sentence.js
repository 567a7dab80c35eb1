/* Seeing Attention: the reader's own sentence through MiniLM, in the static page.
 *
 * Chapter 15's page holds a form (utils/minilm_web.py writes it):
 *   <div class="sa-own" data-assets="…/_static/minilm/" data-language="en" or "zh_CN">
 *     <form> <input> <button> </form> <p class="sa-own-status"> <div class="sa-own-view">
 *     <script type="application/json" class="sa-own-labels">{the page's words}</script>
 * Nothing heavy loads with the page. At the reader's first keystroke (or the button) this script
 * loads, once, from data-assets (the English edition's _static/minilm/, where
 * utils/minilm_web.write_assets puts every file the panel needs): the tokenizer (wordpiece.js),
 * the views (headview.js, headview-labels.js for the page's language, headview.css),
 * onnxruntime-web, the vocabulary and the exported model (manifest.json names the last three). Then every change of the sentence is split into
 * word pieces, run through the model in WebAssembly on one thread, and drawn by SAHeadView.
 * Bad input (nothing to read, too many word pieces) gets a message in the page's language, and a
 * page opened from file:// (where a browser refuses to fetch files) says how to read it instead.
 * The last result stays on the root element as root.saOwn = {tokens, ids, weights, ms} (the
 * tests compare it with Python's numbers).
 */
(function () {
  "use strict";

  const loaded = new Map(); // url → promise, so each file is fetched once per page

  function once(url, make) {
    if (!loaded.has(url)) loaded.set(url, make());
    return loaded.get(url);
  }

  function script(url) {
    return once(url, () => new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = url;
      s.onload = resolve;
      s.onerror = () => reject(new Error("could not load " + url));
      document.head.appendChild(s);
    }));
  }

  function style(url) {
    return once(url, () => new Promise((resolve, reject) => {
      const l = document.createElement("link");
      l.rel = "stylesheet";
      l.href = url;
      l.onload = resolve;
      l.onerror = () => reject(new Error("could not load " + url));
      document.head.appendChild(l);
    }));
  }

  async function fetchOk(url) {
    const r = await fetch(url);
    if (!r.ok) throw new Error(url + ": HTTP " + r.status);
    return r;
  }

  // the model's bytes, reporting progress as they arrive
  async function fetchBytes(url, total, progress) {
    const r = await fetchOk(url);
    if (!r.body || !r.body.getReader) return new Uint8Array(await r.arrayBuffer());
    const reader = r.body.getReader();
    const parts = [];
    let got = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      got += value.length;
      progress(got, total);
    }
    const out = new Uint8Array(got);
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
  }

  function megabytes(bytes) {
    return (bytes / 1e6).toFixed(0);
  }

  function init(root) {
    const labels = JSON.parse(root.querySelector("script.sa-own-labels").textContent);
    const form = root.querySelector("form");
    const input = root.querySelector("input");
    const status = root.querySelector(".sa-own-status");
    const viewBox = root.querySelector(".sa-own-view");
    const assets = new URL(root.dataset.assets, document.baseURI).href;
    let engine = null; // promise of {tokenizer, session, manifest}
    let view = null;

    function say(text, kind) {
      status.textContent = text;
      root.dataset.state = kind;
    }

    form.hidden = false;
    root.querySelector(".sa-own-nojs").hidden = true;
    if (location.protocol === "file:") say(labels.needsServer, "error");
    else { // the manifest (a few hundred bytes) gives the model's size for the first message
      fetchOk(assets + "manifest.json").then((r) => r.json()).then((m) => {
        if (root.dataset.state === undefined) say(fill(labels.intro, { mb: megabytes(m.files[m.model].bytes) }), "idle");
      }).catch(() => {});
    }

    function load() {
      if (engine) return engine;
      engine = (async () => {
        if (location.protocol === "file:") throw new Error(labels.needsServer);
        say(labels.loading, "loading");
        await Promise.all([script(assets + "wordpiece.js"), script(assets + "headview.js"),
          script(assets + "headview-labels.js"), style(assets + "headview.css"),
          script(assets + "ort.wasm.min.js")]);
        const manifest = await (await fetchOk(assets + "manifest.json")).json();
        const vocab = await (await fetchOk(assets + manifest.vocab)).text();
        // no limit inside the tokenizer: the page measures the length and says it in its language
        const tokenizer = new window.SAWordPiece(vocab, { maxLen: Number.MAX_SAFE_INTEGER });
        const total = manifest.files[manifest.model].bytes;
        const bytes = await fetchBytes(assets + manifest.model, total, (got) =>
          say(fill(labels.loadingModel, { got: megabytes(got), total: megabytes(total) }), "loading"));
        window.ort.env.wasm.wasmPaths = assets;
        window.ort.env.wasm.numThreads = 1;
        const session = await window.ort.InferenceSession.create(bytes);
        return { tokenizer, session, manifest };
      })();
      engine.catch(() => { engine = null; }); // a failed load may be retried
      return engine;
    }

    async function show() {
      const text = input.value;
      if (!text.trim()) {
        say(labels.empty, "error");
        return;
      }
      let e;
      try {
        e = await load();
      } catch (err) {
        say(err.message === labels.needsServer ? err.message : fill(labels.loadFailed, { why: err.message }), "error");
        return;
      }
      let tokens, ids;
      try {
        const encoded = e.tokenizer.encode(text);
        tokens = encoded.tokens;
        ids = Array.from(encoded.ids);
      } catch {
        say(labels.noTokens, "error"); // the tokenizer found nothing to read (only spaces or control characters)
        return;
      }
      const limit = e.manifest.max_tokens;
      if (tokens.length > limit) {
        say(fill(labels.tooLong, { n: tokens.length, max: limit }), "error");
        return;
      }
      say(fill(labels.running, { n: tokens.length }), "running");
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))); // paint the message first
      const began = performance.now();
      let out;
      try {
        const x = new window.ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]);
        out = await e.session.run({ ids: x });
      } catch (err) {
        say(fill(labels.loadFailed, { why: err.message }), "error");
        return;
      }
      const ms = performance.now() - began;
      const weights = out.attention.data;
      const data = { tokens, weights, layers: e.manifest.layers, heads: e.manifest.heads };
      if (view) view.update(data);
      else {
        const words = (window.SAHeadViewLabels || {})[root.dataset.language]; // none: the English defaults
        view = window.SAHeadView.render(viewBox, data, words ? { labels: words } : {});
      }
      root.saOwn = { tokens, ids, weights: Array.from(weights), ms };
      const unknown = tokens.filter((t) => t === "[UNK]").length;
      say(fill(labels.done, { n: tokens.length, ms: ms.toFixed(0) }) +
        (unknown ? " " + fill(labels.unknown, { k: unknown }) : ""), "ready");
    }

    // Every keystroke is read at once, unless a reading is under way: then the newest sentence
    // is read as soon as it ends (keystrokes in between are skipped, never queued up).
    let busy = false, again = false;
    async function read() {
      if (busy) { again = true; return; }
      busy = true;
      try {
        do { again = false; await show(); } while (again);
      } finally {
        busy = false;
      }
    }
    input.addEventListener("input", read);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      read();
    });
  }

  function initAll() {
    document.querySelectorAll(".sa-own").forEach(init);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initAll);
  else initAll();
})();
