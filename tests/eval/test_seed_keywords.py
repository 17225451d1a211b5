"""The seed_keywords baseline reproduces robot-resources-router's task detection and selection."""

import pytest

from triage.eval import seed_keywords as seed
from triage.routing.pool import PoolModel


@pytest.mark.parametrize(
    "prompt,task",
    [
        ("write a python function to sort a list", "coding"),
        ("explain why the sky is blue", "reasoning"),
        ("compare and contrast REST and GraphQL", "analysis"),
        ("what is the capital of France", "simple_qa"),
        ("write a haiku about autumn", "creative"),
        ("hello there", "general"),
        ("tell me why entropy increases", "reasoning"),
        ("what does HTTP stand for", "simple_qa"),
    ],
)
def test_task_detection_matches_upstream_fixtures(prompt, task):
    assert seed.detect_task_type(prompt) == task


def test_picks_cheapest_capable_by_input_price():
    arena = {"strong": {"full": 1450.0, "coding": 1460.0}, "weak": {"full": 1200.0}}
    models = [
        PoolModel("s", 3.0, 15.0, "strong"),
        PoolModel("w", 0.1, 0.2, "weak"),
        PoolModel("s2", 2.0, 30.0, "strong"),
    ]
    caps = seed.capabilities(models, arena)
    assert caps[0]["coding"] >= seed.CAPABILITY_THRESHOLD > caps[1]["coding"]
    # two capable models: the lower *input* price wins even though its output is dearer
    assert seed.route("debug this javascript code", models, caps) == 2
