// Escalation lists (inbox, review queue): keyboard, row clicks and the accept countdown. Progressive enhancement
// only: without it every row still opens (its <details> toggle), sorts (header links) and acts (its forms).
// No key changes state by itself: "a" opens the accept confirmation and focuses its button, and the POST happens
// only when that button is pressed.
(function () {
  "use strict";

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("tbody.esc-item"));
  }

  function selected() {
    return document.querySelector("tbody.esc-item.is-selected");
  }

  // The words the script writes come from the page, in the reader's language (data-* on #kbd-status).
  function words(name, fallback) {
    var status = document.getElementById("kbd-status");
    return (status && status.dataset[name]) || fallback;
  }

  function say(text) {
    var status = document.getElementById("kbd-status");
    if (status) { status.textContent = text; }
  }

  function select(row) {
    var current = selected();
    if (current) {
      current.classList.remove("is-selected");
      current.querySelector("tr.esc-line").removeAttribute("aria-current");
    }
    row.classList.add("is-selected");
    row.querySelector("tr.esc-line").setAttribute("aria-current", "true");
    var toggle = row.querySelector("details.row-toggle > summary");
    if (toggle) { toggle.focus({ preventScroll: true }); }
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var index = all.indexOf(selected());
    var next = index < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, index + step));
    select(all[next]);
  }

  function setOpen(row, open) {
    var toggle = row.querySelector("details.row-toggle");
    if (toggle) { toggle.open = open; }
  }

  // Opens the row and one of its confirmations; focuses the first thing to fill in, else the confirm button.
  function openAction(row, action) {
    var confirm = row.querySelector('details.confirm[data-action="' + action + '"]');
    if (!confirm) {
      say(action === "accept"
        ? words("cannotAccept", "You cannot accept this escalation from here.")
        : words("cannotFurther", "You cannot escalate further this escalation from here."));
      return;
    }
    setOpen(row, true);
    confirm.open = true;
    var target = confirm.querySelector("textarea, input:not([type=hidden]), select, button[type=submit]");
    if (target) { target.focus(); }
  }

  function isTyping(target) {
    return Boolean(target.closest && target.closest("input, textarea, select, [contenteditable=''], [contenteditable=true]"));
  }

  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) {
      return;
    }
    var row = selected();
    var help = document.getElementById("kbd-help");
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "?": if (help) { help.open = !help.open; } break;
      case "Escape":
        if (help && help.open) { help.open = false; } else if (row) { setOpen(row, false); }
        return;
      case "Enter":
        // A focused link, button or toggle does its own thing; Enter elsewhere opens the selected row.
        if (!row || event.target.closest("a, button, summary")) { return; }
        setOpen(row, !row.querySelector("details.row-toggle").open);
        break;
      case "o": if (row) { window.location.assign(row.dataset.escalationUrl); } break;
      case "a": if (row) { openAction(row, "accept"); } break;
      case "e": if (row) { openAction(row, "further"); } break;
      case "r": if (row) { window.location.assign(row.dataset.replyUrl); } break;
      default: return;
    }
    event.preventDefault();
  }

  // A click anywhere on a line (not on its link or toggle) selects it and opens or closes its dossier.
  function onClick(event) {
    var line = event.target.closest("tr.esc-line");
    if (!line || event.target.closest("a, button, summary, input, select, textarea")) { return; }
    var row = line.closest("tbody.esc-item");
    select(row);
    setOpen(row, !row.querySelector("details.row-toggle").open);
  }

  function countdown(seconds) {
    var over = seconds < 0;
    seconds = Math.abs(Math.round(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    // Seconds only in the last ten minutes, where they matter; the cell keeps its width the rest of the time.
    var text = h ? h + "h " + m + "m" : m >= 10 ? m + "m" : m ? m + "m " + (s < 10 ? "0" : "") + s + "s" : s + "s";
    return (over ? words("over", "{distance} over") : words("left", "{distance} left")).replace("{distance}", text);
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var left = (Date.parse(el.dataset.countdown) - now) / 1000;
      el.textContent = countdown(left);
      el.classList.toggle("sla-breached", left <= 0);
      el.classList.toggle("sla-ok", left > 0);
    });
  }

  document.addEventListener("keydown", onKey);
  document.addEventListener("click", onClick);
  document.addEventListener("focusin", function (event) {
    var row = event.target.closest && event.target.closest("tbody.esc-item");
    if (row && row !== selected()) {
      var current = selected();
      if (current) {
        current.classList.remove("is-selected");
        current.querySelector("tr.esc-line").removeAttribute("aria-current");
      }
      row.classList.add("is-selected");
      row.querySelector("tr.esc-line").setAttribute("aria-current", "true");
    }
  });
  tick();
  window.setInterval(tick, 1000);
})();
