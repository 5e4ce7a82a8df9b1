"""note_rnn stage."""
