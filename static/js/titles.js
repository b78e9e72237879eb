// The browser tab says what the page shows, and keeps saying it as the page updates itself: an incident's tab
// reads "SEV1 · Investigating · Checkout errors", the dashboard's "3 open · Dashboard" (the server writes the
// same on load; this follows the live parts htmx swaps in).
(function () {
  "use strict";
  var SUFFIX = " · Incident Console";
  function text(selector) {
    var el = document.querySelector(selector);
    return el ? el.textContent.replace(/\s+/g, " ").trim() : "";
  }
  function retitle() {
    var title = "";
    if (document.getElementById("incident-header")) {
      var parts = [text("#incident-header .sev-big"), text("#incident-header .status-big"), text("#incident-title")];
      title = parts.filter(Boolean).join(" · ");
    } else if (document.getElementById("board")) {
      var open = text("#open-heading .count");
      title = (open && open !== "0" ? open + " open · " : "") + "Dashboard";
    } else if (document.getElementById("wall")) {
      var n = document.getElementById("wall").getAttribute("data-open");
      title = (n && n !== "0" ? n + " open" : "All clear") + " · Wall";
    }
    if (title && document.title !== title + SUFFIX) document.title = title + SUFFIX;
  }
  document.addEventListener("htmx:afterSettle", retitle);
})();
