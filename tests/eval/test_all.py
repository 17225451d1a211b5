"""``python -m triage.eval.all`` end to end on a small slice of every file: cross-validation and
the leave-one-source-out transfer refit the model (neighbour index included) without the items
they measure. Correctness only; the figures come from the full files (docs/router.md)."""

import json
import shutil
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
ITEMS = 90


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> Path:
    if not (SHARED / "routing" / "mmlu_pro.train.jsonl").exists():
        pytest.skip("shared data not present")
    root = tmp_path_factory.mktemp("data")
    shutil.copytree(SHARED / "arena", root / "arena")
    shutil.copytree(SHARED / "routing" / "pools", root / "routing" / "pools")
    for f in ("mmlu_pro.train.jsonl", "llmrouter.train.jsonl", "mmlu_pro.dev.jsonl"):
        with open(SHARED / "routing" / f) as src:
            lines = [line for line, _ in zip(src, range(ITEMS))]
        (root / "routing" / f).write_text("".join(lines))
    return root


def test_cross_validation_and_transfer_sections(small_data: Path, tmp_path: Path, capsys) -> None:
    from triage.eval.all import main

    out = tmp_path / "all.json"
    rc = main(["--data", str(small_data), "--folds", "2", "--bootstrap", "5", "--transfer",
               "--json-out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "## llmrouter.train (2-fold cross-validation)" in text
    assert "## llmrouter.train (transfer: fitted on the other training sources only)" in text
    assert "## mmlu_pro.dev (held out, shipped weights)" in text
    res = json.loads(out.read_text())
    assert set(res) == {"llmrouter.train", "llmrouter.train.transfer", "mmlu_pro.dev",
                        "mmlu_pro.train", "mmlu_pro.train.transfer"}
    for key, rep in res.items():
        assert rep["items"] == ITEMS
        learned = rep["routers"]["learned"]
        assert 0.0 < learned["aiq"] <= rep["routers"]["oracle"]["aiq"] + 1e-9, key
