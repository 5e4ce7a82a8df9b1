"""Policies as step models: the run-dir layout, priming, and rebuilding a tuned policy.

Imports `music` only (and `note_rnn`). A policy is always rebuilt from weights and
`config.json`; nothing here runs a graph stored in a run dir.
"""
