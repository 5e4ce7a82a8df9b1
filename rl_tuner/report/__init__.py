"""The report pages: report.html, the blind A/B page, their markup and plots.

Reads evaluations and run dirs; imports `music`, `policy` and `evaluate`.
"""
