"""The print page (``print_page.html``, the PDF's source) made whole after print-site writes it.

mkdocs-print-site-plugin joins every page of the navigation into one page and rewrites in-page
links to ``#<page>-<id>``, but renames only the ids of headings, footnotes and tabs. This module,
called from the build hook (``snippets/render/mkdocs_hooks.py``), parses the page with
BeautifulSoup and:

* renames every other id of a page's section the same way (code line anchors, output figures),
  so that no id is duplicated and every rewritten link finds its target;
* points links at pages the print page leaves out (the notebooks, the maintainers' pages) to
  those pages on the site instead of to a missing anchor;
* drops the chapters that would print empty (a navigation section whose pages are all left out);
* writes the contents itself, with the numbered sections of each chapter (the plugin's script
  copies the sidebar, which lists chapters only), each entry with a slot for its page number
  that :mod:`snippets.render.pdf` fills in;
* moves every folded worked solution (``??? solution``, a ``<details class="solution">``) to
  the end of its chapter, under a heading "Solutions", open, and leaves a line in its place
  that points there: on paper a chapter shows its tasks, and its solutions after them; the
  other folded blocks (hints) are printed open where they are;
* marks a figure much taller than wide (``tall-figure``), which print CSS lets take most of a
  page instead of half, so that its text stays legible;
* wraps each line of code and text output in a block of its own that says where its
  continuation starts, so that a line wrapped on paper continues right of its own indentation
  (code) or under its table's last column (text outputs): a hanging indent; and
  gives each block its widest line (``--cols``) so that print CSS can shrink a wide table to the
  page instead of wrapping it (``docs/assets/lecture.css``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

from bs4 import BeautifulSoup, Tag

# The tags whose ids print-site renames itself (mkdocs_print_site_plugin.urls.update_anchor_ids
# and fix_tabbed_content).
PLUGIN_RENAMED = {"h1", "h2", "h3", "h4", "h5", "h6", "sup", "li", "input"}
CONTENTS_DEPTH = 3  # h1 (chapter), h2 and h3, numbered as the print CSS numbers them
SHORT_BLOCK_LINES = 12  # code blocks up to this many lines are not split across pages
_SPAN = re.compile(r"<(/?)span\b[^>]*>")
TALL_FIGURE = 1.3  # a figure this many times taller than wide may take most of a page
_TAG = re.compile(r"<[^>]+>")


def _page_sections(root: Tag) -> list[Tag]:
    return [
        s
        for s in root.find_all("section", class_="print-page")
        if s.get("id") and "md-section" not in s.get("class", [])
    ]


# Attributes that name other elements by id (accessible names, form labels, table headers).
ID_REFERENCES = ("aria-labelledby", "aria-describedby", "aria-controls", "for", "headers")


def _rename_ids(section: Tag) -> None:
    """Prefix the ids print-site left alone with the page's key, as it prefixed the links,
    and point the section's id references (``aria-labelledby``, ``for``, ...) at the
    renamed ids."""
    key = section["id"]
    for element in section.find_all(id=True):
        if element.name in PLUGIN_RENAMED:
            continue
        element["id"] = f"{key}-{element['id']}"
        if element.name == "a" and element.get("name"):
            element["name"] = element["id"]
    ids = {element["id"] for element in section.find_all(id=True)}
    for attribute in ID_REFERENCES:
        for element in section.find_all(attrs={attribute: True}):
            tokens = element[attribute]
            tokens = tokens if isinstance(tokens, list) else tokens.split()
            renamed = [
                f"{key}-{token}" if token not in ids and f"{key}-{token}" in ids else token
                for token in tokens
            ]
            element[attribute] = " ".join(renamed)


def _drop_empty_chapters(soup: BeautifulSoup, root: Tag) -> None:
    """Remove navigation sections left without a page, and their entries in the sidebar."""
    for section in root.find_all("section", class_="md-section"):
        if not section.find("section", class_="print-page"):
            for link in soup.find_all("a", href=f"#{section.get('id')}"):
                (link.find_parent("li") or link).decompose()
            section.decompose()


def _relink_left_out_pages(root: Tag, pages: Mapping[str, str], ids: set[str]) -> None:
    """``#notebooks-lecture`` (a page the print page leaves out) becomes
    ``notebooks/lecture.html``: the page on the site."""
    keys = sorted(pages, key=len, reverse=True)  # longest key first: "notebooks-lecture" wins
    for link in root.find_all("a", href=True):
        href = link["href"]
        if not href.startswith("#") or href[1:] in ids:
            continue
        target = href[1:]
        for key in keys:
            if target == key or target.startswith(key + "-"):
                anchor = target[len(key) + 1 :]
                link["href"] = pages[key] + (f"#{anchor}" if anchor else "")
                break


def heading_text(heading: Tag) -> str:
    """A heading's words without its permalink."""
    parts = [
        str(s) for s in heading.find_all(string=True) if not s.find_parent(class_="headerlink")
    ]
    return " ".join("".join(parts).split())


