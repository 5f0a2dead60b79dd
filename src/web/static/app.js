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
// The session form shows only the repetition fields of the kind chosen.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector(".session-form");
  if (!form) return;
  var show = function () {
    var chosen = form.querySelector("input[name=repeat]:checked");
    var kind = chosen ? chosen.value : "once";
    form.querySelectorAll("[data-repeat-for]").forEach(function (part) {
      part.hidden = part.getAttribute("data-repeat-for").split(" ").indexOf(kind) < 0;
    });
    if (kind === "custom") form.querySelector("details.advanced").open = true;
  };
  form.addEventListener("change", function (event) {
    if (event.target.name === "repeat") show();
  });
  show();
});
