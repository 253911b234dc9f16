"""The clinical app's pages, one module per concept: `alerts` (the triage queue, an alert,
the rule dry run), `observations` (the chart's Vitals tab), `labs`, `recommendations`,
`rpm` (the RPM tab and report) and `portal` (the patient's pages). Routes: clinical/urls.py."""
