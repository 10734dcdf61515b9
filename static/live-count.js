/* The petition page's one script, and it is optional: everything works without it.
   While the page is visible, it refreshes the verified count every 30 seconds from
   this same host (the CSP allows scripts from 'self' only). */
(function () {
  "use strict";
  var section = document.querySelector("section.count[data-live]");
  if (!section || !window.fetch || !window.DOMParser) return;
  var url = section.getAttribute("data-live");
  var every = parseInt(section.getAttribute("data-interval"), 10) || 30000;

  function refresh() {
    if (document.visibilityState !== "visible") return;
    fetch(url, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("section.count");
        if (fresh) section.replaceChildren.apply(section, Array.prototype.slice.call(fresh.childNodes));
      })
      .catch(function () { /* offline for a moment: the count shown stays */ });
  }

  window.setInterval(refresh, every);
  document.addEventListener("visibilitychange", refresh);
})();
