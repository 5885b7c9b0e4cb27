/* The lead workspace: the call script saves each answer as it is picked, so Log call, a
   reload or a lost connection never wipes it.

   Each change is kept in localStorage ("lead-answers:<lead id>") until the server confirms
   it; the field shows "saving…", "saved" or "not saved yet". A failed save (network, 5xx) is
   retried every 5 s and when the browser comes back online (a save that ends on the login page
   counts as failed); a value still unsaved when the page is opened again is put back into its
   field and sent, and one picked before this script ran is sent as it loads. A value the
   server refuses (4xx: a bad value, a lead closed meanwhile) shows the server's reason and is
   dropped from the retry list. Typed text is kept at each keystroke and sent when the typing
   pauses (0.8 s) or the field is left. Before any other form of the page is sent, pending
   answers are sent first (up to 3 s). */
(function () {
  "use strict";

  var form = document.getElementById("answers-form");
  if (!form) return;
  var url = form.getAttribute("data-autosave-url");
  var storeKey = "lead-answers:" + form.getAttribute("data-lead");
  var texts = {
    saving: form.getAttribute("data-saving-text"),
    saved: form.getAttribute("data-saved-text"),
    unsaved: form.getAttribute("data-unsaved-text"),
  };
  var inFlight = {};
  var leaving = false;
  window.addEventListener("beforeunload", function () { leaving = true; });
  window.addEventListener("pageshow", function () { leaving = false; });
  var retryTimer = null;

  function load() {
    try { return JSON.parse(window.localStorage.getItem(storeKey) || "{}"); }
    catch (e) { return {}; }
  }
  function store(pending) {
    try {
      if (Object.keys(pending).length) window.localStorage.setItem(storeKey, JSON.stringify(pending));
      else window.localStorage.removeItem(storeKey);
    } catch (e) { /* private mode: the page still holds the values */ }
  }

  function wrapper(name) { return form.querySelector('.criterion[data-field="' + name + '"]'); }

  function mark(name, state, message) {
    var box = wrapper(name);
    if (!box) return;
    box.classList.remove("saving", "saved", "unsaved", "refused");
    box.classList.add(state);
    var note = box.querySelector(".save-state");
    if (note) note.textContent = message || texts[state] || "";
  }

  function valueOf(name) {
    var fields = form.elements[name];
    if (!fields) return "";
    if (fields.length !== undefined && fields.tagName !== "SELECT") { // radio group
      for (var i = 0; i < fields.length; i++) if (fields[i].checked) return fields[i].value;
      return "";
    }
    return fields.value;
  }

  function restore(name, value) {
    var fields = form.elements[name];
    if (!fields) return;
    if (fields.length !== undefined && fields.tagName !== "SELECT") {
      for (var i = 0; i < fields.length; i++) fields[i].checked = fields[i].value === value;
    } else {
      fields.value = value;
    }
  }

  // One save at a time, in the order they were made: each answer carries the lead's score
  // and badge as the server sees them, so the last answer to arrive is the latest state.
  var queue = Promise.resolve();

  function send(name, value) {
    var body = new FormData();
    body.append("csrfmiddlewaretoken", form.elements.csrfmiddlewaretoken.value);
    body.append("criterion", name.replace(/^c/, ""));
    body.append("value", value);
    mark(name, "saving");
    var request = queue.then(function () {
      return fetch(url, {
        method: "POST", body: body, credentials: "same-origin", keepalive: true,
        headers: { "X-Requested-With": "fetch" },
      });
    }).then(function (response) {
      return response.text().then(function (text) {
        var pending = load();
        var ours = (response.headers.get("content-type") || "").indexOf("text/plain") === 0;
        // Logged out meanwhile: the answer went to the login page, not to the lead. Keep it.
        if (response.redirected) throw new Error("redirected");
        if (response.ok) {
          // Leaving the page, the next one may have been read before this save: keep the
          // value until that page sees it (it drops what it already shows).
          if (pending[name] === value && !leaving) { delete pending[name]; store(pending); }
          if (valueOf(name) === value) mark(name, "saved");
          var badges = document.getElementById("lead-badges");
          if (badges) badges.outerHTML = text;
          document.body.dispatchEvent(new CustomEvent("answers-saved", { bubbles: true }));
        } else if (ours && response.status >= 400 && response.status < 500) { // refused: say why
          if (pending[name] === value) { delete pending[name]; store(pending); }
          mark(name, "refused", text);
        } else {
          throw new Error(String(response.status));
        }
      });
    }).catch(function () {
      mark(name, "unsaved");
      scheduleRetry();
    }).then(function () {
      if (inFlight[name] === request) delete inFlight[name];
    });
    queue = request;
    inFlight[name] = request;
    return request;
  }

  function flush() {
    var pending = load();
    var requests = Object.keys(pending).map(function (name) { return send(name, pending[name]); });
    return Promise.all(requests);
  }

  function scheduleRetry() {
    if (retryTimer) return;
    retryTimer = window.setTimeout(function () { retryTimer = null; flush(); }, 5000);
  }

  var typingTimers = {};
  var lastSent = {};

  function changed(event) {
    var name = event.target.name;
    if (!name || !/^c\d+$/.test(name)) return;
    window.clearTimeout(typingTimers[name]);
    delete typingTimers[name];
    var value = valueOf(name);
    var pending = load();
    // The change that follows typing (on leaving the field) repeats what was just sent.
    if (event.type === "change" && lastSent[name] === value && !(name in pending)) return;
    pending[name] = value;
    store(pending);
    lastSent[name] = value;
    send(name, value);
  }

  // Typed text is kept at each keystroke and sent once the typing pauses: a reload, a closed
  // tab or a lost connection before the field is left loses nothing.
  function typed(event) {
    var name = event.target.name;
    if (!name || !/^c\d+$/.test(name) || event.target.tagName === "SELECT") return;
    if (event.target.type === "radio" || event.target.type === "checkbox") return;
    var pending = load();
    pending[name] = valueOf(name);
    store(pending);
    window.clearTimeout(typingTimers[name]);
    typingTimers[name] = window.setTimeout(function () { changed({ type: "pause", target: event.target }); }, 800);
  }

  form.addEventListener("change", changed);
  form.addEventListener("input", typed);
  window.addEventListener("online", flush);

  // A field changed from what the server wrote: picked before this (deferred) script ran.
  function changedEarly(name) {
    var fields = form.elements[name];
    if (!fields) return false;
    if (fields.tagName === "SELECT") {
      for (var i = 0; i < fields.options.length; i++) {
        if (fields.options[i].selected !== fields.options[i].defaultSelected) return true;
      }
      return false;
    }
    if (fields.length !== undefined) { // radio group
      for (var j = 0; j < fields.length; j++) {
        if (fields[j].checked !== fields[j].defaultChecked) return true;
      }
      return false;
    }
    return fields.value !== fields.defaultValue;
  }

  // Back from a lost connection or a reload: put unsaved values back and send them. What was
  // picked on this page before the script ran is newer than anything kept, so it wins.
  var pending = load();
  var early = {};
  Array.prototype.forEach.call(form.elements, function (field) {
    if (/^c\d+$/.test(field.name) && !(field.name in early)) early[field.name] = changedEarly(field.name);
  });
  Object.keys(pending).forEach(function (name) {
    if (early[name]) return;
    if (valueOf(name) === pending[name]) { delete pending[name]; return; } // saved already
    restore(name, pending[name]);
    mark(name, "unsaved");
  });
  Object.keys(early).forEach(function (name) { if (early[name]) pending[name] = valueOf(name); });
  store(pending);
  flush();

  // Another form of the page (Log call, Check, Junk, Convert…) waits for pending answers first.
  var releasing = false;
  document.addEventListener("submit", function (event) {
    var other = event.target;
    if (other === form || releasing) return;
    var busy = Object.keys(inFlight).length || Object.keys(load()).length;
    if (!busy) return;
    event.preventDefault();
    var submitter = event.submitter || null;
    var timeout = new Promise(function (resolve) { window.setTimeout(resolve, 3000); });
    var waits = Object.keys(inFlight).map(function (k) { return inFlight[k]; });
    Promise.race([Promise.all(waits.concat([flush()])), timeout]).then(function () {
      releasing = true;
      if (submitter) other.requestSubmit(submitter); else other.requestSubmit();
      releasing = false;
    });
  }, true);

  // "Check the lead too" is remembered: a qualifier who uses it keeps it on.
  var checkToo = document.querySelector("#attempt-form input[name=check]");
  if (checkToo) {
    checkToo.checked = checkToo.checked || window.localStorage.getItem("check-after-call") === "1";
    checkToo.addEventListener("change", function () {
      window.localStorage.setItem("check-after-call", checkToo.checked ? "1" : "0");
    });
  }
})();
