// The reading-entry form (chart Vitals tab and portal): show only the chosen measurement's
// units and fields. The unit map comes from <script type="application/json" id="vt-unit-map">.
// No inline script (CSP).
(function () {
  "use strict";
  // HTMX re-runs this file each time the tab is swapped in: sync, don't re-register.
  if (window.MahaloObservationForm) { window.MahaloObservationForm.syncAll(); return; }

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

  document.addEventListener("change", function (e) {
    if (e.target && e.target.name === "metric" && e.target.form && e.target.form.hasAttribute("data-vt-form")) {
      syncForm(e.target.form);
    }
  });
  document.addEventListener("htmx:afterSettle", syncAll);
  document.addEventListener("htmx:historyRestore", syncAll);
  window.MahaloObservationForm = { syncAll: syncAll };
  syncAll();
})();
