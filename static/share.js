/* Optional: without it, the share links and the address field work as they are.
   With it, "Copy the link" copies the petition's address, and where the device has
   a share sheet (phones), "Other apps" opens it (Signal and others). */
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = button.closest(".copy-link").querySelector(".copy-status");
    if (!field) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      function done() { if (status) status.textContent = button.getAttribute("data-copied"); }
      field.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          if (document.execCommand("copy")) done();
        });
      } else if (document.execCommand("copy")) {
        done();
      }
    });
  });
  if (!navigator.share) return;
  document.querySelectorAll("[data-share-url]").forEach(function (button) {
    button.closest("[hidden]").hidden = false;
    button.addEventListener("click", function () {
      navigator.share({
        title: button.getAttribute("data-share-title"),
        text: button.getAttribute("data-share-text"),
        url: button.getAttribute("data-share-url")
      }).catch(function () { /* closed without sharing */ });
    });
  });
})();
