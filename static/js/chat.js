// Live chat (templates/chat/): "typing…" both ways, the workspace's way (static/js/live.js): an ordinary POST when
// typing starts, at most every 4 s per chat while it goes on. Staff learn of the customer's typing by push (their
// log refreshes on the "chat" frame); the customer's page reads staff typing on its 3 s poll.
(function () {
  "use strict";
  var last = {};
  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("[data-chat-typing]");
    if (!form) return;
    var url = form.getAttribute("data-chat-typing");
    var now = Date.now();
    if (now - (last[url] || 0) < 4000) return;
    last[url] = now;
    var headers = {};
    try { headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}"); } catch (e) { headers = {}; }
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    fetch(url, { method: "POST", headers: headers, body: "typing=1", credentials: "same-origin" });
  });
  // Sending a message ends "typing" on the server; the next keystroke must say so again at once.
  document.addEventListener("submit", function (event) {
    var url = event.target.getAttribute && event.target.getAttribute("data-chat-typing");
    if (url) delete last[url];
  }, true);
  // A staff log showing someone typing looks once more after the typing window (8 s), so a stale line goes away
  // (the customer's page polls anyway).
  var timers = {};
  function recheckLater() {
    document.querySelectorAll(".chat-log-wrap[hx-trigger*='chat-recheck']").forEach(function (box) {
      if (!box.querySelector("[data-typing]") || timers[box.id]) return;
      timers[box.id] = window.setTimeout(function () {
        delete timers[box.id];
        var current = document.getElementById(box.id);
        if (current) current.dispatchEvent(new CustomEvent("chat-recheck"));
      }, 9000);
    });
  }
  document.addEventListener("htmx:afterSettle", recheckLater);
  document.addEventListener("DOMContentLoaded", recheckLater);
})();
