"""The lecture's one bibliography: ``docs/references.json`` (CSL-JSON), citations and the list.

A page cites with ``[@key]`` (or ``[@key1; @key2]``); the build hook
(``snippets/render/mkdocs_hooks.py``) replaces each citation by a link, ``Zvyagin et al. 2022``,
to the entry on the References page (``docs/references.md``), where the marker
``<!-- references -->`` becomes the full list: authors, year, title, where it appeared, and the
DOI, arXiv id or URL as a printed link, so that a reader of the PDF can follow it up.

The entries are CSL-JSON (the format of Zotero, pandoc and citeproc), read with the standard
library; arXiv ids are kept in ``note`` as ``arXiv:<id>``. Formatting a dozen entries in one
style is a few lines, so no citation processor is needed.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

CITATION = re.compile(r"\[(@[\w-]+(?:\s*;\s*@[\w-]+)*)\]")
MARKER = "<!-- references -->"
REFERENCES_PAGE = "references.md"
MAX_AUTHORS = 10  # longer author lists print the first ten, then "et al."


class BibliographyError(ValueError):
    """A citation names no entry, or an entry lacks what the list needs."""


def load(path: Path) -> dict[str, dict]:
    """``{id: entry}`` of the CSL-JSON file at ``path``.

    Raises:
        BibliographyError: the file is not a list of entries with unique ids, or an entry has
            no title, no author or neither a DOI, an arXiv id nor a URL.
    """
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise BibliographyError(f"{path}: cannot read the bibliography ({error})") from error
    result: dict[str, dict] = {}
    for entry in entries:
        key = entry.get("id")
        if not key or key in result:
            raise BibliographyError(f"{path}: an entry without an id, or a repeated id {key!r}")
        if not entry.get("title") or not entry.get("author"):
            raise BibliographyError(f"{path}: entry {key!r} needs a title and an author")
        if not links(entry):
            raise BibliographyError(f"{path}: entry {key!r} needs a DOI, an arXiv id or a URL")
        result[key] = entry
    return result


def arxiv_id(entry: dict) -> str | None:
    match = re.search(r"arXiv:(\S+)", entry.get("note", ""))
    return match[1] if match else None


def links(entry: dict) -> list[tuple[str, str]]:
    """``[(label, url)]``: the entry's DOI, arXiv id and URL, in that order."""
    found = []
    if entry.get("DOI"):
        found.append((f"doi:{entry['DOI']}", f"https://doi.org/{entry['DOI']}"))
    if arxiv := arxiv_id(entry):
        found.append((f"arXiv:{arxiv}", f"https://arxiv.org/abs/{arxiv}"))
    if entry.get("URL") and not found:
        found.append((entry["URL"], entry["URL"]))
    return found


def _name(author: dict, *, full: bool) -> str:
    if "literal" in author:
        return author["literal"]
    if not full:
        return author["family"]
    initials = " ".join(
        f"{part[0]}." for part in re.split(r"[\s]+", author.get("given", "")) if part
    )
    return f"{author['family']}, {initials}" if initials else author["family"]


def year(entry: dict) -> str:
    parts = entry.get("issued", {}).get("date-parts", [[]])
    return str(parts[0][0]) if parts and parts[0] else "n.d."


def label(entry: dict) -> str:
    """How the text cites an entry: ``Vig 2019``, ``Sanh et al. 2019``."""
    authors = entry["author"]
    names = _name(authors[0], full=False)
    if len(authors) == 2:
        names += f" and {_name(authors[1], full=False)}"
    elif len(authors) > 2:
        names += " et al."
    return f"{names} {year(entry)}"


def reference_markdown(entry: dict) -> str:
    """One entry in full, as a Markdown paragraph with the id ``ref-<key>``."""
    authors = [_name(a, full=True) for a in entry["author"]]
    if len(authors) > MAX_AUTHORS:
        who = ", ".join(authors[:MAX_AUTHORS]) + ", et al."
    else:
        who = ", ".join(authors[:-1]) + (" & " if len(authors) > 1 else "") + authors[-1]
    where = entry.get("container-title") or entry.get("publisher") or ""
    details = ", ".join(
        part
        for part in (
            f"*{html.escape(where)}*" if where else "",
            f"{entry['volume']}" + (f"({entry['issue']})" if entry.get("issue") else "")
            if entry.get("volume")
            else "",
            f"pp. {entry['page'].replace('-', '–')}" if entry.get("page") else "",
        )
        if part
    )
    urls = " · ".join(f"[{html.escape(text)}]({url})" for text, url in links(entry))
    return (
        f"{html.escape(who)} ({year(entry)}). {html.escape(entry['title'])}. "
        f"{details + '. ' if details else ''}{urls}\n{{: #ref-{entry['id']} }}"
    )


def references_markdown(entries: dict[str, dict]) -> str:
    """The References list: every entry in full, sorted by first author and year."""
    ordered = sorted(entries.values(), key=lambda e: (label(e).lower(), e["id"]))
    return "\n\n".join(reference_markdown(entry) for entry in ordered) + "\n"


def cite(markdown: str, entries: dict[str, dict], page: str, link_base: str = "") -> str:
    """``markdown`` with every ``[@key]`` citation replaced by links to the References page.

    Raises:
        BibliographyError: a citation names a key that is not in the bibliography (the message
            names the page and the key).
    """

    def replace(match: re.Match) -> str:
        keys = [k.strip().lstrip("@") for k in match[1].split(";")]
        missing = [k for k in keys if k not in entries]
        if missing:
            raise BibliographyError(
                f"docs/{page} cites {', '.join(missing)}, which docs/references.json does not "
                "have: add the entry (with its DOI, arXiv id or URL) or fix the key"
            )
        cited = "; ".join(
            f"[{label(entries[k])}]({link_base}{REFERENCES_PAGE}#ref-{k})" for k in keys
        )
        return f"({cited})"

    return CITATION.sub(replace, markdown)


def citations(markdown: str) -> list[str]:
    """The keys a page's Markdown cites, in order."""
    return [k.strip().lstrip("@") for group in CITATION.findall(markdown) for k in group.split(";")]
