// Web push opt-in for the notification settings page (no inline scripts: CSP).
// A button [data-push-subscribe] carries the VAPID public key and the subscribe URL.
(function () {
  "use strict";
  function urlBase64ToUint8Array(base64) {
    var padding = "=".repeat((4 - (base64.length % 4)) % 4);
    var raw = atob((base64 + padding).replace(/-/g, "+").replace(/_/g, "/"));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-push-subscribe]");
    if (!button) return;
    event.preventDefault();
    var status = document.getElementById(button.getAttribute("aria-describedby") || "");
    function say(text) { if (status) status.textContent = text; }
    if (!("serviceWorker" in navigator) || !("PushManager" in window)) { say("This browser can't receive push notifications."); return; }
    navigator.serviceWorker.register(button.dataset.worker)
      .then(function (reg) { return Notification.requestPermission().then(function (p) {
        if (p !== "granted") throw new Error("Permission not granted.");
        return reg.pushManager.subscribe({ userVisibleOnly: true,
          applicationServerKey: urlBase64ToUint8Array(button.dataset.key) });
      }); })
      .then(function (sub) {
        return fetch(button.dataset.url, { method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
          body: JSON.stringify(sub.toJSON()) });
      })
      .then(function (res) { say(res.ok ? "Push notifications are on for this browser." : "Couldn't save the subscription."); })
      .catch(function (err) { say(err.message || "Couldn't turn on push notifications."); });
  });
})();
