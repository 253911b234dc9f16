"""Patients pages, by concept: `registry` (the list, its export, the record forms), `chart`
(Overview and Timeline tabs), `care_team` (staff side of care teams, portal invitations),
`imports` (bulk import), `portal` (the patient portal's own pages)."""
