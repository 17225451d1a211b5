"""Entry point of ``python -m bench`` (and of ``triage bench``, which calls ``main(argv)``)."""

from __future__ import annotations

import sys

from bench.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
