"""The ``triage`` command: start, status, route, models [discover], config check, report, tail,
pricing update, mcp, eval, bench.

Machine output (``--format json|csv``) goes to stdout and nothing else does; messages,
warnings (a stale catalog, missing keys) go to stderr.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from triage import __version__
from triage.catalog.model import STALE_AFTER_DAYS, TASK_TYPES, CatalogError, load_catalog
from triage.config.loader import ConfigError, load_settings
from triage.ledger.store import StoreUnavailable


def _settings(args: argparse.Namespace, flags: dict[str, Any] | None = None):  # noqa: ANN202
    return load_settings(os.environ, Path(args.config) if getattr(args, "config", None) else None, flags)


def warn_if_stale(catalog: Any) -> None:
    age = catalog.age_days()
    if age > STALE_AFTER_DAYS:
        print(f"triage: the model catalog is {age} days old (updated {catalog.updated}); prices may have changed: run `triage pricing update`", file=sys.stderr)


def cmd_start(args: argparse.Namespace) -> int:
    flags = {"host": args.host, "port": args.port, "workers": args.workers}
    settings = _settings(args, flags)
    # Workers rebuild the settings from the environment: hand them the same inputs.
    os.environ["TRIAGE_HOST"] = settings.host
    os.environ["TRIAGE_PORT"] = str(settings.port)
    if args.config:
        os.environ["TRIAGE_CONFIG"] = str(Path(args.config).resolve())
    settings.home.mkdir(parents=True, exist_ok=True)
    os.environ["TRIAGE_HOME"] = str(settings.home)
    if settings.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # A scrape reaches one worker: counters go to files all workers write (see observe/metrics.py).
        metrics_dir = settings.home / "run" / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    from triage.server.app import print_banner

    warn_if_stale(load_catalog(settings.home))
    print_banner(settings)
    import signal

    import uvicorn

    from triage.server.protocol import TriageHttpProtocol

    # uvicorn shuts down gracefully on SIGTERM (stops accepting, lets in-flight requests and
    # streams finish for --grace seconds, runs the app's shutdown: ledger flushed), then
    # re-raises the signal; this handler turns that into a clean exit 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        "triage.server.factory:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers if settings.workers > 1 else None,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http=TriageHttpProtocol,
        proxy_headers=False,
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=args.grace,
        server_header=False,
        date_header=False,
    )
    return 0


def _get(url: str, api_key: str | None, timeout: float = 2.0) -> tuple[int, Any]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, headers={"authorization": f"Bearer {api_key}"} if api_key else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - the user's own gateway on localhost
            body = r.read()
    except urllib.error.HTTPError as e:
        return e.code, None
    try:
        return r.status, json.loads(body)
    except ValueError:  # something else answers on that port
        return -1, None


def reachable(base_url: str, timeout: float = 2.0) -> bool:
    """Whether a TCP connection to the provider's host opens (no request, no key sent)."""
    import socket
    from urllib.parse import urlsplit

    u = urlsplit(base_url)
    port = u.port or (443 if u.scheme == "https" else 80)
    try:
        with socket.create_connection((u.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def cmd_status(args: argparse.Namespace) -> int:
    settings = _settings(args)
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    url = f"http://{host}:{args.port or settings.port}"
    info: dict[str, Any] = {"version": __version__, "url": url, "ledger": settings.ledger_url if not settings.ledger_url.startswith("postgres") else "postgres",
                            "providers": {n: {"base_url": p.base_url, "key": "set" if p.api_key else "unset", "reachable": reachable(p.base_url)}
                                          for n, p in settings.providers.items()},
                            "missing_keys": list(settings.missing_keys)}  # fmt: skip
    try:
        code, health = _get(url + "/health", None)
        info["running"] = code == 200
        info["health"] = health
        if code == -1:
            info["error"] = "something that is not Triage answers on this port"
    except (OSError, http.client.HTTPException) as e:
        info["running"] = False
        info["error"] = f"not reachable: {e.__class__.__name__}"
    if args.format == "json":
        print(json.dumps(info, indent=2))
    else:
        print(f"triage {__version__} at {url}: {'up' if info['running'] else 'not running'}" + (f" ({info['error']})" if info.get("error") else ""))
        for n, p in info["providers"].items():
            print(f"  provider {n}: {p['base_url']} (key {p['key']}, {'reachable' if p['reachable'] else 'NOT reachable'})")
        for k in info["missing_keys"]:
            print(f"  not configured: {k}")
        print(f"  ledger: {info['ledger']}")
        health = info.get("health") or {}
        for name, h in (health.get("provider_health") or {}).items():
            print(f"  provider {name}: {h['state']} ({h['reason']}, retry in {h['retry_in_s']}s)")
        for key, c in (health.get("circuits") or {}).items():
            print(f"  circuit {key}: {c['state']} (last error {c['last_error']}, retry in {c['retry_in_s']}s)")
    return 0 if info["running"] else 1


def cmd_route(args: argparse.Namespace) -> int:
    from triage.routing.decide import NoCandidateError, decide
    from triage.routing.features import extract
    from triage.server.admin import decision_json

    settings = _settings(args)
    catalog = load_catalog(settings.home).with_overrides(settings.model_overrides)
    providers = list(settings.providers) or sorted({m.provider for m in catalog.models})
    body = {"messages": [{"role": "user", "content": args.prompt}]}
    try:
        d = decide(extract(body), catalog.models, settings.policy, providers, quality_target=args.quality)
    except NoCandidateError as e:
        print(f"triage: no model can serve this request: {e.rejected}", file=sys.stderr)
        return 1
    out = decision_json(d)
    if args.format == "json":
        print(json.dumps(out, indent=2))
    else:
        print(f"{out['selected_model']} ({out['provider']}) — {out['task_type']}, difficulty {out['difficulty']}")
        print(out["reasoning"])
        if not settings.providers:
            print("(no provider configured: decided over the whole catalog)", file=sys.stderr)
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    settings = _settings(args)
    catalog = load_catalog(settings.home).with_overrides(settings.model_overrides)
    warn_if_stale(catalog)
    rows = [{"model": m.name, "provider": m.provider, "configured": m.provider in settings.providers, "input_per_mtok": m.input_per_mtok,
             "output_per_mtok": m.output_per_mtok, "cached_input_per_mtok": m.cached_input_per_mtok, "context_window": m.context_window,
             "tools": m.tools, "vision": m.vision, "reasoning": m.reasoning, "capability": dict(m.capability)} for m in catalog.models]  # fmt: skip
    if args.format == "json":
        print(json.dumps({"updated": catalog.updated, "models": rows}, indent=2))
        return 0
    head = f"{'model':24} {'provider':10} {'in$/1M':>8} {'out$/1M':>8} {'context':>9} {'tools':>5} {'vision':>6} {'reason':>6}  " + " ".join(f"{t[:8]:>8}" for t in TASK_TYPES)
    print(head)
    for r in rows:
        flags = ("yes" if r["tools"] else "no", "yes" if r["vision"] else "no", "yes" if r["reasoning"] else "no")
        caps = " ".join(f"{r['capability'].get(t, 0):>8.2f}" for t in TASK_TYPES)
        mark = "" if r["configured"] else " *"
        print(f"{r['model'] + mark:24} {r['provider']:10} {r['input_per_mtok']:>8.3f} {r['output_per_mtok']:>8.3f} {r['context_window'] or 0:>9} {flags[0]:>5} {flags[1]:>6} {flags[2]:>6}  {caps}")
    print(f"catalog updated {catalog.updated}; * = provider not configured", file=sys.stderr)
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    path = Path(args.file) if args.file else (Path(args.config) if args.config else None)
    try:
        settings = load_settings(os.environ, path)
    except ConfigError as e:
        print("configuration is invalid:", file=sys.stderr)
        for p in e.problems:
            print(f"  - {p}", file=sys.stderr)
        return 2
    print(f"configuration is valid{f' ({path})' if path else ''}")
    print(f"  providers: {', '.join(settings.providers) or 'none'}")
    for k in settings.missing_keys:
        print(f"  not configured: {k}")
    print(f"  listen: {settings.host}:{settings.port}; ledger: {'postgres' if settings.ledger_url.startswith('postgres') else settings.ledger_url}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from triage.cli.report import run_report

    return run_report(_settings(args), args.period, args.by, args.format)


def cmd_tail(args: argparse.Namespace) -> int:
    from triage.cli.tail import run_tail
    from triage.ledger.queries import Filters

    settings = _settings(args)
    return run_tail(settings, args.url, os.environ.get("TRIAGE_API_KEY") or settings.api_key, Filters(model=args.model, provider=args.provider),
                    args.format, args.backlog, args.interval, args.once)  # fmt: skip


def cmd_pricing_update(args: argparse.Namespace) -> int:
    from triage.cli.pricing import run_update

    return run_update(_settings(args).home, args.source, args.dry_run, args.format)


def cmd_models_discover(args: argparse.Namespace) -> int:
    from triage.cli.discover import run_discover

    settings = _settings(args)
    return run_discover(settings, load_catalog(settings.home).with_overrides(settings.model_overrides), args.format)


def cmd_mcp(args: argparse.Namespace) -> int:
    from triage.observe.mcp_server import run_stdio

    settings = _settings(args)
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    run_stdio(args.url or f"http://{host}:{args.port or settings.port}", settings.api_key)
    return 0


def cmd_eval(argv: list[str]) -> int:
    from triage.eval.cli import main as eval_main  # type: ignore[import-not-found]

    return eval_main(argv)


def cmd_bench(argv: list[str]) -> int:
    try:
        from bench.cli import main as bench_main  # type: ignore[import-not-found]
    except ImportError:
        print("triage: the benchmark lives in the source repository: run `python -m bench` from a checkout (see docs/benchmark.md)", file=sys.stderr)
        return 2
    return bench_main(argv)


def _quality(text: str) -> float:
    try:
        q = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}") from None
    if not 0.0 < q <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return q


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="triage", description="An LLM routing gateway: the cheapest model that can do the job.")
    ap.add_argument("--version", action="version", version=f"triage {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", help="YAML config file (also TRIAGE_CONFIG)")
        return p

    p = with_config(sub.add_parser("start", help="start the gateway"))
    p.add_argument("--host", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 3838, or TRIAGE_PORT)")
    p.add_argument("--workers", type=int, help="worker processes sharing the port (default 1)")
    p.add_argument("--grace", type=float, default=30.0, help="seconds to let in-flight requests finish on SIGTERM")
    p.set_defaults(fn=cmd_start)

    p = with_config(sub.add_parser("status", help="is the gateway up, which providers are configured"))
    p.add_argument("--port", type=int)
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(fn=cmd_status)

    p = with_config(sub.add_parser("route", help="show the routing decision for a prompt (no call made)"))
    p.add_argument("prompt")
    p.add_argument("--quality", type=_quality, help="quality target in (0, 1]")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(fn=cmd_route)

    p = with_config(sub.add_parser("models", help="the model catalog (`models discover`: what configured providers serve)"))
    p.add_argument("action", nargs="?", choices=("discover",), help="discover: list what each configured provider serves")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(fn=lambda a: cmd_models_discover(a) if a.action == "discover" else cmd_models(a))

    p = with_config(sub.add_parser("pricing", help="catalog price updates"))
    psub = p.add_subparsers(dest="pricing_command", required=True)
    c = psub.add_parser("update", help="update catalog prices from a LiteLLM price table (file or URL) into TRIAGE_HOME")
    c.add_argument("--from", dest="source", required=True, metavar="FILE|URL")
    c.add_argument("--dry-run", action="store_true", help="show the changes without writing")
    c.add_argument("--format", choices=("table", "json"), default="table")
    c.set_defaults(fn=cmd_pricing_update)

    p = with_config(sub.add_parser("tail", help="watch routing decisions live"))
    p.add_argument("--url", help="poll this gateway's /v1/requests/recent instead of reading the ledger")
    p.add_argument("--model")
    p.add_argument("--provider")
    p.add_argument("--backlog", type=int, default=10, help="recent rows to show first (default 10)")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    p.add_argument("--once", action="store_true", help="print the backlog and exit")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(fn=cmd_tail)

    p = with_config(sub.add_parser("mcp", help="MCP server on stdio for a running gateway (HTTP transport: /mcp on the gateway)"))
    p.add_argument("--url", help="the gateway's URL (default http://127.0.0.1:<port>)")
    p.add_argument("--port", type=int)
    p.set_defaults(fn=cmd_mcp)

    p = with_config(sub.add_parser("config", help="configuration tools"))
    csub = p.add_subparsers(dest="config_command", required=True)
    c = csub.add_parser("check", help="validate a config file and the environment")
    c.add_argument("file", nargs="?")
    c.set_defaults(fn=cmd_config_check, config=None)

    p = with_config(sub.add_parser("report", help="spend and savings from the ledger"))
    p.add_argument("period", choices=("daily", "weekly", "monthly", "all"))
    p.add_argument("--by", choices=("model", "provider", "task", "key"), default="model")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.set_defaults(fn=cmd_report)

    sub.add_parser("eval", help="evaluate routers on a routing dataset (see `triage eval --help`)", add_help=False)
    sub.add_parser("bench", help="benchmark the gateway against the direct upstream (see `triage bench --help`)", add_help=False)
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "eval":
        return cmd_eval(argv[1:])
    if argv and argv[0] == "bench":
        return cmd_bench(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args) or 0)
    except (ConfigError, CatalogError) as e:
        print(f"triage: {e}", file=sys.stderr)
        return 2
    except StoreUnavailable as e:  # report, tail, status reading a ledger whose database is down
        print(f"triage: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
