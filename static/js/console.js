// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Copy buttons on command blocks.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.innerText).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1200);
    });
  });
  // Relative ages ("12 min") refresh every 30 s without a request.
  function refreshAges() {
    var now = Date.now();
    document.querySelectorAll("time[data-age]").forEach(function (el) {
      var then = Date.parse(el.getAttribute("datetime"));
      if (isNaN(then)) return;
      var minutes = Math.max(0, Math.floor((now - then) / 60000));
      el.textContent = minutes < 60 ? minutes + " min" :
        minutes < 2880 ? Math.floor(minutes / 60) + " h " + (minutes % 60) + " min" :
        Math.floor(minutes / 1440) + " d";
    });
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (!isNaN(due) && now > due) el.classList.add("breached");
    });
  }
  // Print buttons (the postmortem's print view).
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) window.print();
  });
  // The Content-Security-Policy runs no inline code and htmx may not eval (htmx-config in base.html), so what
  // hx-on handlers and hx-trigger filters did is done here, driven by data attributes.
  // The incident page's poll asks for the command-runs panel alone (hold=1) while the reader is in the middle of
  // something a refresh of the page's other parts would reset (a skip reason half typed): data-hold-while.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    var hold = elt && elt.getAttribute && elt.getAttribute("data-hold-while");
    if (hold && document.querySelector(hold)) event.detail.parameters.hold = "1";
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (!event.detail.successful || !elt || !elt.getAttribute) return;
    if (elt.hasAttribute("data-reset-after-request") && typeof elt.reset === "function") elt.reset();
    var clear = elt.getAttribute("data-clear-after-request");
    if (clear) document.querySelectorAll(clear).forEach(function (node) { node.replaceChildren(); });
    var empty = elt.getAttribute("data-empty-after-request");
    if (empty) document.querySelectorAll(empty).forEach(function (node) { node.value = ""; });
  });
  setInterval(refreshAges, 30000);
  document.addEventListener("DOMContentLoaded", refreshAges);
  document.addEventListener("htmx:afterSettle", refreshAges);
})();
