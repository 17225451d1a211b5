"""Fitting the quality model (``triage.routing.learned.train``) on a small synthetic set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FIT = r"""
import hashlib, json, random
from triage.routing.learned import train
from triage.routing.pool import PoolModel

rng = random.Random(7)
words = ["prove", "integral", "poem", "capital", "python", "tax", "enzyme", "orbit", "verb", "matrix",
         "sonnet", "loop", "court", "virus", "price", "atom", "essay", "graph", "river", "logic"]
items = []
for i in range(240):  # every word in 60 prompts: the cut of the vocabulary at 12 falls among equals
    text = " ".join(words[(i + 4 * j) % 20] for j in range(5))
    hard = sum(w in text for w in ("prove", "integral", "matrix", "logic")) / 4
    items.append({"id": str(i), "messages": [{"role": "user", "content": text}],
                  "scores": {"big": float(rng.random() > 0.2 + 0.3 * hard),
                             "small": float(rng.random() > 0.3 + 0.6 * hard)}})
models = [PoolModel("big", 1.0, 4.0, default_output_tokens=300), PoolModel("small", 0.1, 0.4, default_output_tokens=300)]
hp = train.Hyper(min_df=2, max_vocab=12, iters=60)  # a vocabulary cut among keys of equal counts
w = train.fit([train.TrainSet("synthetic", items, models)], {}, hp, log=lambda *a: None)
print(hashlib.sha256(json.dumps(w, sort_keys=True).encode()).hexdigest())
"""


def _fit(hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    out = subprocess.run([sys.executable, "-c", FIT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def test_the_fitted_weights_do_not_depend_on_the_hash_seed() -> None:
    """A prompt's keys are a set, iterated in an order that changes with PYTHONHASHSEED: the
    vocabulary cut and the order of summation must not follow it, or one command would not
    rebuild the same shipped weights twice."""
    assert _fit("1") == _fit("2") == _fit("3")
