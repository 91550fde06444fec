"""The CLI shell: every command listed with a one-line help, errors without tracebacks."""

import pytest
from typer.testing import CliRunner

from fvc.cli import COMMAND_ORDER, app, main

runner = CliRunner()


def test_help_lists_every_command_with_one_line():
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    listed = [line.split()[1] for line in result.output.splitlines() if line.startswith("│ ") and len(line.split()) > 2 and not line.split()[1].startswith("-")]
    assert listed == COMMAND_ORDER
    for cmd in app.registered_commands:
        doc = (cmd.callback.__doc__ or "").strip()
        assert doc and len(doc.splitlines()[0]) <= 110, f"{cmd.name}: needs a one-line help"


@pytest.mark.parametrize("command", COMMAND_ORDER)
def test_each_command_has_help(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "--help" in result.output


def test_unknown_command_and_bad_option_exit_2(capsys):
    for argv in (["no-such-command"], ["splits", "--folds", "many"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err


def test_pipes_and_ci_get_a_fixed_width_and_whole_lines(tmp_path):
    """Piped output is 120 columns wide ($COLUMNS wins) and a long path is printed whole, on one line."""
    import os
    import subprocess
    import sys

    ws = tmp_path / ("a-rather-long-folder-name-" * 5) / "workspace"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "CI")}
    code = "from fvc.cli._common import console; print(console.width); from fvc.cli import main; main()"
    out = subprocess.run([sys.executable, "-c", code, "report", "-w", str(ws)], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "120"
    assert f"report -> {ws / 'artifacts' / 'report.html'}" in lines  # 160 characters, not folded at 80 or 120
    env["COLUMNS"] = "150"
    out = subprocess.run([sys.executable, "-c", "from fvc.cli._common import console; print(console.width)"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.strip() == "150"
