"""Reading routing-quality data: what is dropped, what is an error, and how ``triage eval`` says so."""

import json

import pytest

from triage.eval.cli import main
from triage.eval.data import build_dataset, load_items, load_pool
from triage.routing.pool import PoolModel

POOL = [PoolModel("big", 2.0, 8.0), PoolModel("small", 0.1, 0.4, default_output_tokens=120)]


def item(i, scores, **kw):
    return {"id": f"t/{i}", "messages": [{"role": "user", "content": "hello there"}], "scores": scores, **kw}


def test_items_without_a_usable_score_for_every_model_are_dropped_and_counted() -> None:
    items = [
        item(0, {"big": 1.0, "small": 0.5}),
        item(1, {"big": 1.0}),  # small not scored
        item(2, {"big": None, "small": 0.0}),  # null
        item(3, {"big": "1", "small": 0.0}),  # not a number
        item(4, {"big": float("nan"), "small": 0.0}),
        item(5, {"big": True, "small": 0.0}),  # a bool is not a score
        {"id": "t/6", "scores": {"big": 1.0, "small": 1.0}},  # no messages
        item(7, {"big": 0, "small": 1}, output_tokens={"big": None, "small": "x"}),  # ints are scores
    ]
    ds = build_dataset(items, POOL)
    assert ds.ids == ["t/0", "t/7"] and ds.extra["dropped"] == 6
    assert ds.quality.tolist() == [[1.0, 0.5], [0.0, 1.0]]
    # unusable output_tokens fall back to the pool's default, then to 300
    assert ds.cost[1].tolist() == pytest.approx([POOL[0].cost(11 / 4, 300.0), POOL[1].cost(11 / 4, 120.0)])


def test_a_score_outside_0_1_is_an_error_naming_the_item() -> None:
    with pytest.raises(ValueError, match=r"'t/0'.*8\.0 of big.*outside \[0, 1\]"):
        build_dataset([item(0, {"big": 8, "small": 0.5})], POOL)


def test_a_line_that_is_not_a_json_object_is_an_error_naming_the_line(tmp_path) -> None:
    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps(item(0, {"big": 1, "small": 0})) + "\n\n{oops\n")
    with pytest.raises(ValueError, match=r"d\.jsonl:3: not JSON"):
        load_items(f)
    f.write_text("[1, 2]\n")
    with pytest.raises(ValueError, match=r"d\.jsonl:1: an item is a JSON object, not list"):
        load_items(f)


def test_a_pool_model_without_a_price_is_an_error_naming_it(tmp_path) -> None:
    p = tmp_path / "pool.json"
    p.write_text(json.dumps({"models": [{"name": "a", "input_per_mtok": 1, "output_per_mtok": 2}, {"name": "b"}]}))
    with pytest.raises(ValueError, match=r"models\[1\] needs name, input_per_mtok and output_per_mtok"):
        load_pool(p)
    p.write_text(json.dumps({"models": []}))
    with pytest.raises(ValueError, match="non-empty 'models' list"):
        load_pool(p)


def test_cli_reports_bad_input_on_stderr_with_exit_2_and_no_traceback(tmp_path, capsys) -> None:
    pool = tmp_path / "pool.json"
    pool.write_text(json.dumps({"models": [{"name": "big", "input_per_mtok": 2, "output_per_mtok": 8},
                                           {"name": "small", "input_per_mtok": 0.1, "output_per_mtok": 0.4}]}))
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps(item(0, {"big": 1, "small": 0})) + "\n{oops\n")
    for args in (["--data", str(data)], ["--data", str(tmp_path / "missing.jsonl")]):
        assert main([*args, "--pool", str(pool)]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.startswith("eval: ") and "Traceback" not in err
    data.write_text("".join(json.dumps(item(i, {"big": 1.0, "small": 0.0 if i % 2 else None})) + "\n" for i in range(6)))
    assert main(["--data", str(data), "--pool", str(pool), "--format", "json", "--router", "random"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["items"] == 3 and "(3 dropped: not scored for every model of the pool)" in err


def test_a_pool_default_output_tokens_that_is_not_a_count_is_an_error(tmp_path) -> None:
    p = tmp_path / "pool.json"
    p.write_text(json.dumps({"models": [{"name": "a", "input_per_mtok": 1, "output_per_mtok": 2,
                                         "default_output_tokens": "lots"}]}))
    with pytest.raises(ValueError, match=r"models\[0\].*default_output_tokens 'lots'"):
        load_pool(p)
    p.write_text(json.dumps({"models": [{"name": "a", "input_per_mtok": 1, "output_per_mtok": 2,
                                         "default_output_tokens": 250}]}))
    assert load_pool(p)[1][0].default_output_tokens == 250
