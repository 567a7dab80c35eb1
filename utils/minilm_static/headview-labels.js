/* Seeing Attention: the head view's words in the Chinese edition (headview.js has the English ones
   as its defaults). window.SAHeadViewLabels["zh_CN"] is passed as SAHeadView.render's
   options.labels by own-sentence.js (the static page) and by utils/minilm_web.head_view_html (a
   notebook). Layers, heads and words are numbered from 1, as the book numbers them. */
(function (root) {
  "use strict";
  const zh = {
    layer: "层",
    head: "头",
    queries: "查询",
    keys: "键",
    overview: "全部的头：点击一个，在上方的头视图里查看",
    overviewAria: "全部的头，每个头一张图（行：层，列：头）",
    rowLabel: (layer) => "L" + layer,
    colLabel: (head) => "H" + head,
    export: "下载头视图：",
    exportPng: "PNG",
    exportSvg: "SVG",
    hint: "把指针移到一个词元上，或用键盘聚焦它，就能看到它看向哪里（左列）或被谁看（右列）；点击它或按 Enter 可以保留它的连线。",
    headViewCaption: (layer, head) => "第 " + layer + " 层第 " + head +
      " 个头：每条线把一个词元（左）连到它关注的词元（右），权重越大，线越醒目。",
    thumbAria: (layer, head) => "第 " + layer + " 层第 " + head + " 个头",
    tokenAria: (token, i, side) => token + "（第 " + i + " 个词元，" + (side === "query" ? "查询" : "键") + "）",
    skipped: (threshold, left, total, wordThreshold) => "权重低于 " + threshold + " 的词元对不画线（" +
      total + " 对中有 " + left + " 对）" + (threshold > wordThreshold
      ? "；指针移到或聚焦某个词元时，显示它权重不低于 " + wordThreshold + " 的全部连线。" : "。"),
    readout: (token, side, top) => (side === "query" ? "“" + token + "”最关注：" : "最关注“" + token + "”的是：") +
      top.map((t) => t.token + " " + t.weight.toFixed(2)).join("，"),
  };
  if (root) root.SAHeadViewLabels = { zh_CN: zh };
})(typeof window !== "undefined" ? window : null);
