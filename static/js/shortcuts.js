/* Keyboard shortcuts, shared by the queue and the workspace.

   Contract: an element with data-shortcut="<key>" answers that key: a button or link is
   clicked, an <option> is selected in its <select>, any other field gets the focus. A
   disabled or hidden element is skipped. "?" opens the help (the <dialog id="shortcuts-help">
   of templates/leads/shortcuts_help.html), as does any element with data-shortcuts-help.
   Keys never fire while the user types in a field, nor with Ctrl, Alt or Meta held. */
(function () {
  "use strict";

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName;
    if (target.isContentEditable) return true;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return false;
    var type = (target.getAttribute("type") || "text").toLowerCase();
    return ["checkbox", "radio", "button", "submit", "reset"].indexOf(type) === -1;
  }

  function usable(el) {
    return !el.disabled && !el.closest("[disabled], [hidden]") && el.getClientRects().length > 0;
  }

  function openHelp() {
    var dialog = document.getElementById("shortcuts-help");
    if (!dialog) return;
    if (dialog.open) dialog.close();
    else dialog.showModal();
  }

  function act(el) {
    if (el.tagName === "OPTION") {
      var select = el.closest("select");
      if (!select || select.disabled) return;
      select.value = el.value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      return;
    }
    if (el.tagName === "SELECT" || el.tagName === "TEXTAREA" ||
        (el.tagName === "INPUT" && !/^(button|submit|checkbox|radio)$/i.test(el.type))) {
      el.focus();
      return;
    }
    el.click();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || event.defaultPrevented) return;
    if (typing(event.target)) return;
    if (event.key === "?") {
      event.preventDefault();
      openHelp();
      return;
    }
    var dialog = document.getElementById("shortcuts-help");
    if (dialog && dialog.open) return; // Esc closes it; nothing else acts behind it
    var key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    var all = document.querySelectorAll('[data-shortcut="' + key.replace(/["\\]/g, "") + '"]');
    for (var i = 0; i < all.length; i++) {
      var el = all[i];
      if (el.tagName === "OPTION" ? !el.closest("select").disabled : usable(el)) {
        event.preventDefault();
        act(el);
        return;
      }
    }
  });

  document.addEventListener("click", function (event) {
    var trigger = event.target.closest && event.target.closest("[data-shortcuts-help]");
    if (trigger) {
      event.preventDefault();
      openHelp();
    }
    var close = event.target.closest && event.target.closest("[data-shortcuts-close]");
    if (close) document.getElementById("shortcuts-help").close();
  });
})();
