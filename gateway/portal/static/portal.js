/* Small progressive enhancements; every page works without them. */
(function () {
  "use strict";

  function fold(text) {
    return text.replace(/đ/g, "d").replace(/Đ/g, "D").normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  // Ward search: typing filters the list of wards (accents optional).
  document.querySelectorAll("[data-filter-for]").forEach(function (input) {
    var select = document.getElementById(input.getAttribute("data-filter-for"));
    if (!select) { return; }
    input.addEventListener("input", function () {
      var wanted = fold(input.value.trim());
      var first = null;
      Array.prototype.forEach.call(select.options, function (option) {
        var shown = !wanted || option.getAttribute("data-key").indexOf(wanted) !== -1;
        option.hidden = !shown;
        if (shown && !first) { first = option; }
      });
      if (first && (select.selectedIndex < 0 || select.options[select.selectedIndex].hidden)) {
        first.selected = true;
      }
    });
  });

  // Offer countdown: days, hours, minutes and seconds left, updated every second.
  document.querySelectorAll("[data-deadline]").forEach(function (box) {
    var due = Date.parse(box.getAttribute("data-deadline"));
    var out = box.querySelector(".remaining");
    if (isNaN(due) || !out) { return; }
    function tick() {
      var left = Math.max(0, Math.floor((due - Date.now()) / 1000));
      out.textContent = Math.floor(left / 86400) + " " + box.getAttribute("data-days") + " " +
        Math.floor(left % 86400 / 3600) + " " + box.getAttribute("data-hours") + " " +
        Math.floor(left % 3600 / 60) + " " + box.getAttribute("data-minutes") + " " +
        left % 60 + " " + box.getAttribute("data-seconds");
      if (left > 0) { window.setTimeout(tick, 1000); }
    }
    tick();
  });

  // Move focus to a form's error summary so screen readers announce it.
  var errors = document.getElementById("form-errors");
  if (errors) { errors.focus(); }
})();
