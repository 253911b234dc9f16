"""Models arrive with the reports issue (DESIGN.md "Where the seed tables go")."""
