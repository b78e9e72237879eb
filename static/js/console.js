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
  // While it holds, the page says so (#live-hold): what waits, and that command output keeps coming.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    var hold = elt && elt.getAttribute && elt.getAttribute("data-hold-while");
    if (!hold) return;
    var holding = !!document.querySelector(hold);
    if (holding) event.detail.parameters.hold = "1";
    var notice = document.getElementById("live-hold");
    if (notice) notice.hidden = !holding;
  });

  // Run where you read: each run's view under its step is copied from the inert <template> the runs panel holds
  // for it (the panel moves with its own version, so the page's poll stays one query). The newest run of a
  // command wins; "Mark step done" shows only while the step is still open.
  function mirrorRuns() {
    var panel = document.getElementById("runs");
    if (!panel) return;
    var latest = {};
    panel.querySelectorAll("[data-step]").forEach(function (run) {
      var key = run.getAttribute("data-step");
      if (!latest[key]) latest[key] = run;  // the panel lists the newest first
    });
    document.querySelectorAll("[data-step-runs]").forEach(function (slot) {
      var run = latest[slot.getAttribute("data-step-runs")];
      var view = run && run.querySelector("template.step-view");
      if (!view) return;
      var step = slot.closest("li[data-state]");
      var sig = run.id + ":" + run.getAttribute("data-sig") + ":" + (step ? step.getAttribute("data-state") : "");
      if (slot.getAttribute("data-sig") === sig) return;
      var copy = view.content.cloneNode(true);
      if (step && step.getAttribute("data-state") !== "open") {
        copy.querySelectorAll(".step-done-form").forEach(function (node) { node.remove(); });
      }
      slot.replaceChildren(copy);
      slot.setAttribute("data-sig", sig);
      var output = slot.querySelector(".step-output");
      if (output) output.scrollTop = output.scrollHeight;  // the last lines in view
      if (window.htmx) window.htmx.process(slot);
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-close-slot]");
    if (!button) return;
    var slot = document.querySelector(button.getAttribute("data-close-slot"));
    if (slot) slot.replaceChildren();
  });

  // Focus stays where the person was: after Done (on a step or under a run's output), on the next open step.
  var tickedItem = null;
  document.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (!submitter || submitter.value !== "tick") return;
    var step = event.target.closest("li[id^='item-']");
    tickedItem = step ? step.id : null;
  }, true);
  function focusAfterTick() {
    if (!tickedItem) return;
    var step = document.getElementById(tickedItem);
    if (!step || step.getAttribute("data-state") === "open") return;  // not changed yet: the next swap
    tickedItem = null;
    var steps = Array.prototype.slice.call(document.querySelectorAll("#checklists li[id^='item-']"));
    var after = steps.slice(steps.indexOf(step) + 1).concat(steps.slice(0, steps.indexOf(step)));
    var next = after.find(function (li) { return li.getAttribute("data-state") === "open"; });
    var target = next && next.querySelector(".tick-button");
    if (target) target.focus({preventScroll: false});
  }
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
  document.addEventListener("DOMContentLoaded", mirrorRuns);
  document.addEventListener("htmx:afterSettle", mirrorRuns);
  document.addEventListener("htmx:afterSettle", focusAfterTick);
})();
