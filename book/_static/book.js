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
 */
(function () {
  "use strict";
  function ready(f) {
    if (document.readyState !== "loading") { f(); } else { document.addEventListener("DOMContentLoaded", f); }
  }

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

  ready(function () {
    quiet(document);
    // Font Awesome swaps the <i> icons for <svg>s after the page has loaded: quiet them again.
    if (window.MutationObserver) {
      document.querySelectorAll(".theme-switch-button").forEach(function (button) {
        new MutationObserver(function () { quiet(button.parentNode); })
          .observe(button, {childList: true, subtree: true, attributes: true, attributeFilter: ["title", "role"]});
      });
    }
    document.querySelectorAll('summary[aria-label="Toggle hidden content"]').forEach(function (s) {
      s.removeAttribute("aria-label");
    });
    document.querySelectorAll('.citation-list[role="list"] > [role="doc-biblioentry"]').forEach(function (e) {
      e.setAttribute("role", "listitem");
    });

    var menu = document.querySelector(".dropdown-download-buttons .dropdown-menu");
    if (!menu) { return; }
    var root = document.documentElement.dataset.content_root ||
      (window.DOCUMENTATION_OPTIONS && DOCUMENTATION_OPTIONS.URL_ROOT) || "./";
    var href = root + "seeing-attention.pdf";
    function add() {
      var li = document.createElement("li");
      li.innerHTML = '<a class="btn btn-sm dropdown-item sa-book-pdf" download title="Download the whole book as one PDF">' +
        '<span class="btn__icon-container"><i class="fas fa-book" aria-hidden="true"></i></span>' +
        '<span class="btn__text-container">Book (PDF)</span></a>';
      li.firstChild.setAttribute("href", href);
      menu.appendChild(li);
    }
    add();
  });
})();
