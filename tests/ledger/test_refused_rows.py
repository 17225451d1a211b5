"""End to end, on both stores: rows the database cannot hold as sent never stall the ledger.
A client's NUL in a model name is stored; an upstream's token count beyond 64 bits is set aside
in TRIAGE_HOME/ledger-rejected.jsonl, and every request after it is in the ledger."""

from __future__ import annotations

import json

import openai
import pytest

from tests.conftest import OPENAI_KEY
from tests.fakes.launch import FakeServer
from tests.gateway import GatewayProcess
from tests.ledger.test_store_contract import _pg_url, pg_database  # noqa: F401  (fixture)
from triage.ledger import open_store

HUGE = 10**19  # valid JSON, an unsigned 64-bit integer; SQLite and Postgres integers are signed


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_refused_rows_are_set_aside_and_later_rows_are_written(backend: str, openai_fake: FakeServer, fake: FakeServer,
                                                               request: pytest.FixtureRequest) -> None:
    env = {"OPENAI_API_KEY": OPENAI_KEY, "TRIAGE_OPENAI_BASE_URL": openai_fake.url + "/v1"}
    if backend == "postgres":
        env["TRIAGE_DB"] = _pg_url(request.getfixturevalue("pg_database"))
    with GatewayProcess(env) as gw:
        db = env.get("TRIAGE_DB", str(gw.home / "ledger.db"))
        client = openai.OpenAI(base_url=gw.url + "/v1", api_key="x", max_retries=0)
        fake.script({"text": "big", "usage": {"prompt_tokens": HUGE, "completion_tokens": 1}})
        client.chat.completions.create(model="gpt-5.4-mini", messages=[{"role": "user", "content": "one"}])
        with pytest.raises(openai.APIStatusError):  # a NUL in the model name: refused in the caller's shape
            client.chat.completions.create(model="gpt\x00-5", messages=[{"role": "user", "content": "two"}])
        client.chat.completions.create(model="gpt-5.4-mini", messages=[{"role": "user", "content": "three"}])
        assert gw.stop() == 0
        rejected = [json.loads(line) for line in (gw.home / "ledger-rejected.jsonl").read_text().splitlines()]
    assert [r["row"]["input_tokens"] for r in rejected] == [HUGE]
    store = open_store(db)
    try:
        rows = sorted(store.recent(10), key=lambda r: r["ts"])
    finally:
        store.close()
    assert len(rows) == 2  # the NUL request (with its error) and the one after the refused row
    assert rows[0]["requested_model"] in ("gpt\x00-5", "gpt\ufffd-5") and rows[0]["status"] >= 400
    assert rows[1]["requested_model"] == "gpt-5.4-mini" and rows[1]["status"] == 200
