"""Triage's benchmark: a fast fake upstream, process control, load drivers and the report.

``python -m bench`` runs the overhead benchmark (issue 4); ``python -m bench.soak`` runs the
fault-injecting soak (issue 5); ``bench/compare/`` holds the re-runnable comparisons behind
``docs/decisions/``. Only 127.0.0.1 is ever targeted, and every load is bounded in time.
"""
