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
from pathlib import Path

from sybil import Sybil
from sybil.evaluators.doctest import DocTestEvaluator
from sybil.parsers.abstract.doctest import DocTestStringParser
from sybil.parsers.markdown import CodeBlockParser, SkipParser

DOCS = Path(__file__).resolve().parent.parent / "docs"
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
