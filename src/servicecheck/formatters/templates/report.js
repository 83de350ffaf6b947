/* servicecheck report: filters and sortable tables. The page reads the same without it. */
(function () {
  "use strict";
  var doc = document;
  var bar = doc.getElementById("filters");
  var items = Array.prototype.slice.call(doc.querySelectorAll("[data-status]"));
  function value(id) { var el = doc.getElementById(id); return el ? el.value : ""; }
  function has(list, word) { return (" " + (list || "") + " ").indexOf(" " + word + " ") >= 0; }
  function keep(el) {
    var policy = value("f-policy"), severity = value("f-severity"), status = value("f-status"), group = value("f-group");
    var d = el.dataset;
    if (severity && !has(d.sev, severity)) { return false; }
    if (group && d.group !== group) { return false; }
    if (policy) {
      if (status) { return has(d[status], policy); }
      return has(d.fail, policy) || has(d.pass, policy);
    }
    if (status === "fail" || status === "pass") { return d.status === status; }
    if (status === "na") { return !d.fail && !d.pass; }
    return true;
  }
  function apply() {
    var shown = 0;
    items.forEach(function (el) {
      var ok = keep(el);
      el.hidden = !ok;
      if (ok && el.tagName === "TR") { shown += 1; }
    });
    var out = doc.getElementById("f-count");
    if (out) { out.textContent = out.dataset.template.replace("{n}", String(shown)); }
  }
  if (bar) {
    /* A link may carry a filter: report.html#f:policy=p2&severity=error&group=alice */
    if (location.hash.indexOf("#f:") === 0) {
      location.hash.slice(3).split("&").forEach(function (pair) {
        var kv = pair.split("="), el = doc.getElementById("f-" + kv[0]);
        if (el && kv.length === 2) { el.value = decodeURIComponent(kv[1]); }
      });
    }
    bar.hidden = false;
    bar.addEventListener("change", apply);
    bar.addEventListener("reset", function () { setTimeout(apply, 0); });
    apply();
  }
  function cell(row, i) {
    var c = row.cells[i];
    if (!c) { return ""; }
    return c.dataset.sort !== undefined ? c.dataset.sort : c.textContent.trim();
  }
  Array.prototype.forEach.call(doc.querySelectorAll("table.sortable"), function (table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, i) {
      th.tabIndex = 0;
      th.classList.add("sort");
      function sort() {
        var up = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cell(a, i), y = cell(b, i), nx = parseFloat(x), ny = parseFloat(y), r;
          if (!isNaN(nx) && !isNaN(ny) && String(nx) === x.replace(/\.0+$/, "") && String(ny) === y.replace(/\.0+$/, "")) {
            r = nx - ny;
          } else {
            r = x.localeCompare(y);
          }
          return up ? r : -r;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
    });
  });
}());
