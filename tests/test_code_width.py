"""Shown code fits its column: at 1280 px (a laptop) no code block on the site scrolls sideways.

A line that runs off the right edge of a code block is a line a student does not read. The
check is made in Chromium on the built site, on every page of the navigation.
"""

from __future__ import annotations

from tests import browser_check as bc
from tests.test_browser import TIMEOUT_S, browser, chromium, site  # noqa: F401 (fixtures)

# Every <pre><code> whose content is wider than its box, with the longest line.
WIDE_CODE = """
(() => Array.from(document.querySelectorAll("pre > code"))
  .filter((code) => code.scrollWidth > code.clientWidth + 1)
  .map((code) => [code.scrollWidth, code.clientWidth,
                  code.textContent.split("\\n").reduce((a, b) => (b.length > a.length ? b : a))]))()
"""


def test_code_never_scrolls_sideways_at_1280_px(browser, site):  # noqa: F811
    """Code and text outputs fit the content column of a 1280 px window."""
    from snippets.render.notebooks import nav_pages

    wide = {}
    for page_file in nav_pages():
        page = bc.Page(browser)
        page.navigate((site / page_file.replace(".md", ".html")).as_uri(), timeout=TIMEOUT_S)
        found = page.evaluate(WIDE_CODE)
        if found:
            wide[page_file] = found
    report = [
        f"{page_file}: {scroll} px of code in a {client} px box: {line.strip()[:90]!r}"
        for page_file, blocks in wide.items()
        for scroll, client, line in blocks
    ]
    assert not report, "\n".join(report)
