"""Fixtures for the benchmark's tests: a fake upstream process on a free port."""

from __future__ import annotations

import pytest

from bench import procs
from bench.scenarios import Plan, Session


@pytest.fixture
def upstream(tmp_path):
    """A running ``bench.upstream`` on an OS-chosen port; yields its base URL."""
    with procs.Launcher(str(tmp_path)) as launcher:
        s = Session(launcher, Plan.quick(), loadgen="python", proxy_argv="", proxy_env={}, health_path="/health",
                    model="auto", translated_model="", home=str(tmp_path), proxy_cpus=None, side_cpus=None,
                    log=lambda *_: None)
        s.start_upstream()
        yield s.upstream_base
