"""Every command of the project answers ``--help`` at once, without doing its work."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
COMMANDS = [
    "snippets.render", "snippets.render.notebooks", "snippets.render.hub",
    "snippets.render.pdf", "snippets.render.vendor", "snippets.render.bench",
    "snippets.render.lock", "snippets.render.drift", "snippets.render.replformat",
    "tests.link_check",
]  # fmt: skip


MAIN = 'if __name__ == "__main__":'


def test_every_command_with_a_main_is_listed():
    found = {
        ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__main__")
        for folder in ("snippets", "tests")
        for path in (REPO / folder).rglob("*.py")
        if path.name != "test_commands.py" and MAIN in path.read_text()
    }
    assert found == set(COMMANDS)


@pytest.mark.parametrize("module", COMMANDS)
def test_help_describes_the_command_and_does_nothing_else(module: str):
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", module, "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m ") and len(result.stdout) > 80
    assert time.perf_counter() - start < 30  # the benchmark used to run for minutes
