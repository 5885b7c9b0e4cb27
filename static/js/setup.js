// Settings pages: reorder the call script by drag (the Up/Down buttons are the keyboard's
// way), add formset rows, show the fields of the chosen kind, copy the intake URL and key,
// confirm a key rotation. No inline script: the Content-Security-Policy forbids it.
(function () {
  "use strict";

  function csrf() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // Drag and drop of the criteria list: the new order is posted, the section comes back.
  var dragged = null;
  document.addEventListener("dragstart", function (event) {
    var item = event.target.closest && event.target.closest("#criteria-list li[data-id]");
    if (!item) return;
    dragged = item;
    item.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", item.dataset.id);
  });
  document.addEventListener("dragover", function (event) {
    var over = event.target.closest && event.target.closest("#criteria-list li[data-id]");
    if (!dragged || !over || over === dragged) return;
    event.preventDefault();
    var box = over.getBoundingClientRect();
    var after = event.clientY > box.top + box.height / 2;
    over.parentNode.insertBefore(dragged, after ? over.nextSibling : over);
  });
  document.addEventListener("drop", function (event) {
    if (dragged) event.preventDefault();
  });
  document.addEventListener("dragend", function () {
    if (!dragged) return;
    dragged.classList.remove("dragging");
    dragged = null;
    saveOrder();
  });

  function saveOrder() {
    var section = document.getElementById("criteria-section");
    if (!section) return;
    var body = new URLSearchParams();
    section.querySelectorAll("#criteria-list li[data-id]").forEach(function (li) {
      body.append("order", li.dataset.id);
    });
    fetch(section.dataset.orderUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrf(), "HX-Request": "true" },
      body: body,
      credentials: "same-origin",
    }).then(function (response) {
      return response.ok ? response.text() : Promise.reject(response.status);
    }).then(function (html) {
      section.outerHTML = html;
      var fresh = document.getElementById("criteria-section");
      if (window.htmx && fresh) window.htmx.process(fresh);
    }).catch(function () {
      window.location.reload(); // show the order the server kept
    });
  }

  // After Up/Down, keep the keyboard's focus on the moved row's same button.
  var lastMove = null;
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("form.move button");
    if (button) lastMove = { id: button.closest("li").dataset.id, dir: button.value };
  });
  // htmx:load fires on the new section (an outerHTML swap leaves the old one detached, and
  // events on it never reach the document).
  document.addEventListener("htmx:load", function (event) {
    if (!lastMove || event.target.id !== "criteria-section") return;
    var row = document.querySelector('#criteria-list li[data-id="' + lastMove.id + '"]');
    var again = row && row.querySelector('button[value="' + lastMove.dir + '"]');
    var other = row && row.querySelector("form.move button:not([disabled])");
    var target = again && !again.disabled ? again : other;
    if (target) target.focus();
    lastMove = null;
  });

  // Formset rows: "Add an option" / "Add an interval" copy the empty form.
  function addRow(button) {
    var prefix = button.dataset.prefix;
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var template = document.getElementById(
      button.dataset.template || (prefix === "options" ? "option-template" : "hours-template"));
    var rows = document.getElementById(
      button.dataset.rows || (prefix === "options" ? "option-rows" : "hours-rows"));
    if (!total || !template || !rows) return;
    var html = template.innerHTML.replace(/__prefix__/g, total.value);
    rows.insertAdjacentHTML("beforeend", html);
    total.value = String(Number(total.value) + 1);
    var first = rows.lastElementChild && rows.lastElementChild.querySelector("input, select");
    if (first) first.focus();
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("#add-option, #add-hours, #add-extension");
    if (button) addRow(button);
  });

  // The criterion form shows the part that fits the chosen kind.
  function showKind() {
    var kind = document.getElementById("id_kind");
    if (!kind) return;
    document.querySelectorAll("fieldset[data-kind]").forEach(function (set) {
      set.hidden = set.dataset.kind !== kind.value;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.id === "id_kind") showKind();
  });

  // Copy buttons for the intake URL and key.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) return;
    var input = document.getElementById(button.dataset.copy);
    input.select();
    var done = function () {
      var text = button.textContent;
      button.textContent = button.dataset.copiedText;
      setTimeout(function () { button.textContent = text; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {});
    } else if (document.execCommand("copy")) {
      done();
    }
  });

  document.addEventListener("submit", function (event) {
    var message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  showKind();
})();
