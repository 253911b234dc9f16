"""Care's services, one module per concept: `tasks` (the staff task list), `medications` (the list,
doses, adherence). Pages, the API and Celery tasks all call these; they are the only writers."""
