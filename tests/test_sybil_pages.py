"""A wrong example on a page fails the run and names the page and line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def run_page_set(tmp_path: Path, pages: dict[str, str], *extra: str, order: str = "") -> str:
    for name, text in pages.items():
        (tmp_path / name).write_text(text)
    env = {**os.environ, "LECTURE_DOCS_DIR": str(tmp_path), "LECTURE_PAGE_ORDER": order}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra,
         "-c", str(REPO / "pyproject.toml"), "--rootdir", str(REPO), str(tmp_path)],
        cwd=REPO, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    return result.stdout


PRINT_OPTIONS = """# A
```pycon
>>> import torch
>>> torch.set_printoptions(precision=2)
>>> import numpy as np
>>> np.set_printoptions(precision=1)
>>> import random
>>> _ = random.random()
```
"""
READS_DEFAULTS = """# B
```pycon
>>> import random, numpy as np, torch
>>> torch.tensor([1.23456])
tensor([1.2346])
>>> np.array([1.23456])
array([1.23456])
>>> random.Random(0).random() == random.random()
True
```
"""


def test_print_options_and_seeds_do_not_leak_between_pages(tmp_path: Path):
    pages = {"a.md": PRINT_OPTIONS, "b.md": READS_DEFAULTS}
    for order in ("", "reverse"):
        assert "10 passed" in run_page_set(tmp_path, pages, order=order)


FIGURES = """# Figures
```pycon
>>> import matplotlib.pyplot as plt
>>> plt.get_fignums()
[]
>>> figures = [plt.figure() for _ in range(15)]
>>> plt.show()
```
"""


def test_figures_are_closed_between_pages_and_show_is_harmless(tmp_path: Path):
    """Three pages of 15 figures each would pass matplotlib's limit of 20 open figures."""
    pages = {f"fig{i}.md": FIGURES for i in range(3)}
    output = run_page_set(tmp_path, pages, "-W", "error")
    assert "12 passed" in output


CLEARED = """# Cleared
```pycon
>>> model = "the previous section's model"
```

<!-- clear-namespace -->

```pycon
>>> model
Traceback (most recent call last):
...
NameError: name 'model' is not defined
```
"""


def test_clear_namespace_empties_the_namespace(tmp_path: Path):
    assert "2 passed" in run_page_set(tmp_path, {"cleared.md": CLEARED})


@pytest.mark.parametrize("order", ["reverse", "random:1", "random:2"])
def test_the_lecture_pages_pass_in_any_order(order: str):
    env = {**os.environ, "LECTURE_PAGE_ORDER": order}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(REPO / "docs")],
        cwd=REPO, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout


NO_REASON = """# A page

<!-- skip: next -->

```pycon
>>> 1 + 1 == 3
True
```
"""


EVERY_FORM = """# Skips

<!-- skip: next "double quotes, as the pages write it" -->

```pycon
>>> raise RuntimeError("one")
```

<!-- skip: next 'single quotes' -->

```pycon
>>> raise RuntimeError("two")
```

<!--- skip next "three dashes and no colon" --->

```pycon
>>> raise RuntimeError("three")
```

<!-- skip: next if(True, reason="a condition that holds") -->

```pycon
>>> raise RuntimeError("four")
```

<!-- skip: start "a range of blocks" -->

```pycon
>>> raise RuntimeError("five")
```

```pycon
>>> raise RuntimeError("six")
```

<!-- skip: end -->

<!-- skip: next if(False, reason="a condition that does not hold: the block runs") -->

```pycon
>>> 1 + 1
2
```
"""


def test_every_form_of_skip_counts_and_a_skip_without_a_reason_fails(tmp_path: Path):
    """Every form Sybil reads is seen, counted as skipped and reported with its reason. After a
    reasonless ``skip: next`` Sybil skips the block and reports it as passed: here the directive
    fails where it stands, and the block runs (and its wrong value fails)."""
    from tests.sybil_pages import skip_directives

    assert [(d.line, d.action, d.reason) for d in skip_directives(EVERY_FORM)] == [
        (3, "next", "double quotes, as the pages write it"),
        (9, "next", "single quotes"),
        (15, "next", "three dashes and no colon"),
        (21, "next", "a condition that holds"),
        (27, "start", "a range of blocks"),
        (37, "end", None),
        (39, "next", "a condition that does not hold: the block runs"),
    ]
    (tmp_path / "forms.md").write_text(EVERY_FORM)
    result = run_pages(tmp_path, NO_REASON)  # page.md, beside forms.md
    assert result.returncode == 1, result.stdout
    assert "page.md:3: <!-- skip: next --> gives no reason; write why" in result.stdout
    assert "Expected:\n    True\nGot:\n    False" in result.stdout
    assert "doctest examples of the pages (Sybil): 8 (1 failed, 1 passed, 6 skipped)" in (
        result.stdout
    )
    skipped = {"double quotes, as the pages write it": 1, "single quotes": 1,
               "three dashes and no colon": 1, "a condition that holds": 1,
               "a range of blocks": 2}  # fmt: skip
    for reason, count in skipped.items():
        assert f"  skipped {count}: forms.md: {reason}\n" in result.stdout
    # Nothing else: the block after the if(False) skip ran, so it has no reason to report.
    assert result.stdout.count("  skipped ") == len(skipped)
    assert result.stdout.splitlines()[-1].startswith("2 failed, ")  # the skip and the block


def test_a_doctest_that_passed_without_being_executed_fails():
    """The report hook turns a doctest example's pass into a failure unless the evaluator ran
    it, and marks doctest reports (only those) for the summary."""
    from types import SimpleNamespace

    from sybil.evaluators.doctest import DocTestEvaluator

    from tests.sybil_pages import OPTIONS, pytest_runtest_makereport

    def report_of(evaluator, **executed):
        example = SimpleNamespace(region=SimpleNamespace(evaluator=evaluator), path="page.md",
                                  line=6, **executed)  # fmt: skip
        hook = pytest_runtest_makereport(SimpleNamespace(example=example), None)
        next(hook)
        report = pytest.TestReport("page.md::line:6", ("page.md", 5, ""), {}, "passed", None,
                                   "call")  # fmt: skip
        with pytest.raises(StopIteration) as returned:
            hook.send(report)
        assert returned.value.value is report
        return report

    doctest = DocTestEvaluator(OPTIONS)
    unexecuted = report_of(doctest)
    assert unexecuted.failed and ("page_doctest", True) in unexecuted.user_properties
    assert unexecuted.longrepr.startswith("page.md:6: this block was not executed")
    executed = report_of(doctest, lecture_executed=True)
    assert executed.passed and executed.user_properties == [("page_doctest", True)]
    directive = report_of(lambda example: None)  # a skip directive: not a doctest
    assert directive.passed and directive.user_properties == []
