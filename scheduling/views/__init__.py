"""Scheduling pages, by concept: `schedule` (day/week calendar, the chart's Visits tab),
`visits` (one visit, booking, rescheduling), `requests` (triage queue), `availability`
(bookable blocks, blocked time), `feeds` (private iCalendar feeds), `portal` (the patient's
visits, requests, self-booking and calendar); `common` holds their shared loaders and parsers."""
