// Point require.js at the book's own copy of the ipywidgets HTML manager (book/_static/vendor),
// so that the modules and the fonts they load are found here and never on a CDN.
(function () {
  var here = document.currentScript.src;
  var vendor = here.slice(0, here.lastIndexOf("/") + 1) + "vendor/";
  require.config({ baseUrl: vendor });
})();
