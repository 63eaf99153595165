"""Sybil over the lecture pages: every ``pycon`` block of ``docs/*.md`` is run as a doctest.

Loaded as a pytest plugin (``-p tests.sybil_pages`` in pyproject.toml). Blocks of one page share
a namespace, in page order. ``python`` blocks on the pages are the lecture's code included from
``snippets/`` (already run by the renderer and the unit tests) and are not collected here.

A block that cannot run here is marked on the page, with its reason, by
``<!-- skip: next "reason" -->``; the run prints every skipped block and why
(``-rs``), and ``tests/test_pages.py`` pins how many there are.
"""

from __future__ import annotations

import doctest
import os
from pathlib import Path

import pytest
from sybil import Sybil
from sybil.evaluators.doctest import DocTestEvaluator
from sybil.parsers.abstract.doctest import DocTestStringParser
from sybil.parsers.markdown import CodeBlockParser, SkipParser

# The pages to collect; LECTURE_DOCS_DIR points elsewhere (the tests of this plugin use it).
DOCS = Path(os.environ.get("LECTURE_DOCS_DIR", Path(__file__).resolve().parent.parent / "docs"))
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


class PyconDoctestParser:
    """Doctests in fenced ``pycon`` blocks (shown with prompts by the site's highlighter)."""

    def __init__(self) -> None:
        self.blocks = CodeBlockParser(language="pycon")
        self.doctests = DocTestStringParser(DocTestEvaluator(OPTIONS))

    def __call__(self, document):
        for region in self.blocks(document):
            source = region.parsed
            for doctest_region in self.doctests(source, document.path):
                doctest_region.adjust(region, source)
                yield doctest_region


pytest_collect_file = Sybil(
    parsers=[PyconDoctestParser(), SkipParser()],
    path=str(DOCS),
    patterns=["*.md"],
    excludes=["generated/*"],
).pytest()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Mark the reports of doctest examples (not of skip directives) for the summary."""
    report = yield
    example = getattr(item, "example", None)
    if example is not None and isinstance(example.region.evaluator, DocTestEvaluator):
        report.user_properties.append(("page_doctest", True))
    return report


def pytest_terminal_summary(terminalreporter) -> None:
    """After the run: how many doctest examples of the pages ran, passed, failed and were
    skipped, and why each skip happened."""
    counts: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if ("page_doctest", True) not in getattr(report, "user_properties", []):
                continue
            counts[outcome] = counts.get(outcome, 0) + 1
            if outcome == "skipped" and isinstance(report.longrepr, tuple):
                page = report.nodeid.split("::")[0]
                reason = f"{page}: {report.longrepr[2].removeprefix('Skipped: ')}"
                reasons[reason] = reasons.get(reason, 0) + 1
    if not counts:
        return
    total = sum(counts.values())
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    terminalreporter.write_sep("-", f"doctest examples of the pages (Sybil): {total} ({summary})")
    for reason, n in sorted(reasons.items()):
        terminalreporter.write_line(f"  skipped {n}: {reason}")
