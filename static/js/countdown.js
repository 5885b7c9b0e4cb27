/* Live countdowns, shared by the queue and the workspace.

   Contract: any element with data-due="<ISO 8601 with offset>" gets its text replaced every
   second with the time left or overdue. The words come from the page (so they are in the
   reader's language), as templates with a placeholder:
     data-left-text="in {time}"    while the moment is ahead     (required)
     data-late-text="{time} late"  once it has passed            (required)
     data-days-text="{days} d"     optional: beyond 48 hours show whole days instead of h:mm:ss
     data-now="<ISO>"              optional: the server's time when the page was made; the
                                   browser's clock is corrected by the difference
     data-late-class="sla-breach"  optional: a class set on the element once it is late
   {time} is m:ss under an hour, h:mm:ss above. Elements added later (htmx swaps) are picked
   up on the next tick: the page is read afresh every second. */
(function () {
  "use strict";

  var skew = {}; // data-now string -> milliseconds the browser clock is behind the server

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function span(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return h ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  }

  function serverNow(el) {
    var stamp = el.getAttribute("data-now");
    if (!stamp) return Date.now();
    if (!(stamp in skew)) {
      var parsed = Date.parse(stamp);
      skew[stamp] = isNaN(parsed) ? 0 : parsed - Date.now();
    }
    return Date.now() + skew[stamp];
  }

  function render(el) {
    var due = Date.parse(el.getAttribute("data-due"));
    if (isNaN(due)) return;
    var diff = Math.round((due - serverNow(el)) / 1000);
    var late = diff < 0, seconds = Math.abs(diff);
    var days = el.getAttribute("data-days-text");
    var text;
    if (days && seconds >= 48 * 3600) {
      text = days.replace("{days}", String(Math.floor(seconds / 86400)));
    } else {
      text = span(seconds);
    }
    var template = el.getAttribute(late ? "data-late-text" : "data-left-text") || "{time}";
    el.textContent = template.replace("{time}", text);
    var lateClass = el.getAttribute("data-late-class");
    if (lateClass) el.classList.toggle(lateClass, late);
  }

  function tick() {
    var all = document.querySelectorAll("[data-due]");
    for (var i = 0; i < all.length; i++) render(all[i]);
  }

  function start() {
    tick();
    window.setInterval(tick, 1000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
