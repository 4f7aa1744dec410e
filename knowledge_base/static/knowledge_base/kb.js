// "Insert link / excerpt" from the KB panel straight into the reply box. Without JavaScript the same buttons are
// links to a page with a pre-filled reply form, so nothing depends on this file.
(function () {
  if (window.kbInsertReady) return;
  window.kbInsertReady = true;
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-kb-insert]");
    if (!button) return;
    var box = document.querySelector(".reply-form textarea[name=body]");
    if (!box) return; // no reply box on this page: follow the link instead
    event.preventDefault();
    var url = button.dataset.kbUrl;
    var text = button.dataset.kbInsert === "excerpt"
      ? button.dataset.kbTitle + "\n\n" + button.dataset.kbExcerpt + "\n\nRead the full article: " + url
      : "This article explains it: " + button.dataset.kbTitle + "\n" + url;
    var start = box.selectionStart || box.value.length;
    var before = box.value.slice(0, start);
    var after = box.value.slice(box.selectionEnd || start);
    var sep = before && !before.endsWith("\n") ? "\n\n" : "";
    box.value = before + sep + text + after;
    box.focus();
    box.selectionStart = box.selectionEnd = (before + sep + text).length;
  });
})();
