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
  setInterval(refreshAges, 30000);
  document.addEventListener("DOMContentLoaded", refreshAges);
  document.addEventListener("htmx:afterSettle", refreshAges);
})();
