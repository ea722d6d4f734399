"""Reports, an interface over the domains: the country report (:mod:`.country`, HTML and CSV
tables, drawn by :mod:`.charts`) and the page of a quality check (:mod:`.findings`)."""

from mineledger.report.country import write_report

__all__ = ["write_report"]
