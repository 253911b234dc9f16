// RPM tab: keeps a running timer's elapsed time ticking (data-rpm-since holds the
// ISO start). Without JavaScript the server-rendered "5 minutes" stays; the logged
// time is always measured on the server when the timer stops.
(function () {
  "use strict";
  if (window.__rpmTimer) { return; }
  window.__rpmTimer = true;
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function tick() {
    document.querySelectorAll("[data-rpm-since]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("data-rpm-since"));
      if (isNaN(since)) { return; }
      var s = Math.max(0, Math.floor((Date.now() - since) / 1000));
      var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
      el.textContent = (h ? h + ":" + pad(m) : String(m)) + ":" + pad(s % 60);
    });
  }
  tick();
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSettle", tick);
})();
