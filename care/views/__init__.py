"""Care's pages, one module per concept: `tasks` (/tasks/), `medications` (the chart tab), `portal`
(/portal/today/ and marking doses)."""
