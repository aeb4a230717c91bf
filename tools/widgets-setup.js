/* Loaded on pages with widgets, after require.js and before the ipywidgets HTML manager
 * (embed-amd.js). Both are served from the site's own _static/ folder: no CDN.
 * Two fixes for rendering embedded widget state on a static page (see README.md):
 */
(function () {
  "use strict";
  // 1. embed-amd.js finds its font files relative to the requirejs URL of its own module id,
  //    which by default resolves to <page dir>/@jupyter-widgets/html-manager/dist/ (404s).
  //    Map that id to the copy under _static/ (Sphinx writes the page's root on <html>).
  var root = document.documentElement.dataset.content_root || "";
  window.require.config({
    paths: { "@jupyter-widgets/html-manager/dist": root + "_static/jupyter-widgets" },
  });
  // 2. ipywidgets 8 typesets widget labels through the MathJax 2 API (MathJax.Hub.Queue),
  //    but Sphinx loads MathJax 3. Forward those calls to MathJax 3's typesetPromise.
  function installShim() {
    var mj = window.MathJax;
    if (!mj || mj.Hub || !mj.startup) return;
    mj.Hub = {
      Queue: function () {
        for (var i = 0; i < arguments.length; i++) {
          var job = arguments[i];
          if (Array.isArray(job) && job[0] === "Typeset" && job[2]) {
            var el = job[2];
            mj.startup.promise = mj.startup.promise.then(function () { return mj.typesetPromise([el]); });
          }
        }
      },
    };
  }
  // MathJax is a deferred script too, so it exists by DOMContentLoaded; widgets render on "load".
  document.addEventListener("DOMContentLoaded", installShim);
})();
