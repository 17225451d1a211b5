"""``python -m triage.eval ...``: the same as ``triage eval ...``."""

import sys

from triage.eval.cli import main

raise SystemExit(main(sys.argv[1:]))
