"""The Note RNN's command-line tools: train_note_rnn, generate_melodies, export_magenta_bundle.

Each module's `main(argv)` + `run()` is one tool of `bin/` and its console script. Importing
this package silences third-party noise first (`pipelines.quiet`), before TensorFlow loads.
"""

from pipelines import quiet

quiet.silence()
