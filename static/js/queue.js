// The live queue: the list polls itself every 2 s (hx-trigger on #queue-rows); this script
// tells the server what the screen shows — down to which row (so "Show more" is never undone)
// and the digest of the list (so an unchanged list costs a 204) — and, when the tab is in the
// background, raises a browser notification (and an optional sound) for a lead that arrived.
(function () {
  "use strict";
  var SOUND_KEY = "crm.queue.sound";

  function rows() {
    return document.querySelectorAll("#queue-rows tr.lead-row");
  }

  function leadIds() {
    var ids = new Set();
    rows().forEach(function (row) { ids.add(row.dataset.lead); });
    return ids;
  }

  var known = null;

  document.addEventListener("htmx:configRequest", function (event) {
    var list = document.getElementById("queue-rows");
    if (!list || event.detail.elt !== list) return; // the filters ask for a fresh list
    var shown = rows();
    if (shown.length) event.detail.parameters.through = shown[shown.length - 1].dataset.cursor;
    event.detail.parameters.digest = list.dataset.digest || "";
  });

  // A filter chosen while a poll is on its way: the poll asked for the old list, and its
  // answer must not come back over the filtered one (and keep polling the old filters). Nor
  // may a poll answered while the filtered list is on its way replace the list: the filtered
  // one is headed for that element and would be lost with it (the old list would stay).
  var filtering = 0; // filter requests in flight
  function fromFilters(event) { return event.detail.elt && event.detail.elt.id === "queue-filters"; }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var list = document.getElementById("queue-rows");
    if (!fromFilters(event)) return;
    filtering += 1;
    if (list) htmx.trigger(list, "htmx:abort");
  });
  ["htmx:afterRequest", "htmx:sendError", "htmx:sendAbort", "htmx:timeout"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      if (fromFilters(event)) filtering = Math.max(0, filtering - 1);
    });
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    // detail.elt is the swap's target here; the element that asked is the request's.
    var asker = event.detail.requestConfig && event.detail.requestConfig.elt;
    var poll = asker && asker.id === "queue-rows";
    if ((poll && filtering) || !document.body.contains(event.detail.elt)) {
      event.detail.shouldSwap = false;
    }
  });

  document.addEventListener("htmx:afterSettle", function () {
    var list = document.getElementById("queue-rows");
    if (!list) return;
    var now = leadIds();
    var arrived = [];
    if (known !== null) now.forEach(function (id) { if (!known.has(id)) arrived.push(id); });
    known = now;
    if (arrived.length && document.hidden) announce(list, arrived.length);
  });

  function announce(list, count) {
    if ("Notification" in window && Notification.permission === "granted") {
      new Notification(list.dataset.newLeadText + (count > 1 ? " (" + count + ")" : ""), {
        tag: "crm-new-lead",
      });
    }
    if (localStorage.getItem(SOUND_KEY) === "on") beep();
  }

  function beep() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    var audio = new Context();
    var tone = audio.createOscillator();
    var volume = audio.createGain();
    tone.frequency.value = 880;
    volume.gain.value = 0.15;
    tone.connect(volume).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.2);
  }

  document.addEventListener("DOMContentLoaded", function () {
    known = leadIds();
    var notifyMe = document.getElementById("notify-me");
    if (notifyMe && "Notification" in window && Notification.permission === "default") {
      notifyMe.hidden = false;
      notifyMe.addEventListener("click", function () {
        Notification.requestPermission().then(function () { notifyMe.hidden = true; });
      });
    }
    var toggle = document.getElementById("sound-toggle");
    var sound = document.getElementById("sound");
    if (toggle && sound) {
      toggle.hidden = false;
      sound.checked = localStorage.getItem(SOUND_KEY) === "on";
      sound.addEventListener("change", function () {
        localStorage.setItem(SOUND_KEY, sound.checked ? "on" : "off");
      });
    }
  });
})();
