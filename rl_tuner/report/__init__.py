"""The report pages: report.html, the blind A/B page, their markup and plots, and live.html.

Reads evaluations and run dirs; imports `music`, `policy` and `evaluate`. The play-it-live
page (`live_page`) reads magenta.js exports (`note_rnn.magenta_js`) and imports no other part.
"""
