"""Every page's code stands alone: pasted in order into a fresh Python shell, it runs, and every
name it uses is defined on the page (snippets/render/page_code.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from snippets.render.page_code import check_page, code_blocks, nav_pages, page_items
from snippets.render.replformat import (
    blank_lines_in_blocks,
    lecture_modules,
    without_blank_lines_in_blocks,
)

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("page", [p for p in nav_pages() if code_blocks(p)])
def test_the_page_s_code_runs_pasted_into_a_fresh_shell(page: str):
    problems = check_page(page)
    assert not problems, "\n".join(map(str, problems))


def test_the_tokenization_page_shows_its_imports_and_sentence_first():
    """The issue's case: its functions use SEQUENCE, re, random and json."""
    first = code_blocks("tokenization.md")[0]
    assert first.includes == ("snippets/tokenization.py:setup",)
    for line in ("import json", "import random", "import re", "SEQUENCE = ("):
        assert line in first.code.splitlines()


MODULE = '''\
import json

# --8<-- [start:setup]
GREETING = "hello"
# --8<-- [end:setup]


# --8<-- [start:helper]
def shout(text):
    """Upper case."""
    import string

    return text.upper() + string.punctuation[0]


# --8<-- [end:helper]


# --8<-- [start:uses]
def dump(data):
    """JSON, and a name nobody defines."""
    return json.dumps(data) + SUFFIX


# --8<-- [end:uses]


# --8<-- [start:plumbing]
def where():
    """Reaches into this repository."""
    from snippets.profiles import checkpoint
    return checkpoint("encoder")


# --8<-- [end:plumbing]
'''

PAGE = """# A page

```python
--8<-- "snippets/topic.py:setup"
```

```python
--8<-- "snippets/topic.py:helper"
```

```python
--8<-- "snippets/topic.py:uses"
```

```python
--8<-- "snippets/topic.py:plumbing"
```

--8<-- "docs/generated/history-timeline.md"
"""


def planted(tmp_path: Path, page: str = PAGE) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text(page)
    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets" / "topic.py").write_text(MODULE)
    config = tmp_path / "mkdocs.yml"
    config.write_text((REPO / "mkdocs.yml").read_text())
    return config


def test_the_check_finds_what_a_student_pasting_the_page_would_hit(tmp_path: Path):
    problems = [str(p) for p in check_page("page.md", planted(tmp_path))]
    assert len(problems) == 5, problems

    def one(start: str) -> str:
        (found,) = [p for p in problems if p.startswith(start)]
        return found

    helper = one("docs/page.md:7: pasting snippets/topic.py:helper into Python's shell fails")
    assert "line 5: IndentationError: unexpected indent at '    return text.upper()" in helper
    assert "run `nox -s lint -- --fix`" in helper
    one("docs/page.md:15: snippets/topic.py:plumbing imports snippets.profiles from this")
    one("docs/page.md:11: snippets/topic.py:uses uses 'json', which no code on the page defines")
    one("docs/page.md:11: snippets/topic.py:uses uses 'SUFFIX', which no code on the page")
    output = one("docs/page.md:19: the output of history-timeline is on the page, but not")
    assert "the section of snippets/history.py that defines example_timeline" in output


def test_blocks_are_what_the_site_shows(tmp_path: Path):
    """Sections nested in a section are left out, as pymdownx.snippets leaves them; a block
    holds only includes; outputs come in page order with the blocks."""
    items = page_items("page.md", planted(tmp_path))
    assert [type(i).__name__ for i in items] == ["CodeBlock"] * 4 + ["OutputInclude"]
    assert items[0].code == 'GREETING = "hello"\n'
    assert items[0].modules == ("snippets.topic",)
    pasted = PAGE.replace('--8<-- "snippets/topic.py:setup"', 'GREETING = "hello"')
    (tmp_path / "pasted").mkdir()
    with pytest.raises(ValueError, match=r"docs/page.md:3: a python block holds only includes"):
        page_items("page.md", planted(tmp_path / "pasted", pasted))


def test_lecture_modules_have_no_empty_line_inside_a_block():
    """What replformat --check enforces (with ruff's format); here without ruff."""
    modules = lecture_modules()
    assert {p.name for p in modules} >= {"tokenization.py", "corpus.py", "sentiment.py"}
    assert not {"offline.py", "profiles.py", "codehash.py"} & {p.name for p in modules}
    for path in modules:
        assert blank_lines_in_blocks(path.read_text()) == [], path.name


def test_replformat_drops_only_empty_lines_inside_blocks():
    text = (
        'import os\n\n\ndef f():\n    """Doc.\n\n    More."""\n    import sys\n\n'
        "    def g():\n        return 1\n\n    return g\n\n\nX = [\n    1,\n\n    2,\n]\n"
    )
    assert blank_lines_in_blocks(text) == [9, 12, 18]
    assert without_blank_lines_in_blocks(text) == text.replace("sys\n\n", "sys\n").replace(
        "1\n\n    return", "1\n    return"
    ).replace("1,\n\n", "1,\n")
