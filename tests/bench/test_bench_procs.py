"""CPU and RSS accounting from /proc (bench.procs), and the launcher's clean-up."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from bench import procs

STAT = ("1234 (python3) S 1 1234 1234 0 -1 4194560 9000 0 0 0 250 75 3 4 20 0 2 0 5000 "
        "100000000 5000 18446744073709551615 0 0 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0")


def test_parse_stat_fields():
    assert procs.parse_stat(STAT) == (1, 250, 75)


def test_parse_stat_with_spaces_and_parens_in_comm():
    weird = STAT.replace("(python3)", "(a) b (c))")
    assert procs.parse_stat(weird) == (1, 250, 75)


def test_parse_status_kb():
    text = "Name:\tpython\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\n"
    assert procs.parse_status_kb(text, "VmRSS") == 40960
    assert procs.parse_status_kb(text, "VmHWM") == 51200
    assert procs.parse_status_kb(text, "VmSwap") == 0


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux /proc")
def test_tree_cpu_counts_a_busy_child(tmp_path):
    code = "import time\nt=time.process_time()\nwhile time.process_time()-t<0.3: pass\ntime.sleep(30)"
    parent = subprocess.Popen([sys.executable, "-c",
                               f"import subprocess,sys; subprocess.run([sys.executable,'-c',{code!r}])"])
    try:
        deadline = time.time() + 20
        cpu = 0.0
        while time.time() < deadline:
            pids = procs.tree_pids(parent.pid)
            cpu = procs.tree_cpu_seconds(parent.pid)
            if len(pids) >= 2 and cpu >= 0.25:
                break
            time.sleep(0.05)
        assert len(procs.tree_pids(parent.pid)) >= 2  # parent and child both found
        assert cpu >= 0.25  # the child's busy loop is charged to the tree
        assert procs.tree_rss_mb(parent.pid) > 1
    finally:
        for pid in reversed(procs.tree_pids(parent.pid)):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        parent.wait(5)


def test_launcher_stops_whole_group_on_close(tmp_path):
    with procs.Launcher(str(tmp_path)) as launcher:
        p = launcher.start("sleeper", [sys.executable, "-c",
                                       "import subprocess,sys,time; subprocess.Popen([sys.executable,'-c','import time; time.sleep(60)']); time.sleep(60)"])
        deadline = time.time() + 10
        while len(procs.tree_pids(p.pid)) < 2 and time.time() < deadline:
            time.sleep(0.05)
        tree = procs.tree_pids(p.pid)
    assert p.popen.poll() is not None
    time.sleep(0.1)
    for pid in tree:
        assert not os.path.exists(f"/proc/{pid}") or "Z" in open(f"/proc/{pid}/stat").read().split(")")[-1][:3]


def test_free_port_and_plan_cores():
    port = procs.free_port()
    assert 1024 < port < 65536
    proxy, side = procs.plan_cores()
    if len(procs.cores()) >= 2:
        assert proxy and side and not set(proxy) & set(side)
    else:
        assert proxy is None and side is None
