// The wall screen (/wall/): a clock, and a word on whether what it shows is current. Polling itself is htmx's
// (hx-trigger on #wall); this file only says when it last worked, so a stale wall never looks like a calm one.
(function () {
  "use strict";
  var lastOk = Date.now();
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function hm(ms) { var d = new Date(ms); return two(d.getHours()) + ":" + two(d.getMinutes()); }
  function tick() {
    var clock = document.querySelector("[data-clock]");
    if (clock) clock.textContent = hm(Date.now());
    var live = document.querySelector("[data-updated]");
    if (!live) return;
    var stale = Date.now() - lastOk > 30000;
    live.textContent = stale ? "not updated since " + hm(lastOk) : "live";
    live.classList.toggle("wall-stale", stale);
  }
  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    if (event.detail.successful && xhr && xhr.responseURL.indexOf("/wall/") !== -1) lastOk = Date.now();
    tick();
  });
  // A poll answered by another page (the session ended: the login page) must not replace the tiles.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.responseURL && xhr.responseURL.indexOf("/wall/") === -1) event.detail.shouldSwap = false;
  });
  document.addEventListener("htmx:afterSettle", tick);
  document.addEventListener("DOMContentLoaded", tick);
  setInterval(tick, 5000);
})();
