// Call panel and warm-transfer timers. Progressive enhancement only: every form works without it.
(function () {
  "use strict";
  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-started]").forEach(function (el) {
      el.textContent = clock((now - Date.parse(el.dataset.started)) / 1000);
    });
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var left = (Date.parse(el.dataset.due) - now) / 1000;
      el.textContent = left > 0 ? clock(left) + " left to accept" : "time is up: becoming a callback";
      el.classList.toggle("sla-breached", left <= 0);
    });
  }
  function showPlaybook(select) {
    document.querySelectorAll(".call-playbook").forEach(function (pb) {
      pb.hidden = pb.dataset.type !== select.value;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var select = document.querySelector(".call-form select[name=escalation_type]");
    if (select) {
      select.addEventListener("change", function () { showPlaybook(select); });
      showPlaybook(select);
    }
    tick();
    window.setInterval(tick, 1000);
  });
})();
