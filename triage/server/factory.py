"""The app factory uvicorn calls in each worker process: settings from the environment.

``triage start`` puts its flags into the environment (TRIAGE_HOST, TRIAGE_PORT, TRIAGE_CONFIG,
...) before starting uvicorn, so every worker builds the same settings.
"""

from __future__ import annotations

import os

from triage.config.loader import load_settings
from triage.server.app import TriageApp, create_app


def app_from_env() -> TriageApp:
    return create_app(load_settings(os.environ))
