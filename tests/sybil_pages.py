"""Sybil over the lecture pages: every ``pycon`` block of ``docs/*.md`` is run as a doctest.

Loaded as a pytest plugin (``-p tests.sybil_pages`` in pyproject.toml). Blocks of one page share
a namespace, in page order. ``python`` blocks on the pages are the lecture's code included from
``snippets/`` (already run by the renderer and the unit tests) and are not collected here.

A block that cannot run here is marked on the page, with its reason, by
``<!-- skip: next "reason" -->`` (or ``start "reason"`` ... ``end``, any quoting, or
``next if(condition, reason="...")``); the run prints every skipped block and why (``-rs``),
and ``tests/test_pages.py`` pins how many directives each page has, found by Sybil's own lexer
(:func:`skip_directives`), whatever their form. A skip without a reason fails where it stands
(Sybil would skip the block silently and report it as passed), and a doctest block that was not
executed is never reported as passed. ``<!-- clear-namespace -->`` empties the namespace.

Every page starts from default torch/NumPy print options, fixed seeds, the Agg backend and no
open figure, and closes its figures at the end.
"""

from __future__ import annotations

import ast
import doctest
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from sybil import Document, Region, Sybil
from sybil.evaluators.doctest import DocTestEvaluator
from sybil.parsers.abstract.doctest import DocTestStringParser
from sybil.parsers.abstract.skip import SKIP_ARGUMENTS_PATTERN
from sybil.parsers.markdown import ClearNamespaceParser, CodeBlockParser, SkipParser
from sybil.parsers.markdown.lexers import DirectiveInHTMLCommentLexer

# The pages to collect; LECTURE_DOCS_DIR points elsewhere (the tests of this plugin use it).
DOCS = Path(os.environ.get("LECTURE_DOCS_DIR", Path(__file__).resolve().parent.parent / "docs"))
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


class ExecutedDocTestEvaluator(DocTestEvaluator):
    """Sybil's doctest evaluator that also notes each example it executed, so that a block it
    never ran (skipped without a reason) cannot be reported as passed."""

    def __call__(self, example):
        example.lecture_executed = True
        return super().__call__(example)


class PyconDoctestParser:
    """Doctests in fenced ``pycon`` blocks (shown with prompts by the site's highlighter)."""

    def __init__(self) -> None:
        self.blocks = CodeBlockParser(language="pycon")
        self.doctests = DocTestStringParser(ExecutedDocTestEvaluator(OPTIONS))

    def __call__(self, document):
        for region in self.blocks(document):
            source = region.parsed
            for doctest_region in self.doctests(source, document.path):
                doctest_region.adjust(region, source)
                yield doctest_region


@dataclass(frozen=True)
class SkipDirective:
    """One skip directive of a page: ``line`` (1-based), ``action`` (next, start, end),
    ``reason`` (None when it has none)."""

    line: int
    action: str
    reason: str | None


def skip_reason(arguments: str | None) -> str | None:
    """The reason a skip directive's arguments give: a string literal in any quoting
    (``"why"``, ``'why'``, triple quotes), or the ``reason`` of ``if(condition, reason="why")``
    (Sybil's conditional form); None when there is none, or it is empty."""
    text = (arguments or "").strip()
    if text.startswith("if"):  # Sybil evaluates "if(...)" as a call of its If helper
        try:
            call = ast.parse("if_" + text[2:], mode="eval").body
        except SyntaxError:
            return None
        if not isinstance(call, ast.Call):
            return None
        given = [k.value for k in call.keywords if k.arg == "reason"] + call.args[1:2]
        text = ast.unparse(given[0]) if given else ""
    try:
        reason = ast.literal_eval(text) if text else None
    except (ValueError, SyntaxError):
        return None
    return (reason.strip() or None) if isinstance(reason, str) else None


def skip_directives(text: str, path: str = "page.md") -> list[SkipDirective]:
    """Every skip directive of a page, in every form Sybil reads (``<!-- skip: next "why" -->``,
    ``<!--- skip next 'why' --->``, ...), found with Sybil's own lexer."""
    document = Document(text, path)
    found = []
    for region in DirectiveInHTMLCommentLexer("skip")(document):
        match = SKIP_ARGUMENTS_PATTERN.match(region.lexemes["arguments"] or "")
        action, arguments = match.groups() if match else (region.lexemes["arguments"], None)
        line = text.count("\n", 0, region.start) + 1
        found.append(SkipDirective(line, action or "", skip_reason(arguments)))
    return found


