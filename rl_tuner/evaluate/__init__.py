"""Evaluation: in-graph sampling, scoring models, resolving run dirs, tables and MIDI.

Imports `music` and `policy`; never the trainer.
"""
