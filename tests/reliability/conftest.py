"""Fixtures shared by the reliability tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def fvc(capsys):
    """Run the CLI in-process through ``main()``, as the console script does: ``(exit code, stdout, stderr)``."""
    from fvc.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exc:
            main(list(args))
        out = capsys.readouterr()
        return exc.value.code, out.out, out.err

    return run
