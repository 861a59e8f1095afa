/* 校务 — page behaviour without inline script (CSP script-src 'self').
 * Charts: any element with data-chart="<id of a json_script block>" is drawn with ECharts. */
(function () {
  "use strict";

  function drawCharts(root) {
    if (typeof window.echarts === "undefined") { return; }
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.dataset.chart);
      if (!source || el.dataset.drawn) { return; }
      var option = JSON.parse(source.textContent);
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(option);
      el.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  function bindConfirm(root) {
    root.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
      });
    });
  }

  /* Tables with data-sortable: a click on a <th data-sort="num|text"> header sorts the rows of
   * the first <tbody> by that column (again: reversed). A cell's data-sort-value, when present,
   * is what is compared; empty values always go last. */
  function sortKey(cell, numeric) {
    if (!cell) { return null; }
    var raw = cell.hasAttribute("data-sort-value") ? cell.getAttribute("data-sort-value") : cell.textContent;
    raw = (raw || "").trim();
    if (raw === "" || raw === "—") { return null; }
    if (numeric) {
      var number = parseFloat(raw.replace(/[,%]/g, ""));
      return isNaN(number) ? null : number;
    }
    return raw;
  }

  function bindSortable(root) {
    root.querySelectorAll("table[data-sortable]").forEach(function (table) {
      if (table.dataset.sortBound) { return; }
      table.dataset.sortBound = "1";
      var headers = table.querySelectorAll("thead th[data-sort]");
      headers.forEach(function (th) {
        th.setAttribute("role", "button");
        th.setAttribute("tabindex", "0");
        th.classList.add("xw-sortable");
        function sortBy() {
          var body = table.tBodies[0];
          if (!body) { return; }
          var index = Array.prototype.indexOf.call(th.parentNode.children, th);
          var numeric = th.dataset.sort === "num";
          var ascending = th.getAttribute("aria-sort") !== "ascending";
          if (th.getAttribute("aria-sort") === null) { ascending = !numeric; }
          var rows = Array.prototype.slice.call(body.rows);
          rows.sort(function (a, b) {
            var x = sortKey(a.cells[index], numeric), y = sortKey(b.cells[index], numeric);
            if (x === null && y === null) { return 0; }
            if (x === null) { return 1; }
            if (y === null) { return -1; }
            var order = numeric ? x - y : String(x).localeCompare(String(y), "zh-CN");
            return ascending ? order : -order;
          });
          rows.forEach(function (row) { body.appendChild(row); });
          headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
          th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        }
        th.addEventListener("click", sortBy);
        th.addEventListener("keydown", function (event) {
          if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(); }
        });
      });
    });
  }

  function init(root) { drawCharts(root); bindConfirm(root); bindSortable(root); }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.body.addEventListener("htmx:afterSwap", function (event) { init(event.target); });
})();
