"""Entry points: each module's `main` is one tool of `bin/` (and its console script).

Importing this package silences third-party noise first (`pipelines.quiet`), before
TensorFlow is imported by any tool.
"""

from pipelines import quiet

quiet.silence()
