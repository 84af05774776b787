(function () {
  "use strict";
  var form = document.getElementById("search");
  var input = document.getElementById("q");
  var count = document.getElementById("count");
  var items = Array.prototype.slice.call(document.querySelectorAll("#results li"));
  function apply() {
    var terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    items.forEach(function (li) {
      var text = li.getAttribute("data-text");
      var hit = terms.every(function (t) { return text.indexOf(t) !== -1; });
      li.hidden = !hit;
      if (hit) shown += 1;
    });
    count.textContent = terms.length
      ? shown + " of " + items.length + " entries match."
      : items.length + " entries.";
  }
  form.hidden = false;
  form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
  input.addEventListener("input", apply);
  var q = new URLSearchParams(window.location.search).get("q");
  if (q) input.value = q;
  apply();
})();
