/* Petition widget loader: <script src="https://SERVICE/embed.js" data-petition="SLUG" async>.
   Inserts an iframe of SERVICE/embed/SLUG and sizes it to its content. No framework,
   no cookies; it reads nothing from the host page but its origin. Messages are taken
   only from that frame, and only from the service's origin. */
(function () {
  "use strict";
  var scripts = document.querySelectorAll("script[data-petition]");
  for (var i = 0; i < scripts.length; i++) {
    var script = scripts[i];
    if (script.getAttribute("data-petition-loaded") || !/\/embed\.js(\?|$)/.test(script.src)) continue;
    script.setAttribute("data-petition-loaded", "1");
    mount(script);
  }

  function mount(script) {
    var service = new URL(script.src).origin;
    var slug = script.getAttribute("data-petition");
    var mode = script.getAttribute("data-mode") === "count" ? "count" : "sign";
    var lang = script.getAttribute("data-lang");
    var src = new URL("/embed/" + encodeURIComponent(slug), service);
    src.searchParams.set("mode", mode);
    if (lang) src.searchParams.set("lang", lang);
    // The host page's origin, recorded as the signature's source. The Referer of the
    // frame's request says the same where the host page's policy lets it.
    src.searchParams.set("origin", location.origin);

    var frame = document.createElement("iframe");
    frame.src = src.href;
    frame.title = script.getAttribute("data-title") || "Petition";
    frame.setAttribute("scrolling", "no");
    frame.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
    frame.style.border = "0";
    frame.style.width = "100%";
    frame.style.maxWidth = "40rem";
    frame.style.display = "block";
    frame.style.height = "0";

    // The link pasted with the snippet stays until the frame has loaded and spoken:
    // without JavaScript, or if the frame is refused, readers still reach the petition.
    var fallback = script.previousElementSibling;
    if (!fallback || !fallback.hasAttribute("data-petition-fallback")) fallback = null;

    window.addEventListener("message", function (event) {
      if (event.origin !== service || event.source !== frame.contentWindow) return;
      var data = event.data;
      if (!data || data.type !== "petition-widget:resize") return;
      var height = Number(data.height);
      if (!(height > 0 && height < 20000)) return;
      frame.style.height = Math.ceil(height) + "px";
      if (fallback) {
        fallback.hidden = true;
        fallback = null;
      }
    });
    script.parentNode.insertBefore(frame, script.nextSibling);
  }
})();