def _contents(soup: BeautifulSoup, root: Tag) -> None:
    """Write the contents: every chapter and its h2/h3 sections, numbered, with page slots."""
    nav = root.find(id="print-page-toc")
    if nav is None:
        return
    nav = nav.find("nav") or nav
    listing = soup.new_tag("ol", attrs={"class": "print-contents"})
    for section in _page_sections(root):
        number = section.get("heading-number", "")
        counters = [0] * (CONTENTS_DEPTH + 1)
        for heading in section.find_all(re.compile(f"^h[1-{CONTENTS_DEPTH}]$")):
            level = int(heading.name[1])
            if level == 1:
                label = number
            else:
                counters[level] += 1
                counters[level + 1 :] = [0] * (CONTENTS_DEPTH - level)
                label = ".".join([number, *map(str, counters[2 : level + 1])])
            target = heading.get("id") or (section["id"] if level == 1 else None)
            if not target:
                continue
            item = soup.new_tag("li", attrs={"class": f"print-contents-h{level}"})
            link = soup.new_tag("a", href=f"#{target}")
            number_tag = soup.new_tag("span", attrs={"class": "print-contents-number"})
            number_tag.string = label
            title = soup.new_tag("span", attrs={"class": "print-contents-title"})
            title.string = heading_text(heading)
            page = soup.new_tag("span", attrs={"class": "print-contents-page"})
            page["data-target"] = target
            link.extend([number_tag, title, page])
            item.append(link)
            listing.append(item)
    nav.append(listing)


_COLUMN = re.compile(r"(?:\|\s*|\s{2,})(?=\S)")  # where a column of a text table starts
TABLE_COLUMN_WITHIN = 40  # a continuation hangs under a column that starts this far at most
CODE_HANG = 4  # a wrapped line of code continues 4 characters right of its indentation


def hang(text: str, *, table: bool) -> int:
    """Where the continuation of ``text`` (one line) starts when it wraps, in characters: its
    indentation plus four for code; for a text output (``table``), under the last column that
    starts within the first 40 characters (``| T=1.8 | ' sweetline ...`` continues under the
    quote), else as code does."""
    indent = len(text) - len(text.lstrip(" "))
    if table:
        starts = [
            m.end() for m in _COLUMN.finditer(text) if indent < m.end() <= TABLE_COLUMN_WITHIN
        ]
        if starts:
            return starts[-1]
    return indent + CODE_HANG


def _code_lines(inner: str, *, table: bool = False) -> tuple[str, int, int]:
    """Wrap each line of a code block's HTML in ``<span class="code-line">`` carrying where its
    continuation starts when it wraps (``--hang``, in characters, see :func:`hang`), closing and
    reopening the highlighter's spans that run across lines. Returns ``(html, number of lines,
    longest line in characters)``."""
    lines = inner.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out, stack, widest = [], [], 0
    for line in lines:
        opened = "".join(stack)
        for match in _SPAN.finditer(line):
            if match[1]:
                if stack:
                    stack.pop()
            else:
                stack.append(match[0])
        text = html.unescape(_TAG.sub("", line))
        widest = max(widest, len(text))
        out.append(
            f'<span class="code-line" style="--hang: {hang(text, table=table)}">'
            f"{opened}{line}{'</span>' * len(stack)}\n</span>"
        )
    return "".join(out), len(lines), widest


