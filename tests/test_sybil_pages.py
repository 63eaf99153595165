"""A wrong example on a page fails the run and names the page and line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PAGE = """# A page

Some prose.

```pycon
>>> from snippets.tokenization import SEQUENCE
>>> len(SEQUENCE)
{length}
```

<!-- skip: start "needs the hub profile: shown here to test the skip directive" -->

```pycon
>>> raise RuntimeError("never run")
```

<!-- skip: end -->
"""


def run_pages(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    (tmp_path / "page.md").write_text(text)
    env = {**os.environ, "LECTURE_DOCS_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-c", str(REPO / "pyproject.toml"), "--rootdir", str(REPO), str(tmp_path)],
        cwd=REPO, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_a_right_page_passes_and_reports_its_skips(tmp_path: Path):
    result = run_pages(tmp_path, PAGE.format(length=84))
    assert result.returncode == 0, result.stdout
    assert "doctest examples of the pages (Sybil): 3 (2 passed, 1 skipped)" in result.stdout
    assert "shown here to test the skip directive" in result.stdout


def test_a_wrong_value_fails_and_names_page_and_line(tmp_path: Path):
    result = run_pages(tmp_path, PAGE.format(length=85))
    assert result.returncode == 1
    assert "page.md:7" in result.stdout  # the line of `>>> len(SEQUENCE)`
    assert "Expected:\n    85\nGot:\n    84" in result.stdout


def test_a_removed_import_fails(tmp_path: Path):
    broken = PAGE.format(length=84).replace(">>> from snippets.tokenization import SEQUENCE\n", "")
    result = run_pages(tmp_path, broken)
    assert result.returncode == 1
    assert "NameError: name 'SEQUENCE' is not defined" in result.stdout
