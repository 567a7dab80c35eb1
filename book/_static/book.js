/* Seeing Attention: small additions to the book theme's pages (no request to another host).
 *
 * - The download menu gets "Book (PDF)": the whole book as one PDF (make pdf writes it into
 *   the built site as seeing-attention.pdf; make test always makes it). The entry is always
 *   there: probing for the file would log a failed request on every page of a book built
 *   without the PDF.
 * - Accessibility fixes to the theme's HTML that CSS cannot make (tests/test_accessibility.py
 *   checks every page with axe-core):
 *   . the colour-mode button is named "Color mode", but its three icons carry titles ("Light",
 *     "Dark", "System Settings") that Font Awesome turns into text inside it, so its visible
 *     label and its name disagree (WCAG 2.5.3): the icons are hidden from assistive technology;
 *   . the search field's button is named "Search" but shows "Search Ctrl+K": it takes its
 *     text as its name (and declares the shortcut with aria-keyshortcuts);
 *   . the code cells' "Show code cell content" toggles (<summary>) are named "Toggle hidden
 *     content", which is not what they show: they take their text as their name;
 *   . the bibliography's entries carry role="doc-biblioentry", deprecated in DPUB-ARIA 1.1,
 *     inside a role="list": they become list items.
 * - Scrollable code and outputs are keyboard reachable (WCAG 2.1.1: a reader without a mouse
 *   can still scroll a wide code line): those wider or taller than their box get tabindex 0,
 *   the others -1, as the theme's own pass did (book/_ext/book_pages.py takes that pass out: it
 *   read one element's size and set its tab index in turn, so the browser laid the page out
 *   again for every code cell). Here an element is measured when it comes near the screen, and
 *   the whole page at a keyboard's first Tab, every size read first, then every tab index set;
 *   again after a resize, and when an explorer redraws, for the elements around what changed.
 * - The sidebar buttons work. The theme's scripts bind "open the table of contents" (and "open
 *   the page's contents") to the first .primary-toggle (.secondary-toggle) of the page, which is in
 *   the header that sphinx-book-theme hides; the button a reader sees is the article header's,
 *   and did nothing, on a phone as on a desktop. Its clicks are handed to the first one.
 * - The language switch: every page names the same page in the other edition with
 *   <link rel="alternate" hreflang=...> (book/_ext/book_i18n.py); it becomes a button in the
 *   page's header ("中文" on an English page, "English" on a Chinese one).
 */