class ReasonedSkipParser(SkipParser):
    """Sybil's skip directives, each of which must give its reason: a ``next`` or ``start``
    without one becomes a failure at its place, and the blocks after it run (Sybil would
    skip them silently and report them as passed)."""

    def __call__(self, document):
        for region in super().__call__(document):
            action, arguments = region.parsed
            if action in ("next", "start") and skip_reason(arguments) is None:
                line = document.text.count("\n", 0, region.start) + 1
                message = (
                    f"{document.path}:{line}: <!-- skip: {action}"
                    f"{' ' + arguments if arguments else ''} --> gives no reason; write why the "
                    f'block cannot run here: <!-- skip: {action} "why it cannot run here" -->'
                )
                yield Region(region.start, region.end, region.parsed, lambda example, m=message: m)
            else:
                yield region


def _fresh_page_state(namespace: dict) -> None:
    """Before every page: default print options and seeds, the Agg backend, no open figures.

    A page must not see what an earlier page did (``torch.set_printoptions``, an open figure,
    the random state), whatever order the pages run in.
    """
    import random

    random.seed(0)
    try:
        import numpy as np
    except ImportError:
        np = None
    if np is not None:
        np.set_printoptions(**_NUMPY_DEFAULTS)
        np.random.seed(0)
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_printoptions(profile="default", sci_mode=None)
        torch.manual_seed(0)
    try:
        import matplotlib
    except ImportError:
        return
    matplotlib.use("Agg", force=True)  # no display: figures are drawn, never shown
    import matplotlib.pyplot as plt

    plt.close("all")
    plt.show = lambda *args, **kwargs: None  # a page's plt.show() draws nothing, warns nothing


def _close_page(namespace: dict) -> None:
    """After every page: close its figures."""
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def _numpy_defaults() -> dict:
    try:
        import numpy as np
    except ImportError:
        return {}
    options = np.get_printoptions()
    options.pop("override_repr", None)  # not an argument of set_printoptions
    return options


_NUMPY_DEFAULTS = _numpy_defaults()

pytest_collect_file = Sybil(
    parsers=[PyconDoctestParser(), ReasonedSkipParser(), ClearNamespaceParser()],
    path=str(DOCS),
    patterns=["*.md"],
    excludes=["generated/*"],
    setup=_fresh_page_state,
    teardown=_close_page,
).pytest()


def pytest_collection_modifyitems(config, items) -> None:
    """``LECTURE_PAGE_ORDER=reverse`` or ``random:<seed>`` runs the pages in another order
    (the examples of one page keep theirs): the pages must pass in any order."""
    order = os.environ.get("LECTURE_PAGE_ORDER", "")
    if not order:
        return
    pages: dict[str, list] = {}
    for item in items:
        pages.setdefault(item.nodeid.split("::")[0], []).append(item)
    names = list(pages)
    if order == "reverse":
        names.reverse()
    elif order.startswith("random:"):
        import random

        random.Random(int(order.split(":", 1)[1])).shuffle(names)
    else:
        raise pytest.UsageError(f"LECTURE_PAGE_ORDER={order!r}: use reverse or random:<seed>")
    items[:] = [item for name in names for item in pages[name]]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Mark the reports of doctest examples (not of skip directives) for the summary; a
    doctest example that passed without being executed fails instead."""
    report = yield
    example = getattr(item, "example", None)
    if example is not None and isinstance(example.region.evaluator, DocTestEvaluator):
        report.user_properties.append(("page_doctest", True))
        if (
            report.when == "call"
            and report.passed
            and not getattr(example, "lecture_executed", False)
        ):
            report.outcome = "failed"
            report.longrepr = (
                f"{example.path}:{example.line}: this block was not executed (skipped without "
                "a reason?), so it did not pass: give the skip its reason, or remove it"
            )
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
