/* Runs inside the widget's frame: tells the embedding page how tall the content is,
   so that it can size the frame. Only a height is sent, never anything typed. */
(function () {
  "use strict";
  if (window.parent === window) return;
  var last = 0;
  function report() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    // "*": the message is a number that any page could measure itself; the host's
    // origin is not known for certain here, and a wrong target would drop it.
    window.parent.postMessage({ type: "petition-widget:resize", height: height }, "*");
  }
  new ResizeObserver(report).observe(document.documentElement);
  window.addEventListener("load", report);
  report();
})();
