// Vitals trends on the patient chart, and the reading-entry form's unit/field switching
// (chart and portal). Chart definitions come from clinical/vitals_charts.py through
// <script type="application/json" id="vt-chart-data">; Chart.js is the vendored copy,
// loaded on first use from the container's data-chartjs-src. No inline script (CSP).
// Times arrive as the program's local wall clock in ms "as if UTC": format with getUTC*.
(function () {
  "use strict";
  // HTMX re-runs this file each time the tab is swapped in: draw, don't redefine.
  if (window.MahaloVitals) { window.MahaloVitals.refresh(); return; }

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var loading = null;

  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function shortDate(ms) { var d = new Date(ms); return MONTHS[d.getUTCMonth()] + " " + d.getUTCDate(); }
  function longDate(ms) {
    var d = new Date(ms);
    return MONTHS[d.getUTCMonth()] + " " + d.getUTCDate() + ", " + d.getUTCFullYear() + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }

  // Reference areas (the published tables' bands) and threshold lines, under the data.
  var referencePlugin = {
    id: "vtReference",
    beforeDatasetsDraw: function (chart) {
      var spec = chart.config.options.vtSpec;
      if (!spec) { return; }
      var area = chart.chartArea, y = chart.scales.y, ctx = chart.ctx;
      ctx.save();
      (spec.bands || []).forEach(function (b) {
        var top = b.to === null ? area.top : Math.max(area.top, y.getPixelForValue(b.to));
        var bottom = b.from === null ? area.bottom : Math.min(area.bottom, y.getPixelForValue(b.from));
        if (bottom <= top) { return; }
        ctx.fillStyle = b.color;
        ctx.fillRect(area.left, top, area.right - area.left, bottom - top);
      });
      (spec.lines || []).forEach(function (l) {
        var py = y.getPixelForValue(l.y);
        if (py < area.top || py > area.bottom) { return; }
        ctx.strokeStyle = l.color;
        ctx.globalAlpha = 0.55;
        ctx.setLineDash([4, 4]);
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(area.left, py);
        ctx.lineTo(area.right, py);
        ctx.stroke();
      });
      ctx.restore();
    },
  };

  function configFor(spec) {
    var datasets = spec.datasets.map(function (ds) {
      var many = ds.points.length > 60;
      return {
        label: ds.label,
        data: ds.points.map(function (p) { return { x: p.x, y: p.y }; }),
        vtPoints: ds.points,
        yAxisID: ds.axis === "y2" ? "y2" : "y",
        borderColor: ds.color,
        backgroundColor: ds.color,
        borderWidth: 1.5,
        borderDash: ds.dash ? [5, 4] : [],
        tension: 0,
        pointRadius: ds.points.map(function (p) { return p.hollow ? 4 : (many ? 2.5 : 3.5); }),
        pointHoverRadius: 6,
        pointBackgroundColor: ds.points.map(function (p) { return p.hollow ? "#ffffff" : p.c; }),
        pointBorderColor: ds.points.map(function (p) { return p.c; }),
        pointBorderWidth: ds.points.map(function (p) { return p.hollow ? 2 : 1; }),
      };
    });
    var scales = {
      x: {
        type: "linear",
        min: spec.x_min,
        max: spec.x_max,
        grid: { display: false },
        border: { color: "#c5ccd4" },
        ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 7, color: "#5b6673",
                 callback: function (v) { return shortDate(v); } },
      },
      y: {
        grace: "10%",
        grid: { color: "#eef1f4" },
        border: { display: false },
        ticks: { maxTicksLimit: 6, color: "#5b6673" },
        title: { display: !!spec.y2, text: spec.unit, color: "#5b6673" },
      },
    };
    if (spec.y2) {
      scales.y2 = { position: "right", grace: "10%", grid: { display: false }, border: { display: false },
                    ticks: { maxTicksLimit: 6, color: "#5b6673" },
                    title: { display: true, text: spec.y2.label, color: "#5b6673" } };
    }
    return {
      type: "line",
      data: { datasets: datasets },
      plugins: [referencePlugin],
      options: {
        vtSpec: spec,
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: true,
        interaction: { mode: "nearest", intersect: false, axis: "x" },
        scales: scales,
        plugins: {
          legend: { display: false },  // the HTML legend under the chart is readable and accessible
          tooltip: {
            backgroundColor: "rgba(31, 41, 51, 0.94)",
            padding: 9,
            titleFont: { weight: "600" },
            callbacks: {
              title: function (items) { return items.length ? longDate(items[0].raw.x) : ""; },
              label: function (item) {
                return item.dataset.label + ": " + item.raw.y + (spec.y2 && item.dataset.yAxisID === "y2" ? "" : " " + spec.unit);
              },
              afterLabel: function (item) {
                var p = item.dataset.vtPoints[item.dataIndex];
                var lines = [];
                if (p && p.t) { lines.push(p.t); }
                if (p && p.e) { lines.push(p.e); }
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
      s.onload = function () { var waiting = loading; loading = null; waiting.forEach(function (fn) { fn(); }); };
      document.head.appendChild(s);
    }
    loading.push(done);
  }

  function renderCharts() {
    var root = document.getElementById("vitals");
    var data = document.getElementById("vt-chart-data");
    if (!root || !data) { return; }
    withChartJs(root, function () {
      var Chart = window.Chart;
      Object.keys(Chart.instances).forEach(function (id) {
        var c = Chart.instances[id];
        if (c && (!c.canvas || !c.canvas.isConnected)) { c.destroy(); }
      });
      Chart.defaults.font.family = window.getComputedStyle(document.body).fontFamily;
      Chart.defaults.font.size = 12;
      var specs = {};
      JSON.parse(data.textContent).forEach(function (spec) { specs[spec.key] = spec; });
      root.querySelectorAll("canvas[data-vt-chart]").forEach(function (canvas) {
        var spec = specs[canvas.getAttribute("data-vt-chart")];
        if (spec && !spec.empty && !Chart.getChart(canvas)) { new Chart(canvas, configFor(spec)); }
      });
    });
  }

  // --- The entry form: only the chosen measurement's units and fields --------------------
  function unitMap() {
    var el = document.getElementById("vt-unit-map");
    return el ? JSON.parse(el.textContent) : {};
  }

  function syncForm(form) {
    var metric = form.querySelector("select[name=metric]");
    if (!metric) { return; }
    var m = metric.value, allowed = unitMap()[m] || [];
    var unit = form.querySelector("select[name=unit]");
    if (unit) {
      Array.prototype.forEach.call(unit.options, function (o) {
        var ok = allowed.indexOf(o.value) >= 0;
        o.hidden = !ok;
        o.disabled = !ok;
      });
      if (allowed.indexOf(unit.value) < 0 && allowed.length) { unit.value = allowed[0]; }
    }
    var show = { value2: m === "blood_pressure", setting: m === "blood_pressure", glucose_context: m === "glucose" };
    Object.keys(show).forEach(function (name) {
      var wrap = form.querySelector("[data-vt-field=" + name + "]");
      if (wrap) { wrap.hidden = !show[name]; }
    });
    var valueLabel = form.querySelector("[data-vt-field=value] label");
    if (valueLabel) { valueLabel.textContent = m === "blood_pressure" ? "Systolic" : "Value"; }
  }

  function syncAll() {
    document.querySelectorAll("form[data-vt-form]").forEach(syncForm);
  }

  function refresh() { renderCharts(); syncAll(); }

  document.addEventListener("change", function (e) {
    if (e.target && e.target.name === "metric" && e.target.form && e.target.form.hasAttribute("data-vt-form")) {
      syncForm(e.target.form);
    }
  });
  document.addEventListener("htmx:afterSettle", refresh);
  document.addEventListener("htmx:historyRestore", refresh);
  window.MahaloVitals = { refresh: refresh, configFor: configFor };
  refresh();
})();
