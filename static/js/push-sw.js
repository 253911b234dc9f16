// Service worker: shows Mahalo Health web push notifications (payload: title, body, url).
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data && event.data.text() }; }
  event.waitUntil(self.registration.showNotification(data.title || "Mahalo Health",
    { body: data.body || "", data: { url: data.url || "/notifications/" }, tag: data.id }));
});
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || "/notifications/";
  if (url.charAt(0) !== "/") url = "/notifications/";
  event.waitUntil(clients.openWindow(url));
});
