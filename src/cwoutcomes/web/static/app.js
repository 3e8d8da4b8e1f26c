// Draws every chart whose Vega-Lite spec sits in a <script type="application/json" data-chart>
// block, on first load and after htmx swaps a page in. Expressions run through
// vega-interpreter so the Content-Security-Policy needs no unsafe-eval.
(function () {
  "use strict";
  function draw() {
    if (typeof vegaEmbed === "undefined") return;
    document.querySelectorAll('script[type="application/json"][data-chart]').forEach(function (block) {
      var target = document.getElementById(block.getAttribute("data-chart"));
      if (!target || target.getAttribute("data-drawn")) return;
      target.setAttribute("data-drawn", "1");
      var options = {actions: false, renderer: "svg", defaultStyle: false, ast: true,
                     expr: vegaInterpreter.expressionInterpreter};
      vegaEmbed(target, JSON.parse(block.textContent), options).then(function () {
        target.setAttribute("data-ready", "1");
      }).catch(function (error) {
        target.textContent = "The chart could not be drawn (" + error.message + "); the table has the numbers.";
      });
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
