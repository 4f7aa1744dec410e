// Live chat (templates/chat/): "typing…" both ways, the workspace's way (static/js/live.js): an ordinary POST when
// typing starts, at most every 4 s per chat while it goes on. Both sides learn of the other's typing by push: their
// log refreshes on the "chat" frame, below (the customer's stream carries their own chat's bare frames).
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
  // (on the customer's page too).
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

  // A frame that arrives while a chat's log or composer request is in flight (or while its answer is being swapped
  // in) can find no listener on the log; so when a log settles, look once more if a frame for that chat came after
  // the request left.
  var frameAt = {};
  var sentAt = {};
  function chatOf(el) {
    var match = el && el.id && /^chat-(?:log|composer)-(\d+)$/.exec(el.id);
    return match ? match[1] : null;
  }
  // A "chat" frame refreshes that chat's log only, found by id when the frame is handled (htmx's own "from:body"
  // listener belongs to one element and is gone while a swap replaces it).
  document.body.addEventListener("live-chat", function (event) {
    var chat = event.detail && event.detail.chat;
    if (!chat) return;
    frameAt[chat] = Date.now();
    window.setTimeout(function () {
      var box = document.getElementById("chat-log-" + chat);
      if (box && box.matches("[hx-trigger*='chat-recheck']")) box.dispatchEvent(new CustomEvent("chat-recheck"));
    }, 30);
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var chat = chatOf(event.detail && event.detail.elt);
    if (chat) sentAt[chat] = Date.now();
  });
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll(".chat-log-wrap[hx-trigger*='chat-recheck']").forEach(function (box) {
      var chat = chatOf(box);
      if (chat && frameAt[chat] && sentAt[chat] && frameAt[chat] >= sentAt[chat]) {
        sentAt[chat] = Date.now();
        box.dispatchEvent(new CustomEvent("chat-recheck"));
      }
    });
  });
  document.addEventListener("DOMContentLoaded", recheckLater);
})();
