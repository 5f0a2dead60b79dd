// Conveniences only: every page works without this file.
// "Copy" buttons next to a read-only link field copy it to the clipboard.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button || !navigator.clipboard) return;
  var field = document.getElementById(button.getAttribute("data-copy"));
  if (!field) return;
  navigator.clipboard.writeText(field.value).then(function () {
    var done = button.getAttribute("data-done");
    if (done) button.textContent = done;
  });
});
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-copy]").forEach(function (b) { b.hidden = false; });
});
// "Print" buttons.
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) window.print();
});
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (b) { b.hidden = false; });
});
