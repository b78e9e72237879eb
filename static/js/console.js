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
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var pause = elt && elt.getAttribute && elt.getAttribute("data-pause-while");
    if (pause && document.querySelector(pause)) event.preventDefault();  // e.g. a skip reason half typed
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
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "poller") document.body.dispatchEvent(new CustomEvent("poller-swapped"));
  });
  setInterval(refreshAges, 30000);
  document.addEventListener("DOMContentLoaded", refreshAges);
  document.addEventListener("htmx:afterSettle", refreshAges);
})();