def _hanging_code(root: Tag) -> None:
    for code in root.select("pre > code"):
        output = code.find_parent("figure", class_="lecture-output") is not None
        new, count, widest = _code_lines(code.decode_contents(), table=output)
        code.clear()
        # Parsed inside a <pre>: elsewhere BeautifulSoup collapses whitespace-only strings,
        # the indentation between two tags.
        lines = BeautifulSoup(f"<pre>{new}</pre>", "html.parser").pre
        code.extend(list(lines.contents))
        pre = code.parent
        pre["style"] = f"--cols: {max(widest, 1)}"
        if count <= SHORT_BLOCK_LINES:
            pre["class"] = [*pre.get("class", []), "short-block"]


def _solutions_at_chapter_end(soup: BeautifulSoup, root: Tag) -> None:
    """Move each chapter's folded solutions to a "Solutions" section at its end, open, with a
    pointer in their place; open every other folded block (hints) where it is."""
    for section in _page_sections(root):
        solutions = [
            d
            for d in section.find_all("details", class_="solution")
            if not d.find_parent("details", class_="solution")
        ]
        if solutions:
            key = section["id"]
            heading = soup.new_tag("h2", id=f"{key}-solutions")
            heading.string = "Solutions"
            section.append(heading)
            for number, details in enumerate(solutions, start=1):
                details["id"] = f"{key}-solution-{number}"
                summary = details.find("summary")
                title = heading_text(summary) if summary else "Worked solution"
                pointer = soup.new_tag("p", attrs={"class": "solution-pointer"})
                pointer.append(f"{title}: at the end of this chapter, under ")
                link = soup.new_tag("a", href=f"#{details['id']}")
                link.string = "Solutions"
                pointer.extend([link, "."])
                details.replace_with(pointer)
                section.append(details)
        for details in section.find_all("details"):
            details["open"] = ""


def _mark_tall_figures(root: Tag) -> None:
    """Give the figures much taller than wide the class ``tall-figure`` (sizes read from the
    PNGs in ``docs/generated/``)."""
    from snippets.render.manifest import GENERATED_DIR

    for image in root.select("figure.lecture-output img.lecture-figure"):
        name = str(image.get("src", "")).rsplit("/", 1)[-1]
        path = GENERATED_DIR / name
        if not name.endswith(".png") or not path.is_file():
            continue
        header = path.read_bytes()[:24]
        width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
        if height > TALL_FIGURE * width:
            figure = image.find_parent("figure")
            figure["class"] = [*figure.get("class", []), "tall-figure"]


def tidy(text: str, pages: Mapping[str, str]) -> str:
    """The print page's HTML ``text`` made whole (see the module's docstring).

    Args:
        text: ``print_page.html`` as print-site wrote it.
        pages: ``{page key: url}`` of every page of the site (``{"notebooks-lecture":
            "notebooks/lecture.html", ...}``); keys as print-site makes them.

    Returns:
        The new HTML. A page without print-site's ``#print-site-page`` is returned unchanged.
    """
    soup = BeautifulSoup(text, "html.parser")
    root = soup.find(id="print-site-page")
    if root is None:
        return text
    _drop_empty_chapters(soup, root)
    for section in _page_sections(root):
        _rename_ids(section)
    _solutions_at_chapter_end(soup, root)
    _mark_tall_figures(root)
    ids = {element["id"] for element in soup.find_all(id=True)}
    _relink_left_out_pages(root, pages, ids)
    _contents(soup, root)
    _hanging_code(root)
    result = str(soup)
    # The plugin's script would append a copy of the sidebar (chapters only) to the contents.
    return result.replace("generate_toc();", "")
