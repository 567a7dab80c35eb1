/* Seeing Attention: draws the head views a notebook's output carries (utils/minilm_web.head_view_html,
   which inlines headview.js, headview-labels.js and this script after the data). Each
   <div class="sa-hv-live" data-language="en|zh_CN"> holds a <script type="application/json"> with
   {tokens, weights, layers, heads}; it is drawn once, into the div, by SAHeadView. */
(function (root) {
  "use strict";
  if (!root || !root.document) return;
  const doc = root.document;
  const boxes = new Set(doc.querySelectorAll(".sa-hv-live"));
  const me = doc.currentScript; // the output's own box, even where the output is not yet in the page
  if (me && me.previousElementSibling && me.previousElementSibling.classList.contains("sa-hv-live")) {
    boxes.add(me.previousElementSibling);
  }
  boxes.forEach((box) => {
    if (box.dataset.drawn) return;
    box.dataset.drawn = "1";
    const data = JSON.parse(box.querySelector("script[type='application/json']").textContent);
    const target = doc.createElement("div");
    box.appendChild(target);
    const words = (root.SAHeadViewLabels || {})[box.dataset.language]; // none: the English defaults
    root.SAHeadView.render(target, data, words ? { labels: words } : {});
  });
})(typeof window !== "undefined" ? window : null);
