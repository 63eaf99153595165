"""Checking a page's include lines before pymdownx.snippets expands them.

A page includes code with ``--8<-- "snippets/<topic>.py:<section>"`` and an output with
``--8<-- "docs/generated/<id>.md"``. A wrong one would otherwise end the build in a traceback of
the Markdown extension that names neither the page nor the rule; here each problem is one line
that names the page, what it asked for, what exists, and the rule (see
:func:`snippets.render.examples.id_of` for example ids).
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

# (indented too: an include inside an admonition, a content tab or a list item)
INCLUDE = re.compile(r'^[ \t]*--8<-- "([^"]+)"\s*$', re.MULTILINE)
SECTION = re.compile(r"--8<-- \[start:([\w-]+)\]")
# A section marker as pymdownx.snippets reads it (RE_SNIPPET_SECTION, without its escape).
MARKER = re.compile(r"-+8<-+[ \t]+\[[ \t]*(start|end)[ \t]*:[ \t]*([a-z][-_0-9a-z]*)[ \t]*\]", re.I)
SNIP = re.compile(r"-+8<-+")  # the snippet mark, as pymdownx.snippets finds it
GENERATED = "docs/generated/"


def include_problems(
    markdown: str,
    page: str,
    root: Path,
    examples: list | None = None,
    require_rendered: bool = True,
) -> list[str]:
    """One line per include of ``markdown`` (the page ``page``) that cannot be expanded.

    Args:
        examples: the discovered examples (default: discovered once, if the page includes an
            output).
        require_rendered: an output of a known example that is not rendered yet is a problem
            (the site's build); the render, which is about to make it, passes False.
    """
    problems = []
    for target in INCLUDE.findall(markdown):
        path, _, section = target.partition(":")
        if path.startswith(GENERATED) and path.endswith(".md"):
            if examples is None:
                from snippets.render.examples import discover_examples

                examples = discover_examples()
            example_id = path.removeprefix(GENERATED).removesuffix(".md")
            problem = _output_problem(example_id, root, examples, require_rendered)
        elif not (root / path).is_file():
            problem = f"there is no file {path}"
        elif section:
            problem = section_problem(path, (root / path).read_text(encoding="utf-8"), section)
        else:
            problem = ""
        if problem:
            problems.append(f'{page}: --8<-- "{target}": {problem}')
    return problems


def section_problem(path: str, text: str, section: str) -> str:
    """What is wrong with section ``section`` of the file ``path`` (text ``text``) for an
    include ("" when nothing).

    pymdownx.snippets takes a section from its ``[start:name]`` line to its ``[end:name]``
    line, and to the end of the file when the end is missing, silently: a misspelt end marker
    (``[ned:setup]``) would put the rest of the file on the page and in the notebook. So the
    end must be there, after the start, and every line of the file that holds the snippet mark
    ``--8<--`` must be a well-formed marker (a misspelt one inside a section would be shown as
    code)."""
    sections = SECTION.findall(text)
    if section not in sections:
        return (
            f"{path} has no section {section!r} (marked `# --8<-- [start:{section}]` ... "
            f"`# --8<-- [end:{section}]`); its sections: {', '.join(sections) or 'none'}"
        )
    start, end, odd = None, None, []
    for number, line in enumerate(text.splitlines(), start=1):
        if not SNIP.search(line):
            continue
        marker = MARKER.search(line)
        if marker is None:
            odd.append(f"line {number} `{line.strip()}` is no marker")
        elif marker[2] == section and marker[1].lower() == "start" and start is None:
            start = number
        elif marker[2] == section and marker[1].lower() == "end" and start and end is None:
            end = number
    if end is None:
        hint = f" ({'; '.join(odd)}: a misspelt end?)" if odd else ""
        return (
            f"{path}: section {section!r} starts at line {start} but has no "
            f"`# --8<-- [end:{section}]` after it{hint}; without it pymdownx.snippets would "
            "show the rest of the file"
        )
    if odd:
        return (
            f"{path}: {'; '.join(odd)}: a section marker is `# --8<-- [start:NAME]` or "
            "`# --8<-- [end:NAME]` (pymdownx.snippets would show a misspelt one as code)"
        )
    return ""


def site_include_problems(examples: list | None = None, require_rendered: bool = True) -> list[str]:
    """The include problems of every page of the site's navigation (``mkdocs.yml``); see
    :func:`include_problems` for the arguments."""
    from snippets.render.notebooks import CONFIG, nav_pages

    docs = CONFIG.parent / "docs"
    return [
        problem
        for page in nav_pages()
        if (docs / page).is_file()
        for problem in include_problems(
            (docs / page).read_text(encoding="utf-8"),
            f"docs/{page}",
            CONFIG.parent,
            examples,
            require_rendered,
        )
    ]


def _output_problem(example_id: str, root: Path, found: list, require_rendered: bool) -> str:
    from snippets.render.examples import id_of

    examples = {e.id: e for e in found}
    if example_id in examples:
        if not require_rendered or (root / GENERATED / f"{example_id}.md").is_file():
            return ""
        return f"the example {example_id} has not been rendered yet: run `nox -s render`"
    rule = (
        "an example's id is its module, a hyphen, and its function's name without example_, "
        f"underscores as hyphens (e.g. {id_of('tokenization', 'example_two_sentences')} for "
        "example_two_sentences in snippets/tokenization.py)"
    )
    topic = example_id.split("-", 1)[0]
    same_topic = sorted(i for i in examples if i.split("-", 1)[0] == topic)
    close = difflib.get_close_matches(example_id, list(examples), n=3, cutoff=0.6)
    known = (f"ids of snippets/{topic}.py: {', '.join(same_topic)}" if same_topic
             else f"no module snippets/{topic}.py has examples")  # fmt: skip
    guess = f"; did you mean {' or '.join(close)}?" if close else ""
    return f"no example has the id {example_id!r} ({rule}); {known}{guess}"
