"""Start a fake upstream server as a subprocess on a free 127.0.0.1 port, and stop it.

Owns process lifecycle and the HTTP calls to a fake's test-control endpoints
(``/_requests``, ``/_reset``, ``/_script``). Any fake script that prints
``LISTENING <port>`` once it is bound works with it. It must not know any provider's wire
format and must not write anywhere (the fake's port comes from the OS, never a fixed one).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path
from typing import Any

FAKES_DIR = Path(__file__).resolve().parent


class FakeServer:
    """A running fake. ``url`` is its root (``http://127.0.0.1:<port>``)."""

    def __init__(self, script: str | Path, *, key: str | None = None, timeout: float = 20.0) -> None:
        path = Path(script)
        if not path.is_absolute():
            path = FAKES_DIR / path
        args = [sys.executable, str(path), "--port", "0"] + (["--key", key] if key else [])
        # stderr goes to an anonymous temp file: a pipe nobody reads could fill and block the fake.
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._stderr, text=True, cwd=str(FAKES_DIR))
        self.port = self._await_port(timeout)
        self.url = f"http://127.0.0.1:{self.port}"

    def _await_port(self, timeout: float) -> int:
        found: list[str] = []

        def read() -> None:
            assert self.proc.stdout is not None
            found.append(self.proc.stdout.readline())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        line = found[0] if found else ""
        if not line.startswith("LISTENING "):
            self.stop()
            self._stderr.seek(0)
            err = self._stderr.read()
            raise RuntimeError(f"fake server did not start: {line!r} {err[-2000:]}")
        return int(line.split()[1])

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def requests(self) -> list[dict[str, Any]]:
        """Every request received since the last reset: method, path, query, headers, body."""
        return self._call("GET", "/_requests")

    def last_body(self) -> dict[str, Any]:
        return self.requests()[-1]["body"]

    def reset(self) -> None:
        self._call("POST", "/_reset", {})

    def script(self, *replies: dict[str, Any]) -> None:
        """Queue replies; each API call consumes the next one."""
        self._call("POST", "/_script", list(replies))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._stderr.close()

    def __enter__(self) -> "FakeServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(name: str, **kwargs: Any) -> FakeServer:
    """``start("anthropic_server.py")``: launch a fake from this directory."""
    return FakeServer(name, **kwargs)

