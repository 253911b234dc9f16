"""Wearables pages, by concept: `chart` (the chart's Wearables tab, "sync now"), `portal` (the
patient's devices page and their Apple Health upload), `apple` (staff upload for a patient),
`oauth` (connecting a provider), `webhooks` (the Garmin push receiver)."""
