"""The real browser the page tests drive: Debian's chromium through Playwright (its own download is not reachable)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# headless as root, and quiet: without the networking flags Chromium calls out to Google's hosts at every start
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

# In CI (.ci/run installs it) a missing chromium is a failure, not a skip.
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                                    reason="Debian's chromium is not installed (apt-get install chromium; "
                                           ".ci/run does it in CI)")


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def record_errors(page) -> list[str]:
    """Console errors and uncaught page errors, as they happen."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors
