"""The evaluation harness of routing quality (issue 3): data loading, baselines, metrics,
paired bootstrap, table/JSON/plot output. Entry point: ``triage.eval.cli.main``."""
