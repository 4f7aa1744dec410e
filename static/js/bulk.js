// Queue selection for bulk actions. Progressive enhancement only: without it each row's checkbox still submits with
// the bulk form; this adds "select the whole page" and a live count of the ticked rows.
(function () {
  "use strict";

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("input.bulk-row"));
  }

  function refresh() {
    var ticked = rows().filter(function (box) { return box.checked; }).length;
    var all = document.querySelector("input.bulk-all");
    if (all) {
      all.hidden = false;
      all.checked = ticked > 0 && ticked === rows().length;
      all.indeterminate = ticked > 0 && ticked < rows().length;
    }
    var count = document.querySelector("[data-bulk-count]");
    if (count) {
      // The words come from the page, in the reader's language ({count} stands for the number).
      var some = count.getAttribute("data-some") || "{count} selected ·";
      var none = count.getAttribute("data-none") || "Tick tickets to act on them, or";
      count.textContent = ticked ? some.replace("{count}", ticked) : none;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("input.bulk-all")) {
      rows().forEach(function (box) { box.checked = target.checked; });
    }
    if (target.matches && (target.matches("input.bulk-all") || target.matches("input.bulk-row"))) {
      refresh();
    }
  });
  document.addEventListener("htmx:afterSwap", refresh);
  document.addEventListener("DOMContentLoaded", refresh);
})();
