"""Run the real gateway (``python -m triage start``) as a subprocess for end-to-end tests.

Each ``GatewayProcess`` gets its own free port and its own TRIAGE_HOME, so tests stay
parallel-safe; it is stopped with SIGTERM (the graceful path users hit) and its ledger can
be read afterwards.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env() -> dict[str, str]:
    """The environment minus every provider key and Triage setting of the machine running tests."""
    drop = ("OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "TRIAGE_", "ROUTER_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


class GatewayProcess:
    def __init__(
        self, env: dict[str, str] | None = None, args: list[str] | None = None, home: Path | None = None,
        timeout: float = 20.0, port: int | None = None,
    ) -> None:  # fmt: skip
        self.port = port or free_port()
        self.home = home or Path(tempfile.mkdtemp(prefix="triage-test-"))
        self.home.mkdir(parents=True, exist_ok=True)
        full_env = clean_env()
        full_env.update({"TRIAGE_HOME": str(self.home), "TRIAGE_LEDGER_FLUSH_MS": "20", "PYTHONUNBUFFERED": "1"})
        full_env.update(env or {})
        self.log_path = self.home / "gateway.log"
        self._log = open(self.log_path, "w")
        cmd = [sys.executable, "-m", "triage", "start", "--port", str(self.port), *(args or [])]
        self.proc = subprocess.Popen(cmd, env=full_env, stdout=self._log, stderr=subprocess.STDOUT, cwd=str(ROOT))
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"gateway not ready in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> int:
        """POST raw bytes (JSON content type) and return the HTTP status, error statuses included."""
        req = urllib.request.Request(self.url + path, data=body, headers={"content-type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                r.read()
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def ledger_rows(self, wait: float = 0.3) -> list[dict[str, Any]]:
        """Rows of the SQLite ledger (waits briefly for the writer's batch window)."""
        time.sleep(wait)
        db = self.home / "ledger.db"
        with sqlite3.connect(db) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute("SELECT * FROM requests ORDER BY ts, rowid")]

    def __enter__(self) -> "GatewayProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
