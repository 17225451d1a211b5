"""The app factory uvicorn calls in each worker process: settings from the environment.

``triage start`` puts its flags into the environment (TRIAGE_HOST, TRIAGE_PORT, TRIAGE_CONFIG,
...) before starting uvicorn, so every worker builds the same settings.

This is the server process's entry point, so it also owns the process-wide garbage-collector
setting (see ``docs/decisions/hot-path.md``, "Garbage collector"): everything built before the
first request (imported modules, catalog, configuration, pools) lives as long as the process,
so it is frozen out of the collector's scans once startup is complete, and the young
generation is sized for a few requests' worth of objects instead of 700.
"""

from __future__ import annotations

import gc
import os

from triage.config.loader import load_settings
from triage.server.app import TriageApp, create_app

GC_YOUNG_THRESHOLD = 5000  # CPython's default is 700


async def _settle_gc() -> None:
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def app_from_env() -> TriageApp:
    app = create_app(load_settings(os.environ))
    app.gw.on_start.append(_settle_gc)
    return app
