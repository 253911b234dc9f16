"""What clinical adds to the portal's home page: the latest reading of each kind with what it
means (the same wording as "My readings"), and the care team's current recommendations."""

from __future__ import annotations

from clinical import observations, recommendations
from clinical.models import Observation
from mahalo import access, audit
from patients import shell

LOOK_BACK = 60  # recent rows scanned for the latest of each metric
SHOWN_RECOMMENDATIONS = 3


def latest_readings_section(request, patient) -> dict:
    rows = (access.scoped(request.user, Observation.objects, "clinical")
            .filter(patient_id=patient.pk, metric__in=observations.PORTAL_METRICS)
            .order_by("-effective_at")[:LOOK_BACK])
    latest: dict[str, Observation] = {}
    for obs in rows:
        observations.decorate(obs)
        if not obs.in_error and obs.metric not in latest:
            latest[obs.metric] = obs
    audit.record(request=request, action="read", resource="clinical", patient=patient,
                 metadata={"via": "portal", "page": "home", "count": len(latest)})
    tz = patient.program.tz if patient.program_id else None
    return {"readings": list(latest.values()), "tzname": getattr(tz, "key", "UTC")}


def recommendations_section(request, patient) -> dict | None:
    rows = recommendations.active_for(patient)
    if not rows:
        return None
    return {"recommendations": rows[:SHOWN_RECOMMENDATIONS], "more": max(0, len(rows) - SHOWN_RECOMMENDATIONS)}


shell.register_portal_section(shell.PortalSection("readings", 20, "clinical/_portal_home_readings.html",
                                                  latest_readings_section))
shell.register_portal_section(shell.PortalSection("recommendations", 40,
                                                  "clinical/_portal_home_recommendations.html",
                                                  recommendations_section))