(function () {
  "use strict";
  function ready(f) {
    if (document.readyState !== "loading") { f(); } else { document.addEventListener("DOMContentLoaded", f); }
  }

  // Scripts the page needs only once a reader touches it: bootstrap.js (the theme's header menus,
  // its tooltips and its back-to-top button; 81 kB, and 50 ms of one task on this book's longest
  // pages with the CPU unthrottled) and copybutton.js with clipboard.min.js (a copy button on every
  // code block) are written into the page at build as
  // <script type="text/x-sa-on-touch" data-src="..."> (book_pages.touch_scripts), and loaded, in
  // their order, at the reader's first pointer, key, focus, scroll or touch. A menu button clicked
  // before bootstrap.js has loaded opens once it has.
  (function () {
    var waiting = Array.prototype.slice.call(document.querySelectorAll('script[type="text/x-sa-on-touch"]'));
    if (!waiting.length) { return; }
    // "scroll" on the window only: an element's own scroll (the theme scrolls the sidebar to the
    // current chapter at load) does not reach it.
    var EVENTS = ["pointerdown", "pointerover", "keydown", "focusin", "touchstart", "wheel", "scroll"];
    var pending = null, loaded = false;
    function load() {
      if (loaded) { return; }
      loaded = true;
      EVENTS.forEach(function (type) { window.removeEventListener(type, load, type !== "scroll"); });
      var left = waiting.length;
      waiting.forEach(function (tag) {
        var script = document.createElement("script");
        script.src = tag.getAttribute("data-src");
        script.async = false;  // run in the page's order: copybutton.js uses clipboard.min.js
        script.onload = script.onerror = function () {
          left -= 1;
          if (!left && pending && window.bootstrap) {
            window.bootstrap.Dropdown.getOrCreateInstance(pending).toggle();
            pending = null;
          }
        };
        document.head.appendChild(script);
      });
    }
    EVENTS.forEach(function (type) { window.addEventListener(type, load, {capture: type !== "scroll", passive: true}); });
    document.addEventListener("click", function (e) {
      var toggle = e.target.closest && e.target.closest('[data-bs-toggle="dropdown"]');
      if (toggle && !window.bootstrap) { e.preventDefault(); pending = toggle; load(); }
    }, true);
  })();

  function quiet(root) {
    root.querySelectorAll(".theme-switch-button > *").forEach(function (icon) {
      icon.setAttribute("aria-hidden", "true");
      icon.removeAttribute("title");
      icon.removeAttribute("role");
      icon.removeAttribute("aria-labelledby");
      var title = icon.querySelector && icon.querySelector("title");
      if (title) { title.remove(); }
    });
    root.querySelectorAll(".search-button-field[aria-label]").forEach(function (button) {
      button.removeAttribute("aria-label");  // its name is then its text: "Search Ctrl+K"
      button.setAttribute("aria-keyshortcuts", "Control+K");
    });
  }

  var SCROLLERS = ["pre", ".nboutput > .output_area", ".cell_output > .output", ".jp-RenderedHTMLCommon",
    ".pst-scrollable-table-container"].join(", ");  // the theme's list
  function tabStops(elements) {
    var wide = elements.map(function (el) {  // all the reads, then all the writes
      return el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight;
    });
    elements.forEach(function (el, k) {
      var index = wide[k] ? 0 : -1;
      if (el.tabIndex !== index || !el.hasAttribute("tabindex")) { el.tabIndex = index; }
    });
  }
  // book.css lays a section out only when it nears the screen, and reading a size inside a
  // section lays that section out: a pass over the whole page at load would lay out every
  // section in one long task. So an element is measured when it comes near the screen (its
  // section is being laid out then anyway), and the whole page at a keyboard's first Tab,
  // before the browser moves the focus.
  var near = [], tabbed = false;
  function all() { tabbed = true; tabStops(Array.prototype.slice.call(document.querySelectorAll(SCROLLERS))); }
  window.saTabStops = all;  // the tests call it as a keyboard's first Tab does
  document.addEventListener("keydown", function (e) { if (e.key === "Tab" && !tabbed) { all(); } }, true);
  ready(function () {
    var elements = Array.prototype.slice.call(document.querySelectorAll(SCROLLERS));
    if (!window.IntersectionObserver) { all(); return; }
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        var k = near.indexOf(e.target);
        if (e.isIntersecting && k < 0) { near.push(e.target); } else if (!e.isIntersecting && k >= 0) { near.splice(k, 1); }
      });
      tabStops(entries.filter(function (e) { return e.isIntersecting; }).map(function (e) { return e.target; }));
    }, {rootMargin: "25% 0px"});  // inside the margin within which the browser lays sections out
    elements.forEach(function (el) { observer.observe(el); });
  });
  var resized = null;
  window.addEventListener("resize", function () {
    clearTimeout(resized);
    resized = setTimeout(function () { if (tabbed) { all(); } else { tabStops(near.slice()); } }, 300);
  });
  ready(function () {
    var main = document.getElementById("main-content");
    if (!main || !window.MutationObserver) { return; }
    new MutationObserver(function (records) {
      var around = [];
      records.forEach(function (r) {
        var node = r.target.nodeType === 1 ? r.target : r.target.parentNode;
        for (; node && node !== main; node = node.parentNode) {
          if (node.matches && node.matches(SCROLLERS) && around.indexOf(node) < 0) { around.push(node); }
        }
      });
      if (around.length) { tabStops(around); }
    }).observe(main, {subtree: true, childList: true});
  });

  ready(function () {
    quiet(document);
    // Font Awesome swaps the <i> icons for <svg>s after the page has loaded: quiet them again.
    if (window.MutationObserver) {
      document.querySelectorAll(".theme-switch-button").forEach(function (button) {
        new MutationObserver(function () { quiet(button.parentNode); })
          .observe(button, {childList: true, subtree: true, attributes: true, attributeFilter: ["title", "role"]});
      });
    }
    document.querySelectorAll(".cell details > summary[aria-label]").forEach(function (s) {
      s.removeAttribute("aria-label");
    });
    document.querySelectorAll('.citation-list[role="list"] > [role="doc-biblioentry"]').forEach(function (e) {
      e.setAttribute("role", "listitem");
    });

    var chinese = /^zh/.test(document.documentElement.lang || "");
    // the language button is written into the header at build (book_pages.language_button)

    var menu = document.querySelector(".dropdown-download-buttons .dropdown-menu");
    if (!menu) { return; }
    var root = document.documentElement.dataset.content_root ||
      (window.DOCUMENTATION_OPTIONS && DOCUMENTATION_OPTIONS.URL_ROOT) || "./";
    // One PDF, of the English edition (make pdf); the Chinese pages link it from the site's root.
    var href = root + (chinese ? "../" : "") + "seeing-attention.pdf";
    function add() {
      var li = document.createElement("li");
      li.innerHTML = '<a class="btn btn-sm dropdown-item sa-book-pdf" download>' +
        '<span class="btn__icon-container"><i class="fas fa-book" aria-hidden="true"></i></span>' +
        '<span class="btn__text-container"></span></a>';
      li.firstChild.setAttribute("href", href);
      li.firstChild.title = chinese ? "下载全书 PDF（英文版）" : "Download the whole book as one PDF";
      li.querySelector(".btn__text-container").textContent = chinese ? "全书 PDF（英文版）" : "Book (PDF)";
      menu.appendChild(li);
    }
    add();
  });
  ready(function () {
    ["primary-toggle", "secondary-toggle"].forEach(function (kind) {
      var buttons = document.querySelectorAll("." + kind);
      Array.prototype.slice.call(buttons, 1).forEach(function (button) {
        button.addEventListener("click", function (e) {
          e.preventDefault();
          e.stopPropagation();
          buttons[0].click();
        });
      });
    });
  });
})();
