#!/bin/sh
# Browser dependencies for the dashboard test (tests/observe/test_dashboard_browser.py):
# Chromium from the distribution's packages, driven by Playwright for Python (the pip package
# only; `playwright install` is never run). Idempotent: does nothing when chromium is present.
set -eu
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium
