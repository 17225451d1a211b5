"""The gateway with ``routing.router: learned``, and with the default router (``hybrid``, which
takes the learned model for such a pool), end to end: the openai SDK, a real gateway process, an
OpenAI-compatible upstream (the fake) serving models the training data scored, so the neighbour
path runs inside the gateway, and the same prediction as the library's."""

from __future__ import annotations

import openai
import pytest

from tests.conftest import OPENAI_KEY
from tests.gateway import GatewayProcess
from triage.routing.learned import QualityModel
from triage.routing.pool import PoolModel

POOL = [
    PoolModel("gemini-1.5-flash-002", 0.075, 0.3, "gemini-1.5-flash-002"),
    PoolModel("Meta-Llama-3_1-8B-Instruct", 0.03, 0.05, "llama-3.1-8b-instruct"),
    PoolModel("gemini-1.5-pro-002", 1.25, 5.0, "gemini-1.5-pro-002"),
]
QUESTION = ("The following is a multiple choice question about physics. A ball is thrown upward at 20 m/s. "
            "How long until it returns to the thrower's hand (g = 10 m/s^2)?\nA. 1 s\nB. 2 s\nC. 4 s\nD. 8 s\nAnswer:")


@pytest.fixture(scope="module", params=["learned", "default"])
def learned_gateway(request, openai_fake, tmp_path_factory):
    home = tmp_path_factory.mktemp("learned")
    router = "  router: learned\n" if request.param == "learned" else ""
    models = "\n".join(
        f"  - {{name: {m.name}, provider: local, input_per_mtok: {m.input_per_mtok}, "
        f"output_per_mtok: {m.output_per_mtok}, context_window: 128000, arena_name: {m.arena_name}}}"
        for m in POOL)
    cfg = home / "triage.yaml"
    cfg.write_text(f"providers:\n  local: {{kind: openai, base_url: '{openai_fake.url}/v1', api_key_env: LOCAL_KEY}}\n"
                   f"models:\n{models}\nrouting:\n{router}  quality: 0.9\n")
    with GatewayProcess({"LOCAL_KEY": OPENAI_KEY}, home=home, args=["--config", str(cfg)]) as gw:
        yield gw


def test_auto_through_the_learned_router_matches_the_library(learned_gateway, fake) -> None:
    client = openai.OpenAI(base_url=learned_gateway.url + "/v1", api_key="x", max_retries=0)
    msgs = [{"role": "user", "content": QUESTION}]
    r = client.chat.completions.create(model="auto", messages=msgs)
    info = r.model_extra["routing_info"]
    assert info["estimator"] == "learned"
    assert info["selected_model"] in {m.name for m in POOL} and fake.last_body()["model"] == info["selected_model"]
    qm = QualityModel.load_default()
    expected = dict(zip([m.name for m in POOL], qm.predict(msgs, POOL)))
    assert info["predicted_quality"] == pytest.approx(expected[info["selected_model"]], abs=1e-4)
    # every model of this pool was scored by the training data: the neighbour blend is in it
    bare = QualityModel.__new__(QualityModel)
    bare.__dict__.update(qm.__dict__)
    bare._neighbors, bare._seen_keys = None, set()
    plain = dict(zip([m.name for m in POOL], bare.predict(msgs, POOL)))
    assert abs(expected[info["selected_model"]] - plain[info["selected_model"]]) > 1e-3
    row = learned_gateway.ledger_rows()[-1]
    assert row["status"] == 200 and row["chosen_model"] == info["selected_model"]
