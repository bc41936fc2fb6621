// Closeloop's only script of its own: small progressive enhancements. Everything works without it.
(function () {
  "use strict";
  // "Copy" buttons next to a one-time secret.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-copy]");
    if (!btn) return;
    var el = document.getElementById(btn.getAttribute("data-copy"));
    if (!el || !navigator.clipboard) return;
    navigator.clipboard.writeText(el.textContent.trim()).then(function () {
      btn.textContent = btn.getAttribute("data-copied") || "✓";
    });
  });
  // Close an open <details> menu when clicking elsewhere.
  document.addEventListener("click", function (ev) {
    document.querySelectorAll("details.menu[open]").forEach(function (d) {
      if (!d.contains(ev.target)) d.removeAttribute("open");
    });
  });
})();
