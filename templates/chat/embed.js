/* Escalation Helpdesk live chat launcher (our own code, no third party). Paste on your site:
   <script src="…/chat/embed.js" data-label="Chat with us" async></script>
   It adds a "Chat with us" button that opens our chat in a frame, on sites allowed by the helpdesk's
   CHAT_EMBED_ALLOWED_ORIGINS; elsewhere it does nothing (and the frame would be refused anyway). */
(function () {
  "use strict";
  var config = {{ config|safe }};
  var script = document.currentScript;
  var here = window.location.origin;
  if (here !== config.self && config.origins.indexOf(here) === -1) {
    if (window.console) { window.console.warn("Helpdesk chat: " + here + " is not allowed to embed the chat."); }
    return;
  }
  var label = (script && script.getAttribute("data-label")) || "Chat with us";
  var side = script && script.getAttribute("data-position") === "left" ? "left" : "right";

  function css(element, rules) {
    for (var name in rules) { element.style[name] = rules[name]; }
  }

  function mount() {
    if (document.getElementById("hd-chat-launcher")) { return; }
    var button = document.createElement("button");
    button.id = "hd-chat-launcher";
    button.type = "button";
    button.textContent = label;
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", "hd-chat-frame");
    css(button, {position: "fixed", bottom: "16px", zIndex: "2147483000", padding: "12px 18px", border: "0",
      borderRadius: "999px", background: "#1f4e8c", color: "#fff", font: "600 15px/1.2 system-ui, sans-serif",
      cursor: "pointer", boxShadow: "0 4px 14px rgba(0,0,0,.25)"});
    button.style[side] = "16px";
    var frame = null;
    button.addEventListener("click", function () {
      if (frame === null) {
        frame = document.createElement("iframe");
        frame.id = "hd-chat-frame";
        frame.title = label;
        frame.src = config.widget + "?origin=" + encodeURIComponent(here);
        css(frame, {position: "fixed", bottom: "72px", zIndex: "2147483000", width: "min(380px, calc(100vw - 24px))",
          height: "min(560px, calc(100vh - 96px))", border: "1px solid #c9d2de", borderRadius: "12px",
          background: "#fff", boxShadow: "0 8px 28px rgba(0,0,0,.25)"});
        frame.style[side] = "12px";
        document.body.appendChild(frame);
      } else {
        frame.hidden = !frame.hidden;
      }
      button.setAttribute("aria-expanded", frame.hidden ? "false" : "true");
    });
    document.body.appendChild(button);
  }

  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
