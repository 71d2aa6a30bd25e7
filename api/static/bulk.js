// Bulk edit (/my-org/bulk): "select all on the page" as a button that checks (or, when all are checked, unchecks)
// every row's checkbox; without JavaScript the link beside it reloads the page with every row checked.
(function () {
  "use strict";
  function ready() {
    var field = document.getElementById("field");
    if (field && field.form) field.addEventListener("change", function () { if (field.value) field.form.submit(); });
    var button = document.getElementById("select-all");
    var link = document.getElementById("select-all-link");
    var table = document.getElementById("bulk-items");
    if (!button || !table) return;
    var boxes = table.querySelectorAll('input[type="checkbox"][name="ref"]');
    button.hidden = false;
    if (link) link.hidden = true;
    button.addEventListener("click", function () {
      var all = Array.prototype.every.call(boxes, function (b) { return b.checked; });
      Array.prototype.forEach.call(boxes, function (b) { b.checked = !all; });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
