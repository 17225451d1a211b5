"""Shared fixtures: fake upstreams and a running gateway pointed at them."""

from __future__ import annotations

import os
import tempfile
from typing import Iterator

import pytest

from tests.fakes.launch import FakeServer
from tests.gateway import GatewayProcess

OPENAI_KEY = "test-openai-key"

# Hypothesis keeps its example database outside the repository.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "triage-hypothesis"))


@pytest.fixture(scope="session")
def openai_fake() -> Iterator[FakeServer]:
    with FakeServer("openai_server.py", key=OPENAI_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def gateway(openai_fake: FakeServer) -> Iterator[GatewayProcess]:
    """The gateway with only OpenAI configured, pointed at the fake."""
    env = {"OPENAI_API_KEY": OPENAI_KEY, "TRIAGE_OPENAI_BASE_URL": openai_fake.url + "/v1"}
    with GatewayProcess(env) as gw:
        yield gw


@pytest.fixture
def fake(openai_fake: FakeServer) -> FakeServer:
    openai_fake.reset()
    return openai_fake
