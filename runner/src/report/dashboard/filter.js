// netdrill dashboard: filter the tables by test name, result and kernel.
// The page reads in full without this script; it only hides rows (and the
// matrix's columns of other kernels). The filter can also come from the
// page's address: page.html?test=tcp_&result=fail&kernel=6.18.0
(function () {
  "use strict";
  var form = document.getElementById("filter");
  if (!form) { return; }
  var test = document.getElementById("f-test");
  var result = document.getElementById("f-result");
  var kernel = document.getElementById("f-kernel");
  var count = document.getElementById("f-count");
  form.hidden = false;

  function has(list, word) {
    return (" " + (list || "") + " ").indexOf(" " + word + " ") >= 0;
  }

  function apply() {
    var q = test.value.trim().toLowerCase();
    var r = result.value;
    var k = kernel.value;
    var shown = 0;
    var rows = document.querySelectorAll("tr[data-test]");
    for (var i = 0; i < rows.length; i++) {
      var tr = rows[i];
      var ok = (!q || tr.getAttribute("data-test").toLowerCase().indexOf(q) >= 0) &&
        (!r || has(tr.getAttribute("data-results"), r));
      tr.hidden = !ok;
      if (ok && tr.closest("#matrix")) { shown++; }
    }
    var heads = document.querySelectorAll("#matrix thead th.run");
    var hide = {};
    for (var h = 0; h < heads.length; h++) {
      var off = !!k && heads[h].getAttribute("data-kernel") !== k;
      heads[h].hidden = off;
      if (off) { hide[h + 1] = true; }
    }
    var mrows = document.querySelectorAll("#matrix tbody tr");
    for (var m = 0; m < mrows.length; m++) {
      var cells = mrows[m].cells;
      for (var c = 1; c < cells.length; c++) { cells[c].hidden = !!hide[c]; }
    }
    var runs = document.querySelectorAll("[data-run-kernel]");
    for (var j = 0; j < runs.length; j++) {
      runs[j].hidden = !!k && runs[j].getAttribute("data-run-kernel") !== k;
    }
    count.textContent = shown + " tests in the matrix";
  }

  var params = new URLSearchParams(window.location.search);
  if (params.get("test")) { test.value = params.get("test"); }
  if (params.get("result")) { result.value = params.get("result"); }
  if (params.get("kernel")) { kernel.value = params.get("kernel"); }
  test.addEventListener("input", apply);
  result.addEventListener("change", apply);
  kernel.addEventListener("change", apply);
  form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
  apply();
})();
