"""The server process's entry point settles the garbage collector once startup is complete."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import asyncio, gc, os
os.environ.update(TRIAGE_HOME=os.environ["HOME_DIR"], OPENAI_API_KEY="sk-test")
from triage.server.factory import GC_YOUNG_THRESHOLD, app_from_env
app = app_from_env()
before = gc.get_freeze_count()
async def main():
    await app.gw.start()
    await app.gw.close()
asyncio.run(main())
print(before, gc.get_freeze_count() > 1000, gc.get_threshold()[0] == GC_YOUNG_THRESHOLD)
"""


def test_startup_freezes_long_lived_objects_and_sizes_the_young_generation(tmp_path):
    # its own process: freezing and thresholds are process-wide, not for the test runner
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=60,
                         env={"HOME_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "True", "True"]
