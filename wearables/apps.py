from django.apps import AppConfig


class WearablesConfig(AppConfig):
    name = "wearables"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # What the chart and the portal show of wearables (patients/shell.py).
        from patients import shell

        shell.register_tab(shell.Tab("wearables", "Wearables", 20, "patient_wearables",
                                     "patients/tab_wearables.html", resource="wearables"))
        shell.register_portal_page(shell.PortalPage("devices", "Devices", 70, "portal_devices"))
        # Device summaries count as RPM device days (clinical reads them through this registry).
        from clinical import rpm
        from wearables import daily

        rpm.register_device_days("wearables.daily_metrics", daily.device_days)
        # Daily summaries feed the rules engine's per-day series (resting HR, HRV, steps).
        from clinical import rules

        rules.register_daily_series("wearables.daily_metrics", points=daily.rule_points, has_data=daily.has_days)
        # OAuth tokens are secrets at rest: `rotate_encryption_keys` re-encrypts them through this.
        from mahalo import crypto
        from wearables.services import rotate_token_encryption

        crypto.register_rotator("wearable OAuth token(s)", rotate_token_encryption)
