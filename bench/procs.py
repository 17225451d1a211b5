"""Processes the benchmark starts: launching, pinning, readiness, CPU and RSS of a tree, stopping.

CPU is read from ``/proc/<pid>/stat`` (utime + stime, in clock ticks) summed over the
process tree, before and after a load; RSS from ``/proc/<pid>/status`` (VmRSS, VmHWM).
Everything started here is tracked by a ``Launcher`` and stopped (SIGTERM to the process
group, then SIGKILL) on exit, error or Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def parse_stat(text: str) -> tuple[int, int, int]:
    """(ppid, utime, stime) from one ``/proc/<pid>/stat`` line.

    The command name (field 2) is in parentheses and may itself contain spaces and ')',
    so the fields are split after the *last* ')'.
    """
    rest = text[text.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
    return int(rest[1]), int(rest[11]), int(rest[12])


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def tree_pids(root: int) -> list[int]:
    """``root`` and all its live descendants."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        text = _read(f"/proc/{name}/stat")
        if text:
            try:
                children.setdefault(parse_stat(text)[0], []).append(int(name))
            except (ValueError, IndexError):
                continue
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in out:
            continue
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        text = _read(f"/proc/{pid}/stat")
        if text:
            _, ut, st = parse_stat(text)
            total += ut + st
    return total


def tree_cpu_seconds(root: int) -> float:
    """utime + stime of ``root``'s live process tree, in seconds."""
    return cpu_ticks(tree_pids(root)) / CLK_TCK


def parse_status_kb(text: str, field: str) -> int:
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def tree_rss_mb(root: int, field: str = "VmRSS") -> float:
    """Summed ``field`` (VmRSS, or VmHWM for each process's peak) of the tree, in MB."""
    kb = 0
    for pid in tree_pids(root):
        text = _read(f"/proc/{pid}/status")
        if text:
            kb += parse_status_kb(text, field)
    return kb / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cores() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def plan_cores() -> tuple[list[int] | None, list[int] | None]:
    """(proxy cores, upstream + load-generator cores): one core for the proxy when there are two."""
    c = cores()
    if len(c) < 2:
        return None, None
    return [c[-1]], c[:-1]


def pin(pid: int, cpus: list[int] | None) -> None:
    """Pin every thread of ``pid``'s tree to ``cpus`` (no-op when ``cpus`` is None)."""
    if not cpus:
        return
    for p in tree_pids(pid):
        for tid in os.listdir(f"/proc/{p}/task") if os.path.isdir(f"/proc/{p}/task") else ():
            try:
                os.sched_setaffinity(int(tid), cpus)
            except (ProcessLookupError, PermissionError, OSError):
                pass


def http_status(url: str, timeout: float = 1.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, ValueError):
        return None


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    started: float  # perf_counter at launch
    ready_s: float | None = None
    port: int | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid


class Launcher:
    """Starts processes in their own process groups and stops them all on ``close()``."""

    def __init__(self, log_dir: str) -> None:
        self.log_dir = log_dir
        self.procs: list[Proc] = []

    def start(self, name: str, argv: list[str] | str, env: dict | None = None,
              cpus: list[int] | None = None, shell: bool = False, cwd: str | None = None) -> Proc:
        log = open(os.path.join(self.log_dir, f"{name}.log"), "ab")
        preexec = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        popen = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True, preexec_fn=preexec, shell=shell, cwd=cwd)
        log.close()
        proc = Proc(name, popen, time.perf_counter())
        self.procs.append(proc)
        return proc

    def wait_ready(self, proc: Proc, url: str, timeout: float = 30.0) -> float:
        """Poll ``url`` until it answers 200; returns seconds from launch to ready."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode} before ready; "
                                   f"see {self.log_dir}/{proc.name}.log:\n{self.tail(proc)}")
            if http_status(url, timeout=0.5) == 200:
                proc.ready_s = time.perf_counter() - proc.started
                return proc.ready_s
            time.sleep(0.005)
        raise RuntimeError(f"{proc.name} not ready at {url} after {timeout}s:\n{self.tail(proc)}")

    def wait_port_line(self, proc: Proc, timeout: float = 15.0) -> int:
        """For the fake upstream: read ``READY <port>`` from its log."""
        path = os.path.join(self.log_dir, f"{proc.name}.log")
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for line in (_read(path) or "").splitlines():
                if line.startswith("READY "):
                    proc.port = int(line.split()[1])
                    proc.ready_s = time.perf_counter() - proc.started
                    return proc.port
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited early:\n{self.tail(proc)}")
            time.sleep(0.005)
        raise RuntimeError(f"{proc.name} printed no READY line:\n{self.tail(proc)}")

    def tail(self, proc: Proc, n: int = 30) -> str:
        text = _read(os.path.join(self.log_dir, f"{proc.name}.log")) or ""
        return "\n".join(text.splitlines()[-n:])

    def stop(self, proc: Proc, grace: float = 5.0) -> int | None:
        if proc.popen.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.popen.wait(grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.popen.wait(5)
        else:  # leader gone: make sure no straggler in its group survives
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if proc in self.procs:
            self.procs.remove(proc)
        return proc.popen.returncode

    def close(self) -> None:
        for proc in reversed(list(self.procs)):
            self.stop(proc)

    def __enter__(self) -> "Launcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
