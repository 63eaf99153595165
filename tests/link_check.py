"""A link checker for the built site, as a reader from disk meets it (used by tests/test_links.py
and by ``nox -s docs``).

Every ``.html`` file of the site, the print page included, is read in one pass of the standard
library's HTML parser (``html.parser``, the parser BeautifulSoup used here, without building a
tree: about 6x faster); for each page it reports

* ids that occur more than once (``id`` attributes and ``<a name>``),
* links (``<a href>``) to a file of the site that does not exist, or to an anchor that the
  target page does not have,
* root-absolute links (``/assets/...``): from ``file://`` they point at the disk's root,
* entries of the page's table of contents (Material's secondary sidebar) without text,
* id references (``aria-labelledby``, ``for``, ...) that name no element of the page.

Links with a scheme (``https:``, ``mailto:``, ``javascript:``) are not followed: the site is
checked offline.

Usage: ``python -m tests.link_check SITE_DIR [--cache FILE]`` prints every problem and exits 1 if
there is one. With ``--cache``, a site whose pages and file list are those of the last check
without problems is not parsed again (its digest is in FILE): the result could not differ.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from snippets.render.manifest import atomic_write
from snippets.render.print_page import ID_REFERENCES


@dataclass
class Report:
    """What the checker found: problems by kind, and how much it checked."""

    pages: int = 0
    links: int = 0
    anchors: int = 0
    dead_links: list[str] = field(default_factory=list)
    dead_anchors: list[str] = field(default_factory=list)
    duplicate_ids: list[str] = field(default_factory=list)
    root_absolute: list[str] = field(default_factory=list)
    empty_toc_entries: list[str] = field(default_factory=list)
    dangling_references: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [
            *self.dead_links,
            *self.dead_anchors,
            *self.duplicate_ids,
            *self.root_absolute,
            *self.empty_toc_entries,
            *self.dangling_references,
        ]


class PageParser(HTMLParser):
    """What the checks need of one page, read in one pass: its ids (``id`` and ``<a name>``),
    its links (``<a href>``), its id references and the text of its contents entries."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: Counter = Counter()
        self.links: list[str] = []
        self.references: list[tuple[str, str]] = []  # (attribute, an id it names)
        self.toc_entries: list[tuple[str, str]] = []  # (href, text) in nav.md-nav--secondary
        self._navs: list[bool] = []  # the open <nav> elements: is each the contents sidebar
        self._entry: list[str] | None = None  # text of the contents entry being read

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id") is not None:
            self.ids[values["id"]] += 1
        for attribute in ID_REFERENCES:
            for token in (values.get(attribute) or "").split():
                self.references.append((attribute, token))
        if tag == "nav":
            self._navs.append("md-nav--secondary" in (values.get("class") or "").split())
        elif tag == "a":
            name = values.get("name")
            if name is not None and values.get("id") != name:
                self.ids[name] += 1
            href = values.get("href")
            if href is not None:
                self.links.append(href.strip())
                if any(self._navs):
                    self._entry = [href]

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav" and self._navs:
            self._navs.pop()
        elif tag == "a" and self._entry is not None:
            self.toc_entries.append((self._entry[0], "".join(self._entry[1:]).strip()))
            self._entry = None

    def handle_data(self, data: str) -> None:
        if self._entry is not None:
            self._entry.append(data)


def read_page(path: Path) -> PageParser:
    """One page of the site, parsed (:class:`PageParser`)."""
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def check_site(site: Path, allowed_missing: frozenset[str] = frozenset()) -> Report:
    """Check every HTML page of ``site`` (a built site folder).

    Args:
        site: the folder ``mkdocs build`` wrote.
        allowed_missing: site-relative paths that may be missing (made by a later step, such as
            the PDF); links to them are counted but not reported.

    Returns:
        A :class:`Report`.
    """
    site = site.resolve()
    pages = {path: read_page(path) for path in sorted(site.rglob("*.html"))}
    files = {path.relative_to(site).as_posix() for path in site.rglob("*")}
    report = Report(pages=len(pages))
    for path, page in pages.items():
        name = path.relative_to(site).as_posix()
        repeated = sorted(i for i, n in page.ids.items() if n > 1)
        report.duplicate_ids += [f"{name}: id {i!r} occurs {page.ids[i]} times" for i in repeated]
        report.empty_toc_entries += [f"{name}: empty contents entry -> {href}"
                                     for href, text in page.toc_entries if not text]  # fmt: skip
        report.dangling_references += [f"{name}: {attribute}={token!r} names no element"
                                       for attribute, token in page.references
                                       if token not in page.ids]  # fmt: skip
        folder = path.parent.relative_to(site).as_posix()
        for href in page.links:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc:
                continue
            report.links += 1
            if href.startswith("/"):
                report.root_absolute.append(f"{name}: root-absolute link {href!r}")
                continue
            relative = os.path.normpath(f"{folder}/{unquote(parts.path)}") if parts.path else name
            if relative == "." or relative in files and (site / relative).is_dir():
                relative = os.path.normpath(f"{relative}/index.html")
            if relative.startswith("../") or relative not in files:
                if relative not in allowed_missing:
                    report.dead_links.append(f"{name}: link {href!r} -> no file {relative}")
                continue
            fragment = unquote(parts.fragment)
            if fragment and relative.endswith(".html"):
                report.anchors += 1
                if fragment not in pages[site / relative].ids:
                    report.dead_anchors.append(f"{name}: link {href!r} -> no id in {relative}")
    return report


def site_digest(site: Path) -> str:
    """sha256 of what the checks read: every HTML page's bytes and the list of the site's files
    (links only need their targets to exist)."""
    digest = hashlib.sha256()
    for path in sorted(site.rglob("*")):
        digest.update(path.relative_to(site).as_posix().encode() + b"\0")
        if path.suffix == ".html":
            digest.update(path.read_bytes())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m tests.link_check",
        description="Check a built site for dead internal links and anchors, duplicate ids, "
        "root-absolute URLs and empty contents entries; exit 1 if any.",
    )
    parser.add_argument("site", type=Path, help="the built site folder (site/)")
    parser.add_argument("--cache", type=Path, help="skip a site identical to the last clean one "
                        "(its digest and summary are kept in this JSON file)")  # fmt: skip
    args = parser.parse_args(argv)
    digest = site_digest(args.site) if args.cache else None
    if args.cache and args.cache.exists():
        last = json.loads(args.cache.read_text(encoding="utf-8"))
        if last.get("digest") == digest:
            print(f"{last['summary']}: 0 problems (the site is the one checked last)")
            return 0
    report = check_site(args.site)
    for problem in report.problems():
        print(problem)
    summary = f"{report.pages} pages, {report.links} internal links, {report.anchors} anchors"
    print(f"{summary}: {len(report.problems())} problems")
    if args.cache and not report.problems():
        atomic_write(args.cache, json.dumps({"digest": digest, "summary": summary}))
    elif args.cache:
        args.cache.unlink(missing_ok=True)
    return 1 if report.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
