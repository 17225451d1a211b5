"""The ledger's database down: the gateway still serves, reads say so in the caller's shape,
and no row is lost: what could not be written is spilled at shutdown and written by the
next start, once the database answers."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.conftest import OPENAI_KEY
from tests.fakes.launch import FakeServer
from tests.gateway import GatewayProcess
from tests.ledger.test_store_contract import _pg_url, pg_database  # noqa: F401  (fixture)

DOWN = "postgresql://postgres@127.0.0.1:1/triage"  # nothing listens on port 1


def call(gw: GatewayProcess, path: str, body: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(gw.url + path, data=json.dumps(body).encode() if body else None,
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_a_down_postgres_ledger_loses_nothing(openai_fake: FakeServer, fake: FakeServer, pg_database: str) -> None:  # noqa: F811
    pytest.importorskip("psycopg")
    import psycopg

    env = {"OPENAI_API_KEY": OPENAI_KEY, "TRIAGE_OPENAI_BASE_URL": openai_fake.url + "/v1", "TRIAGE_DB": DOWN}
    gw = GatewayProcess(env)
    try:
        status, body = call(gw, "/v1/chat/completions", {"model": "auto", "messages": [{"role": "user", "content": "hi"}]})
        assert status == 200 and body["choices"][0]["message"]["content"]
        status, body = call(gw, "/v1/stats")
        assert status == 503 and body["error"]["code"] == "ledger_unavailable"
        assert "unreachable" in body["error"]["message"]
    finally:
        assert gw.stop() == 0
    log = gw.log_path.read_text()
    assert "ledger rows are kept" in log and "saved in" in log
    assert list(gw.home.glob("ledger-spill.*.jsonl"))

    url = _pg_url(pg_database)
    again = GatewayProcess({**env, "TRIAGE_DB": url}, home=gw.home)
    try:
        status, _ = call(again, "/v1/stats")
        assert status == 200
    finally:
        again.stop()
    with psycopg.connect(url) as c:
        rows = c.execute("SELECT surface, status, error_class FROM requests ORDER BY ts").fetchall()
    # the completion, the 503 stats read (both from the first run) and nothing twice
    assert [(r[1], r[2]) for r in rows] == [(200, None), (503, "ledger_unavailable")]
    assert not list(gw.home.glob("ledger-*.jsonl"))
