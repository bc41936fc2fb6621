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
  // People pickers: the search box is rendered hidden, since without this script and htmx it
  // does nothing (closeloop/orgs/widgets.py); shown here, and in what htmx swaps in.
  function showPickerSearch(root) {
    if (!window.htmx || !root || !root.querySelectorAll) return;
    if (root.matches && root.matches(".picker__search[hidden]")) root.hidden = false;
    root.querySelectorAll(".picker__search[hidden]").forEach(function (el) {
      el.hidden = false;
    });
  }
  showPickerSearch(document);
  document.addEventListener("htmx:load", function (ev) {
    showPickerSearch(ev.target);
  });
  // People pickers: Enter or ↓ in the search box moves to the list it fills.
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter" && ev.key !== "ArrowDown") return;
    var box = ev.target.closest && ev.target.closest(".picker__search input");
    var select = box && document.getElementById(box.getAttribute("aria-controls"));
    if (!select) return;
    ev.preventDefault();
    select.focus();
  });
  // …and once someone is picked, what the search found has been read.
  document.addEventListener("change", function (ev) {
    if (!ev.target.matches || !ev.target.matches(".picker select")) return;
    var status = document.getElementById(ev.target.id + "_status");
    if (status) status.textContent = "";
  });
  // An htmx request from an element with data-row-count="selector" sends n = rows + 1
  // (instead of hx-vals="js:…", which needs eval and so 'unsafe-eval' in the CSP).
  document.addEventListener("htmx:configRequest", function (ev) {
    var elt = ev.detail && ev.detail.elt;
    var selector = elt && elt.getAttribute && elt.getAttribute("data-row-count");
    if (selector) ev.detail.parameters.n = document.querySelectorAll(selector).length + 1;
  });
  // A form marked data-form-change hears "form-change" when one of its own controls changes
  // (an htmx trigger filter like change[!!target.form] would need eval).
  document.addEventListener("change", function (ev) {
    var form = ev.target && ev.target.form;
    if (form && form.hasAttribute("data-form-change") && window.htmx) window.htmx.trigger(form, "form-change");
  });
  // A form marked data-submit-once sends once: its buttons are disabled after the first
  // submit (a double click on 全部标为已读 would otherwise post twice). Disabled after the
  // event, so the clicked button's own name and value still go with the form.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.matches || !form.matches("form[data-submit-once]") || ev.defaultPrevented) return;
    if (form.hasAttribute("data-submitting")) {
      ev.preventDefault(); // the second click of a double click: the first one is on its way
      return;
    }
    form.setAttribute("data-submitting", "");
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
        b.disabled = true;
      });
    }, 0);
  });
  // Back to a page kept in the browser's cache: its once-forms may send again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submitting]").forEach(function (form) {
      form.removeAttribute("data-submitting");
      form.querySelectorAll("button").forEach(function (b) {
        b.disabled = false;
      });
    });
  });
  // A select marked data-autosubmit sends its form when changed (no inline handlers: CSP).
  document.addEventListener("change", function (ev) {
    if (ev.target.matches && ev.target.matches("select[data-autosubmit]") && ev.target.form) {
      ev.target.form.submit();
    }
  });
  // A row of a list form marked data-tick-on-edit: typing into the row ticks its box
  // (input[data-row-tick]), so what was typed is sent, not dropped as an unticked row.
  document.addEventListener("input", function (ev) {
    var t = ev.target;
    if (!t.closest || t.matches("[data-row-tick]")) return;
    var row = t.closest("[data-tick-on-edit] [data-row]");
    var box = row && row.querySelector("input[data-row-tick]");
    if (box && !box.checked) box.checked = true;
  });
  // Filters folded behind a <details data-open-wide> on a phone (知识库's 筛选) stand open on
  // a wider screen, where they fit beside the search.
  if (window.matchMedia && window.matchMedia("(min-width: 640px)").matches) {
    document.querySelectorAll("details[data-open-wide]").forEach(function (d) {
      d.open = true;
    });
  }
  // Close an open <details> menu when clicking elsewhere.
  document.addEventListener("click", function (ev) {
    document.querySelectorAll("details.menu[open]").forEach(function (d) {
      if (!d.contains(ev.target)) d.removeAttribute("open");
    });
  });
})();
