// Wearables trends on the patient chart: draws the chart definitions that
// wearables/charts.py wrote into <script type="application/json" id="wd-chart-data">
// with the vendored Chart.js (loaded on first use from the container's
// data-chartjs-src). No inline script: the strict CSP holds. The data table below
// the charts carries the same values for anyone who can't use a canvas.
(function () {
  "use strict";
  // HTMX re-runs this file each time the tab is swapped in: draw, don't redefine.
  if (window.MahaloWearables) { window.MahaloWearables.renderAll(); return; }

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  var loading = null;

  function parseDate(iso) {
    var p = iso.split("-");
    return new Date(+p[0], +p[1] - 1, +p[2]);
  }
  function shortDate(iso) {
    var d = parseDate(iso);
    return MONTHS[d.getMonth()] + " " + d.getDate();
  }
  function longDate(iso) {
    var d = parseDate(iso);
    return DAYS[d.getDay()] + " " + MONTHS[d.getMonth()] + " " + d.getDate() + ", " + d.getFullYear();
  }
  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function fmt(spec, v) {
    if (v === null || v === undefined) { return "—"; }
    if (spec.format === "duration") {
      var m = Math.round(v * 60);
      return Math.floor(m / 60) + " h " + pad(m % 60) + " min";
    }
    if (spec.format === "count") { return Math.round(v).toLocaleString("en-US"); }
    return v.toFixed(spec.decimals) + " " + spec.unit;
  }
  function axisTick(spec, v) {
    if (spec.format === "duration") { return v + " h"; }
    if (spec.format === "count") { return v >= 1000 ? (v / 1000) + "k" : v; }
    return v;
  }

  function datasetsFor(spec, n) {
    var out = [];
    spec.datasets.forEach(function (ds) {
      var d = { label: ds.label, data: ds.values, wdMeta: ds.meta, wdKey: ds.key, wdMethod: ds.method || "",
                order: 1, spanGaps: false };
      if (ds.style === "bar") {
        d.type = "bar";
        d.backgroundColor = ds.color;
        d.borderWidth = 0;
        d.stack = ds.stack || ds.key;
        d.barPercentage = 0.82;
        d.categoryPercentage = 0.92;
        d.maxBarThickness = 22;
      } else if (ds.style === "points") {
        // The other HRV method: separate markers, never a line joining it to the main series.
        d.type = "line";
        d.showLine = false;
        d.pointStyle = "rectRot";
        d.pointRadius = 4;
        d.pointHoverRadius = 5;
        d.pointBackgroundColor = "#ffffff";
        d.pointBorderColor = ds.color;
        d.pointBorderWidth = 1.75;
        d.borderColor = ds.color;
        d.stack = "wd-" + ds.key;
      } else {
        d.type = "line";
        d.borderColor = ds.color;
        d.backgroundColor = ds.color;
        d.borderWidth = 2;
        // Points stay visible on long ranges so a day between two gaps still shows.
        d.pointRadius = n > 45 ? 1.5 : 2.5;
        d.pointHoverRadius = 4.5;
        d.tension = 0;
        d.stack = "wd-" + ds.key;
      }
      out.push(d);
    });
    if (spec.band) {
      // Upper edge, then lower edge filled up to it ("-1"), then the mean. Each in its
      // own stack so a stacked (sleep) axis never adds them together.
      var common = { type: "line", borderWidth: 0, pointRadius: 0, pointHoverRadius: 0, pointHitRadius: 0,
                     spanGaps: false, order: 5 };
      out.push(Object.assign({}, common, { label: "band-upper", data: spec.band.upper, fill: false,
                                           wdBand: "upper", stack: "wd-band-upper" }));
      out.push(Object.assign({}, common, { label: "Usual range", data: spec.band.lower, fill: "-1",
                                           backgroundColor: spec.band.color, wdBand: "lower",
                                           stack: "wd-band-lower" }));
      out.push(Object.assign({}, common, { label: "band-mean", data: spec.band.mean, fill: false, borderWidth: 1,
                                           borderColor: spec.band.mean_color, borderDash: [3, 3],
                                           wdBand: "mean", stack: "wd-band-mean", order: 4 }));
    }
    return out;
  }

  function configFor(spec) {
    var n = spec.dates.length;
    var hasBars = spec.datasets.some(function (d) { return d.style === "bar"; });
    var stacked = spec.datasets.some(function (d) { return d.stack; });
    return {
      type: hasBars ? "bar" : "line",
      data: { labels: spec.dates, datasets: datasetsFor(spec, n) },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        layout: { padding: { top: 4, right: 4 } },
        scales: {
          x: {
            stacked: stacked,
            offset: true,  // half a day of margin: the first and last points are not on the axis
            grid: { display: false },
            border: { color: "#c5ccd4" },
            ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: n > 45 ? 7 : 8, color: "#5b6673",
                     callback: function (value, index) { return shortDate(spec.dates[index]); } },
          },
          y: {
            stacked: stacked,
            beginAtZero: spec.begin_at_zero,
            grace: "8%",
            grid: { color: "#eef1f4" },
            border: { display: false },
            ticks: { maxTicksLimit: 5, color: "#5b6673", callback: function (v) { return axisTick(spec, v); } },
          },
        },
        plugins: {
          legend: { display: false },  // the HTML legend under the chart is readable and accessible
          tooltip: {
            backgroundColor: "rgba(31, 41, 51, 0.94)",
            padding: 9,
            boxPadding: 4,
            titleFont: { weight: "600" },
            filter: function (item, index, items) {
              var band = item.dataset.wdBand;
              if (item.raw === null || item.raw === undefined) { return false; }
              if (!band) { return true; }
              // The usual range only beside a value it describes: not on a gap, and never
              // next to the other HRV method alone (that would invite a comparison).
              return band === "lower" && items.some(function (it) {
                return !it.dataset.wdBand && it.dataset.wdKey !== "hrv_other" && it.raw !== null && it.raw !== undefined;
              });
            },
            itemSort: function (a, b) { return (a.dataset.wdBand ? 1 : 0) - (b.dataset.wdBand ? 1 : 0); },
            callbacks: {
              title: function (items) { return items.length ? longDate(spec.dates[items[0].dataIndex]) : ""; },
              label: function (item) {
                var ds = item.dataset;
                if (ds.wdBand === "lower") {
                  var i = item.dataIndex;
                  return "Usual range " + fmt(spec, spec.band.lower[i]) + " – " + fmt(spec, spec.band.upper[i]);
                }
                if (ds.wdKey === "hrv_other") { return ds.wdMethod + " (other method): " + fmt(spec, item.raw); }
                return ds.label + ": " + fmt(spec, item.raw);
              },
              footer: function (items) {
                var lines = [];
                var i = items.length ? items[0].dataIndex : -1;
                if (i >= 0 && spec.totals && spec.totals[i] !== null && items.some(function (it) { return it.dataset.stack === "sleep"; })) {
                  var total = "Total " + fmt(spec, spec.totals[i]);
                  if (spec.awake && spec.awake[i] !== null) { total += " · awake " + fmt(spec, spec.awake[i]); }
                  lines.push(total);
                }
                for (var k = 0; k < items.length; k++) {
                  var meta = items[k].dataset.wdMeta && items[k].dataset.wdMeta[items[k].dataIndex];
                  if (meta) {
                    lines.push("Source: " + meta[0] + (meta[1] && meta[1] !== meta[0] ? " · " + meta[1] : ""));
                    break;
                  }
                }
                return lines;
              },
            },
          },
        },
      },
    };
  }

  function withChartJs(root, done) {
    if (window.Chart) { done(); return; }
    if (!loading) {
      loading = [];
      var s = document.createElement("script");
      s.src = root.getAttribute("data-chartjs-src");
      s.onload = function () {
        var waiting = loading;
        loading = null;
        waiting.forEach(function (fn) { fn(); });
      };
      document.head.appendChild(s);
    }
    loading.push(done);
  }

  function renderAll() {
    var root = document.getElementById("wearables");
    var data = document.getElementById("wd-chart-data");
    if (!root || !data) { return; }
    withChartJs(root, function () {
      var Chart = window.Chart;
      // Charts whose canvas an HTMX swap removed would otherwise stay in memory.
      Object.keys(Chart.instances).forEach(function (id) {
        var c = Chart.instances[id];
        if (c && (!c.canvas || !c.canvas.isConnected)) { c.destroy(); }
      });
      Chart.defaults.font.family = window.getComputedStyle(document.body).fontFamily;
      Chart.defaults.font.size = 12;
      Chart.defaults.color = "#5b6673";
      var specs = {};
      JSON.parse(data.textContent).forEach(function (spec) { specs[spec.key] = spec; });
      root.querySelectorAll("canvas[data-wd-chart]").forEach(function (canvas) {
        var spec = specs[canvas.getAttribute("data-wd-chart")];
        if (spec && !Chart.getChart(canvas)) { new Chart(canvas, configFor(spec)); }
      });
    });
  }

  window.MahaloWearables = { renderAll: renderAll, configFor: configFor };
  document.addEventListener("htmx:afterSettle", renderAll);
  document.addEventListener("htmx:historyRestore", renderAll);
  renderAll();
})();
