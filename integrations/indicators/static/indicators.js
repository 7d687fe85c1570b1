// The dashboard's charts, drawn by Chart.js (vendored: chartjs/chart.umd.min.js, MIT)
// from the same data as the tables that follow each chart (their text alternative).
(function () {
  "use strict";
  const source = document.getElementById("indicator-charts");
  if (!source || typeof Chart === "undefined") return;
  // Colours with at least 3:1 contrast on white (RGAA 3.3).
  const COLOURS = ["#00508c", "#a4161a", "#1e7b34", "#7a4a00", "#5b2a86", "#2f4f4f"];
  const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#1e1e1e";
  Chart.defaults.locale = "fr-FR";
  if (reduceMotion) Chart.defaults.animation = false;

  for (const chart of JSON.parse(source.textContent)) {
    const canvas = document.querySelector('canvas[data-chart="' + chart.id + '"]');
    if (!canvas) continue;
    const labels = chart.rows.map((row) => String(row[0]));
    // Numeric columns only (a column of names, such as the département, is not drawn).
    const series = chart.columns.slice(1).map((name, i) => ({ name, i: i + 1 }))
      .filter((s) => chart.rows.some((row) => typeof row[s.i] === "number"));
    const datasets = series.map((s, n) => ({
      label: s.name,
      data: chart.rows.map((row) => (typeof row[s.i] === "number" ? row[s.i] : null)),
      backgroundColor: COLOURS[n % COLOURS.length],
      borderColor: COLOURS[n % COLOURS.length],
      borderWidth: chart.type === "line" ? 2 : 0,
    }));
    new Chart(canvas, {
      type: chart.type,
      data: { labels, datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: chart.type === "bar" && labels.length > 6 ? "y" : "x",
        plugins: { legend: { position: "bottom" } },
        scales: { x: { beginAtZero: true }, y: { beginAtZero: true } },
      },
    });
  }
})();
