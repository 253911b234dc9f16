"""Models arrive with the care issues (DESIGN.md "Where the seed tables go")."""
