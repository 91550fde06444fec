(function () {
  "use strict";
  // charts: each .chart has its Plotly spec in a JSON script beside it
  document.querySelectorAll(".chart").forEach(function (div) {
    var spec = JSON.parse(document.getElementById(div.id + "-spec").textContent);
    Plotly.newPlot(div, spec.data, spec.layout, {responsive: true, displaylogo: false});
  });

  // the comparison table: sort by clicking a header (numbers as numbers, text as text; blanks last)
  var table = document.getElementById("cmp");
  if (!table) { return; }
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  heads.forEach(function (th, col) {
    th.querySelector("button").addEventListener("click", function () {
      var numeric = th.getAttribute("data-type") === "num";
      var dir = th.getAttribute("aria-sort") === "descending" ? "ascending" : "descending";
      if (!th.hasAttribute("aria-sort") && !numeric) { dir = "ascending"; }
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir);
      var sign = dir === "ascending" ? 1 : -1;
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-v"), y = b.cells[col].getAttribute("data-v");
        if (x === "" || y === "") { return (x === "") - (y === ""); }
        if (numeric) { return (parseFloat(x) - parseFloat(y)) * sign; }
        return x.localeCompare(y) * sign;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  var toggle = document.getElementById("all-columns");
  toggle.addEventListener("change", function () { table.classList.toggle("all", toggle.checked); });
})();
