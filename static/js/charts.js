// The one chart stack: draws every chart spec on the page (mahalo/charts.py writes them,
// templates/_chart.html puts each in a <script type="application/json"> beside its canvas)
// with the vendored Chart.js, loaded once on first use from the canvas's data-chartjs-src.
// Every option is set per chart: Chart.defaults is never touched, so one tab can never
// restyle another's charts. No inline script (the CSP forbids it).
// x values are the program's local wall clock ("2025-05-01" or "2025-05-01T08:30"): they
// become milliseconds "as if UTC" and are formatted with getUTC*, so the viewer's own time
// zone never moves a reading to another day.
(function () {
  "use strict";
  // HTMX re-runs this file each time a tab is swapped in: draw, don't redefine.
  if (window.MahaloCharts) { window.MahaloCharts.refresh(); return; }

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  var DAY_MS = 86400000;
  // Axis text and grid: the page's muted text colour (4.5:1 on white) and hairlines.
  var AXIS_TEXT = "#5b6673", AXIS_LINE = "#c5ccd4", GRID = "#eef1f4", TOOLTIP_BG = "rgba(31, 41, 51, 0.94)";
  var loading = null;

  // --- dates and numbers -------------------------------------------------------------------
  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function wallClock(iso) {
    var p = iso.split(/[-T:]/);
    return Date.UTC(+p[0], +p[1] - 1, +p[2], +(p[3] || 0), +(p[4] || 0));
  }
  function isoDay(ms) { var d = new Date(ms); return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()); }
  function shortDate(ms) { var d = new Date(ms); return MONTHS[d.getUTCMonth()] + " " + d.getUTCDate(); }
  function dayTitle(ms) { var d = new Date(ms); return DAYS[d.getUTCDay()] + " " + shortDate(ms) + ", " + d.getUTCFullYear(); }
  function timeTitle(ms) {
    var d = new Date(ms);
    return shortDate(ms) + ", " + d.getUTCFullYear() + " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }
  function dayLabels(min, max) {
    var out = [];
    for (var t = wallClock(min), end = wallClock(max); t <= end; t += DAY_MS) { out.push(isoDay(t)); }
    return out;
  }
  function fmt(axis, v, withUnit) {
    if (v === null || v === undefined) { return "—"; }
    if (axis.format === "duration") {
      var m = Math.round(v * 60);
      return Math.floor(m / 60) + " h " + pad(m % 60) + " min";
    }
    if (axis.format === "count") { return Math.round(v).toLocaleString("en-US"); }
    return v.toFixed(axis.decimals) + (withUnit && axis.unit ? " " + axis.unit : "");
  }
  function tick(axis, v) {
    if (axis.format === "duration") { return v + " h"; }
    if (axis.format === "count") { return v >= 1000 ? (v / 1000) + "k" : v; }
    return v;
  }

  // --- the spec as rows: one per x slot, whatever the series kind ----------------------------
  // Day charts get a slot for every day of the range (a missing day is a gap); time charts
  // keep each series' own points.
  function slotsFor(spec, s, labels) {
    if (!labels) { return s.points.map(function (p, i) { return { x: p[0], index: i, p: p }; }); }
    var at = {};
    s.points.forEach(function (p, i) { at[p[0]] = i; });
    return labels.map(function (x) {
      var i = at[x] === undefined ? -1 : at[x];
      return { x: x, index: i, p: i < 0 ? null : s.points[i] };
    });
  }
  function valueOf(slot, j) { return slot.p && slot.p[j] !== null && slot.p[j] !== undefined ? slot.p[j] : null; }

  // --- reference bands and threshold lines, under the data (a per-chart plugin) -------------
  function referencePlugin(spec) {
    return {
      id: "mahaloReference",
      beforeDatasetsDraw: function (chart) {
        var area = chart.chartArea, y = chart.scales.y, ctx = chart.ctx;
        ctx.save();
        spec.bands.forEach(function (b) {
          var top = b.high === null ? area.top : Math.max(area.top, y.getPixelForValue(b.high));
          var bottom = b.low === null ? area.bottom : Math.min(area.bottom, y.getPixelForValue(b.low));
          if (bottom <= top) { return; }
          ctx.fillStyle = spec.palette[b.color];
          ctx.fillRect(area.left, top, area.right - area.left, bottom - top);
        });
        spec.thresholds.forEach(function (t) {
          var py = y.getPixelForValue(t.y);
          if (py < area.top || py > area.bottom) { return; }
          ctx.strokeStyle = spec.palette[t.color];
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
  }

  function datasetsFor(spec, labels) {
    var out = [];
    spec.series.forEach(function (s) {
      var colour = spec.palette[s.color];
      var slots = slotsFor(spec, s, labels);
      function data(j) {
        return slots.map(function (slot) {
          return labels ? valueOf(slot, j) : { x: wallClock(slot.x), y: valueOf(slot, j) };
        });
      }
      // Every series in its own stack unless it names one: a stacked axis (sleep stages)
      // must never add a band or a guide line onto the bars.
      var base = { label: s.label, mcSeries: s, mcSlots: slots, yAxisID: s.axis, stack: s.stack || "solo-" + s.key,
                   spanGaps: false, order: 1 };
      if (s.kind === "range") {
        var edge = { type: "line", borderWidth: 0, pointRadius: 0, pointHoverRadius: 0, pointHitRadius: 0, order: 5 };
        out.push(Object.assign({}, base, edge, { label: s.label + " (upper)", data: data(2), fill: false, mcRange: "upper",
                                                 stack: "solo-" + s.key + "-upper" }));
        out.push(Object.assign({}, base, edge, { data: data(1), fill: "-1", backgroundColor: colour, mcRange: "lower" }));
        return;
      }
      if (s.kind === "bar") {
        out.push(Object.assign(base, { type: "bar", data: data(1), backgroundColor: colour, borderWidth: 0,
                                       barPercentage: 0.82, categoryPercentage: 0.92, maxBarThickness: 22 }));
        return;
      }
      if (s.kind === "points") {
        out.push(Object.assign(base, { type: "line", data: data(1), showLine: false, pointStyle: "rectRot",
                                       pointRadius: 4, pointHoverRadius: 5, pointBackgroundColor: "#ffffff",
                                       pointBorderColor: colour, pointBorderWidth: 1.75, borderColor: colour }));
        return;
      }
      if (s.quiet) {
        out.push(Object.assign(base, { type: "line", data: data(1), borderColor: colour, borderWidth: 1,
                                       borderDash: [3, 3], pointRadius: 0, pointHoverRadius: 0, pointHitRadius: 0,
                                       fill: false, order: 4 }));
        return;
      }
      var many = s.points.length > 45;
      function perPoint(fn, plain) {
        if (!s.marks && !s.hollow) { return plain; }
        return slots.map(function (slot) { return slot.index < 0 ? plain : fn(slot.index); });
      }
      function mark(i) { return s.marks ? spec.palette[s.marks[i]] : colour; }
      function hollow(i) { return !!(s.hollow && s.hollow[i]); }
      out.push(Object.assign(base, {
        type: "line", data: data(1), borderColor: colour, backgroundColor: colour, borderWidth: 1.75,
        borderDash: s.dash ? [5, 4] : [], tension: 0,
        // Points stay visible on long ranges so a value between two gaps still shows.
        pointRadius: perPoint(function (i) { return hollow(i) ? 4 : (many ? 2.5 : 3.5); }, many ? 1.75 : 2.75),
        pointHoverRadius: 5.5,
        pointBackgroundColor: perPoint(function (i) { return hollow(i) ? "#ffffff" : mark(i); }, colour),
        pointBorderColor: perPoint(mark, colour),
        pointBorderWidth: perPoint(function (i) { return hollow(i) ? 2 : 1; }, 1),
      }));
    });
    return out;
  }

  function configFor(spec, font) {
    var labels = spec.x.kind === "day" ? dayLabels(spec.x.min, spec.x.max) : null;
    var stacked = spec.series.some(function (s) { return s.stack; });
    var hasBars = spec.series.some(function (s) { return s.kind === "bar"; });
    var small = { family: font, size: 12 };
    function axisOf(ds) { return ds.yAxisID === "y2" ? spec.y2 : spec.y; }
    function slotOf(item) { return item.dataset.mcSlots[item.dataIndex]; }
    function valueAt(item) { return valueOf(slotOf(item), 1); }
    var x = labels ? {
      type: "category", offset: true, stacked: stacked,
      ticks: { maxTicksLimit: labels.length > 45 ? 7 : 8,
               callback: function (v, i) { return shortDate(wallClock(labels[i])); } },
    } : {
      type: "linear", min: wallClock(spec.x.min), max: wallClock(spec.x.max),
      ticks: { maxTicksLimit: 7, callback: function (v) { return shortDate(v); } },
    };
    x.grid = { display: false };
    x.border = { color: AXIS_LINE };
    Object.assign(x.ticks, { maxRotation: 0, autoSkip: true, color: AXIS_TEXT, font: small });
    function yAxis(axis, position) {
      var conf = {
        position: position, stacked: position === "left" && stacked, beginAtZero: axis.begin_at_zero, grace: "8%",
        grid: position === "left" ? { color: GRID } : { display: false }, border: { display: false },
        ticks: { maxTicksLimit: 6, color: AXIS_TEXT, font: small, callback: function (v) { return tick(axis, v); } },
        title: { display: !!axis.label, text: axis.label, color: AXIS_TEXT, font: small },
      };
      if (axis.min !== null) { conf.min = axis.min; }
      if (axis.max !== null) { conf.max = axis.max; }
      return conf;
    }
    var scales = { x: x, y: yAxis(spec.y, "left") };
    if (spec.y2) {
      scales.y2 = yAxis(spec.y2, "right");
      // An empty right axis (no BMI yet) would only show a made-up scale.
      scales.y2.display = spec.series.some(function (s) {
        return s.axis === "y2" && s.points.some(function (p) { return p[1] !== null; });
      });
    }

    return {
      type: hasBars ? "bar" : "line",
      data: labels ? { labels: labels, datasets: datasetsFor(spec, labels) } : { datasets: datasetsFor(spec, null) },
      plugins: [referencePlugin(spec)],
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: labels ? { mode: "index", intersect: false } : { mode: "nearest", intersect: false, axis: "x" },
        layout: { padding: { top: 4, right: 4 } },
        scales: scales,
        plugins: {
          legend: { display: false },  // the HTML legend under the chart is readable and accessible
          tooltip: {
            backgroundColor: TOOLTIP_BG, padding: 9, boxPadding: 4,
            titleFont: { family: font, size: 12, weight: "600" }, bodyFont: small, footerFont: small,
            filter: function (item, index, items) {
              var ds = item.dataset;
              if (ds.mcSeries.quiet || ds.mcRange === "upper" || valueAt(item) === null) { return false; }
              if (!ds.mcRange) { return true; }
              // A usual range only beside a value it describes: not on a gap, and never next
              // to a series it doesn't describe alone (that would invite a comparison).
              return items.some(function (it) {
                return !it.dataset.mcRange && ds.mcSeries.describes.indexOf(it.dataset.mcSeries.key) >= 0 &&
                  valueAt(it) !== null;
              });
            },
            itemSort: function (a, b) { return (a.dataset.mcRange ? 1 : 0) - (b.dataset.mcRange ? 1 : 0); },
            callbacks: {
              title: function (items) {
                if (!items.length) { return ""; }
                var slot = slotOf(items[0]);
                return labels ? dayTitle(wallClock(slot.x)) : timeTitle(wallClock(slot.x));
              },
              label: function (item) {
                var ds = item.dataset, axis = axisOf(ds), slot = slotOf(item);
                if (ds.mcRange) {
                  return ds.mcSeries.label + " " + fmt(axis, valueOf(slot, 1), true) + " – " +
                    fmt(axis, valueOf(slot, 2), true);
                }
                return ds.mcSeries.label + ": " + fmt(axis, valueOf(slot, 1), true);
              },
              afterLabel: function (item) {
                var s = item.dataset.mcSeries, slot = slotOf(item);
                return s.notes && slot.index >= 0 ? s.notes[slot.index] : [];
              },
              footer: function (items) {
                return items.length ? (spec.footers[slotOf(items[0]).x] || []) : [];
              },
            },
          },
        },
      },
    };
  }

  // --- the values as a table, for anyone who can't use the canvas (built when opened) --------
  function valuesTable(spec) {
    var labels = spec.x.kind === "day" ? dayLabels(spec.x.min, spec.x.max) : null;
    var shown = spec.series.filter(function (s) { return !s.quiet; });
    var rows = {}, order = [];
    var measuredFirst = shown.map(function (s, col) { return col; }).sort(function (a, b) {
      return (shown[a].kind === "range") - (shown[b].kind === "range");
    });
    measuredFirst.forEach(function (col) {
      var s = shown[col];
      slotsFor(spec, s, labels).forEach(function (slot) {
        if (valueOf(slot, 1) === null) { return; }
        // A row per x with a measured value; a usual range alone is not a row.
        if (!rows[slot.x]) {
          if (s.kind === "range") { return; }
          rows[slot.x] = [];
          order.push(slot.x);
        }
        var axis = s.axis === "y2" ? spec.y2 : spec.y;
        rows[slot.x][col] = s.kind === "range" ? fmt(axis, valueOf(slot, 1)) + " – " + fmt(axis, valueOf(slot, 2))
          : fmt(axis, valueOf(slot, 1));
      });
    });
    order.sort();
    var table = document.createElement("table");
    table.className = "data chart-values-table";
    var head = table.createTHead().insertRow();
    var th = document.createElement("th");
    th.scope = "col";
    th.textContent = labels ? "Date" : "Time";
    head.appendChild(th);
    shown.forEach(function (s) {
      var h = document.createElement("th");
      var axis = s.axis === "y2" ? spec.y2 : spec.y;
      h.scope = "col";
      h.className = "num";
      h.textContent = s.label + (axis.unit && axis.format === "number" ? " (" + axis.unit + ")" : "");
      head.appendChild(h);
    });
    var body = table.createTBody();
    order.reverse().forEach(function (x) {
      var tr = body.insertRow();
      var rh = document.createElement("th");
      rh.scope = "row";
      rh.textContent = labels ? dayTitle(wallClock(x)) : timeTitle(wallClock(x));
      tr.appendChild(rh);
      shown.forEach(function (s, col) {
        var td = tr.insertCell();
        td.className = "num";
        td.textContent = rows[x][col] || "—";
      });
    });
    return table;
  }

  function specOf(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  document.addEventListener("toggle", function (e) {
    var details = e.target;
    if (!details.open || !details.hasAttribute || !details.hasAttribute("data-chart-values")) { return; }
    var body = details.querySelector(".chart-values-body");
    var spec = specOf(details.getAttribute("data-chart-values"));
    if (body && spec && !body.querySelector("table")) {
      body.textContent = "";  // the body scrolls (and takes focus for the keyboard), not the table
      body.appendChild(valuesTable(spec));
    }
  }, true);  // toggle doesn't bubble: listen while capturing

  // --- the one loader and render loop ---------------------------------------------------------
  function withChartJs(src, done) {
    if (window.Chart) { done(); return; }
    if (!loading) {
      loading = [];
      var s = document.createElement("script");
      s.src = src;
      s.onload = function () { var waiting = loading; loading = null; waiting.forEach(function (fn) { fn(); }); };
      document.head.appendChild(s);
    }
    loading.push(done);
  }

  function refresh() {
    var canvases = document.querySelectorAll("canvas[data-chart]");
    if (!canvases.length) { return; }
    withChartJs(canvases[0].getAttribute("data-chartjs-src"), function () {
      var Chart = window.Chart;
      // Charts whose canvas an HTMX swap removed would otherwise stay in memory.
      Object.keys(Chart.instances).forEach(function (id) {
        var c = Chart.instances[id];
        if (c && (!c.canvas || !c.canvas.isConnected)) { c.destroy(); }
      });
      document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
        if (Chart.getChart(canvas)) { return; }
        var spec = specOf(canvas.getAttribute("data-chart"));
        if (spec && !spec.empty) {
          new Chart(canvas, configFor(spec, window.getComputedStyle(canvas).fontFamily));
        }
      });
    });
  }

  document.addEventListener("htmx:afterSettle", refresh);
  document.addEventListener("htmx:historyRestore", refresh);
  window.MahaloCharts = { refresh: refresh, configFor: configFor };
  refresh();
})();
