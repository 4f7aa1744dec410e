// Push to the open screen (helpdesk/live/): one Server-Sent Events stream per page, for staff.
//
// Each frame becomes a DOM event that the page's own markup listens to (htmx triggers), so a screen says what it
// refreshes and this file stays the same for every screen:
//   live-ticket        on <body>, for every ticket the user may see (queue, escalation lists, dashboard panel)
//   live-this-ticket   on each [data-live-ticket="<reference>"] element, for that ticket (the workspace timeline, the
//                      escalation detail page, the customer's ticket page)
//   live-presence      on each [data-live-ticket="<reference>"] element (who else has it open or is typing)
//   live-notification  on <body> (the bell is updated here; the notification list refreshes itself)
//   live-poll          on <body>, every fallback period while push is down, and once when it comes back
// Customers hold a stream too: it carries only bare "this ticket changed" frames of their own tickets, so the portal's
// list and ticket page use the same two events. A part marked [data-live-keep-open] is not replaced while its reader
// is in the middle of something there (a confirmation open, a field focused): the warning says what changed.
// A dropped stream reconnects with back-off (1 s doubling to 30 s) and resumes from the last event id; after the
// first failure a discreet notice says live updates are paused, and "live-poll" keeps the screen current slowly.
(function () {
  "use strict";
  var meta = function (name) {
    var el = document.querySelector('meta[name="' + name + '"]');
    return el ? el.getAttribute("content") : "";
  };
  var streamUrl = meta("live-stream");
  if (!streamUrl || typeof window.EventSource === "undefined") return;
  var me = meta("live-user");
  var viewing = meta("live-ticket");
  var fallbackSeconds = Math.max(30, parseInt(meta("live-fallback-seconds"), 10) || 30);
  var typingUrl = meta("live-typing-url");
  var lastId = "";
  var source = null;
  var delay = 1000;
  var poller = null;
  var up = false;
  var everUp = false;
  var notice = document.getElementById("live-status");

  function fire(target, name, detail) {
    target.dispatchEvent(new CustomEvent(name, { bubbles: false, detail: detail || {} }));
  }

  function forTicket(reference, name, detail) {
    document.querySelectorAll("[data-live-ticket]").forEach(function (el) {
      if (el.getAttribute("data-live-ticket") === reference) fire(el, name, detail);
    });
  }

  function setPaused(paused) {
    if (notice) notice.hidden = !paused;
    if (paused && poller === null) {
      poller = window.setInterval(function () { fire(document.body, "live-poll"); }, fallbackSeconds * 1000);
    } else if (!paused && poller !== null) {
      window.clearInterval(poller);
      poller = null;
    }
  }

  function updateBell(unread) {
    var bell = document.querySelector(".bell");
    if (!bell) return;
    var badge = bell.querySelector(".badge-count");
    if (unread > 0) {
      if (!badge) {
        badge = document.createElement("span");
        badge.className = "badge-count";
        bell.appendChild(badge);
      }
      badge.textContent = String(unread);
    } else if (badge) {
      badge.remove();
    }
    bell.setAttribute("aria-label", "Notifications, " + unread + " unread");
  }

  var WHAT = {
    agent_reply: "replied to the customer", internal_note: "added an internal note", customer_message: "The customer wrote",
    escalated: "escalated it", escalation_accepted: "accepted it", escalation_returned: "returned it with guidance",
    escalation_resolved: "resolved it", status_changed: "changed the ticket's status", compensation: "updated compensation",
    third_party: "opened a vendor case", sla: "recorded an SLA change"
  };

  // A colleague's change on the ticket this page is about: the workspace (its replies and notes, "collision") or an
  // escalation's detail page (its box says data-collision="escalation_change"); never my own.
  function collision(frame) {
    var box = document.getElementById("collision-warning");
    if (!box || String(frame.actor_id) === me) return;
    if (frame.ticket !== (box.getAttribute("data-ticket") || viewing)) return;
    var flag = box.getAttribute("data-collision") || "collision";
    if (!frame[flag]) return;
    // One action writes several events (accepting also changes the status): keep the one that names the action.
    var shownAt = parseInt(box.getAttribute("data-shown-at") || "0", 10);
    if (!box.hidden && Date.now() - shownAt < 3000 && (frame.event === "status_changed" || frame.event === "sla")) return;
    box.setAttribute("data-shown-at", String(Date.now()));
    var when = new Date(frame.at).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false, timeZoneName: "short" });
    var who = frame.event === "customer_message" ? WHAT.customer_message : (frame.actor || (frame.actor_id ? "A colleague" : "The system")) + " " + (WHAT[frame.event] || "updated this ticket");
    var where = flag === "collision" ? "It is in the timeline now: read it before you send." : "This page shows it now: check it before you act.";
    box.textContent = who + " at " + when + " while you had this " + (flag === "collision" ? "ticket" : "escalation") + " open. " + where;
    box.hidden = false;
  }

  function busy(el) {
    if (!el || !el.hasAttribute || !el.hasAttribute("data-live-keep-open")) return false;
    var active = document.activeElement;
    return !!(el.querySelector("details.confirm[open]") || (active && el.contains(active) && /^(TEXTAREA|INPUT|SELECT)$/.test(active.tagName)));
  }
  document.addEventListener("htmx:oobBeforeSwap", function (event) { if (busy(event.detail.target)) event.detail.shouldSwap = false; });
  document.addEventListener("htmx:beforeSwap", function (event) { if (busy(event.detail.target)) event.detail.shouldSwap = false; });

  function emergency(frame) {
    var area = document.getElementById("live-banners");
    if (!area || !frame.emergency || frame.event !== "escalated") return;
    if (area.querySelector('[data-ticket="' + frame.ticket + '"]')) return;
    var banner = document.createElement("div");
    banner.className = "banner banner-emergency";
    banner.setAttribute("role", "alert");
    banner.setAttribute("data-ticket", frame.ticket);
    var link = document.createElement("a");
    link.href = "/tickets/" + encodeURIComponent(frame.ticket) + "/";
    link.textContent = frame.ticket;
    banner.append("Emergency escalation: ", link, " is waiting for a manager to accept.");
    area.appendChild(banner);
  }

  function onFrame(event) {
    if (event.lastEventId) lastId = event.lastEventId;
    var frame;
    try { frame = JSON.parse(event.data); } catch (e) { return; }
    if (frame.kind === "ticket") {
      fire(document.body, "live-ticket", frame);
      forTicket(frame.ticket, "live-this-ticket", frame);
      collision(frame);
      emergency(frame);
    } else if (frame.kind === "presence") {
      forTicket(frame.ticket, "live-presence", frame);
    } else if (frame.kind === "notification") {
      if (typeof frame.unread === "number") updateBell(frame.unread);
      fire(document.body, "live-notification", frame);
    } else if (/^[a-z]+$/.test(frame.kind || "")) {
      fire(document.body, "live-" + frame.kind, frame);  // other apps' kinds, e.g. "call" (the phone's screen pop)
    }
  }

  function connect() {
    var url = streamUrl + "?" + (viewing ? "ticket=" + encodeURIComponent(viewing) + "&" : "") + (lastId ? "last_id=" + encodeURIComponent(lastId) : "");
    source = new EventSource(url);
    source.onmessage = onFrame;
    source.addEventListener("ready", function (event) {
      if (event.lastEventId) lastId = event.lastEventId;
      var wasDown = everUp && !up;
      up = true;
      everUp = true;
      delay = 1000;
      setPaused(false);
      document.documentElement.setAttribute("data-live", "up");
      if (wasDown) fire(document.body, "live-poll");
    });
    source.addEventListener("resync", function (event) {
      if (event.lastEventId) lastId = event.lastEventId;
      fire(document.body, "live-poll");
    });
    source.onerror = function () {
      source.close();
      up = false;
      document.documentElement.setAttribute("data-live", "down");
      setPaused(true);
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  // "Also typing": tell the others when typing starts, at most every 4 s while it goes on.
  var lastTyping = 0;
  document.addEventListener("input", function (event) {
    if (!typingUrl || !event.target.closest || !event.target.closest("[data-live-typing]")) return;
    var now = Date.now();
    if (now - lastTyping < 4000) return;
    lastTyping = now;
    var headers = {};
    try { headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}"); } catch (e) { headers = {}; }
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    fetch(typingUrl, { method: "POST", headers: headers, body: "typing=1", credentials: "same-origin" });
  });

  // Someone typing stops being "typing" a few seconds after their last keystroke: look once more then.
  document.addEventListener("htmx:afterSwap", function (event) {
    var box = event.detail && event.detail.target;
    if (box && box.id === "presence" && box.querySelector("[data-typing]")) {
      window.setTimeout(function () { fire(box, "live-presence"); }, 9000);
    }
  });

  window.addEventListener("pagehide", function () { if (source) source.close(); });
  connect();
})();
