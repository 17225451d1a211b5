"""JSON codecs on the gateway's typical bodies: orjson vs msgspec vs stdlib json, loads + dumps.

Bodies: a small chat request (what a client sends), the upstream's non-streaming completion
(what the gateway parses for usage and returns), and one stream chunk (what a translating
stream parses and re-serialises per event). Each codec: the median of several timing
rounds of ``loads`` then ``dumps`` of the parsed object, in microseconds per call.

Run: ``python -m bench.compare.json_codecs [--rounds 7]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from bench import wire
from bench.stats import median

BODIES = {
    "chat request (198 B)": wire.chat_request("auto"),
    "completion response (606 B)": wire.openai_completion("gpt-5.4-mini"),
    "stream chunk (253 B)": wire.openai_chunks("gpt-5.4-mini", 1, False)[1][len(b"data: "):-2],
}


def codecs() -> dict:
    out = {"stdlib json": (json.loads, lambda o: json.dumps(o, separators=(",", ":")).encode())}
    try:
        import orjson

        out["orjson"] = (orjson.loads, orjson.dumps)
    except ImportError:
        pass
    try:
        import msgspec

        enc, dec = msgspec.json.Encoder(), msgspec.json.Decoder()
        out["msgspec (untyped)"] = (dec.decode, enc.encode)
    except ImportError:
        pass
    return out


def time_us(fn, arg, n: int) -> float:
    t0 = time.perf_counter_ns()
    for _ in range(n):
        fn(arg)
    return (time.perf_counter_ns() - t0) / n / 1000


def run(rounds: int = 7, n: int = 20000) -> dict:
    result: dict = {}
    for body_name, raw in BODIES.items():
        obj = json.loads(raw)
        for codec, (loads, dumps) in codecs().items():
            assert json.loads(dumps(loads(raw))) == obj, codec
            lo = median(time_us(loads, raw, n) for _ in range(rounds))
            du = median(time_us(dumps, obj, n) for _ in range(rounds))
            result.setdefault(body_name, {})[codec] = {"loads_us": round(lo, 3), "dumps_us": round(du, 3),
                                                        "total_us": round(lo + du, 3)}
    return result


def markdown(result: dict) -> str:
    lines = ["| body | codec | loads µs | dumps µs | loads+dumps µs |", "|---|---|---|---|---|"]
    for body, by_codec in result.items():
        for codec, r in by_codec.items():
            lines.append(f"| {body} | {codec} | {r['loads_us']} | {r['dumps_us']} | {r['total_us']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.compare.json_codecs")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("-n", type=int, default=20000, help="calls per timing round")
    a = p.parse_args(argv)
    print(markdown(run(a.rounds, a.n)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
