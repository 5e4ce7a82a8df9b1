"""Entry points: each module's `main` is one tool of `bin/` (and its console script)."""
