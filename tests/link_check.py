"""A link checker for the built site, as a reader from disk meets it (used by tests/test_links.py).

Every ``.html`` file of the site, the print page included, is parsed with BeautifulSoup; for each
page it reports

* ids that occur more than once (``id`` attributes and ``<a name>``),
* links (``<a href>``) to a file of the site that does not exist, or to an anchor that the
  target page does not have,
* root-absolute links (``/assets/...``): from ``file://`` they point at the disk's root,
* entries of the page's table of contents (Material's secondary sidebar) without text,
* id references (``aria-labelledby``, ``for``, ...) that name no element of the page.

Links with a scheme (``https:``, ``mailto:``, ``javascript:``) are not followed: the site is
checked offline.

Usage: ``python -m tests.link_check SITE_DIR`` prints every problem and exits 1 if there is one.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup

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


def page_ids(soup: BeautifulSoup) -> Counter:
    """How often each id (``id=`` or ``<a name=>``) occurs in a page."""
    ids = Counter(tag["id"] for tag in soup.find_all(id=True))
    for anchor in soup.find_all("a", attrs={"name": True}):
        if anchor.get("id") != anchor["name"]:
            ids[anchor["name"]] += 1
    return ids


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
    soups: dict[Path, BeautifulSoup] = {}
    for path in sorted(site.rglob("*.html")):
        soups[path] = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    ids = {path: page_ids(soup) for path, soup in soups.items()}
    report = Report(pages=len(soups))
    for path, soup in soups.items():
        name = path.relative_to(site).as_posix()
        repeated = sorted(i for i, n in ids[path].items() if n > 1)
        report.duplicate_ids += [f"{name}: id {i!r} occurs {ids[path][i]} times" for i in repeated]
        for entry in soup.select("nav.md-nav--secondary a"):
            if not entry.get_text(strip=True):
                report.empty_toc_entries.append(f"{name}: empty contents entry -> {entry['href']}")
        for attribute in ID_REFERENCES:  # aria-labelledby="x" needs an element with id x
            for element in soup.find_all(attrs={attribute: True}):
                value = element[attribute]
                for token in value if isinstance(value, list) else value.split():
                    if token not in ids[path]:
                        report.dangling_references.append(
                            f"{name}: {attribute}={token!r} names no element"
                        )
        for link in soup.find_all("a", href=True):
            href = link["href"].strip()
            parts = urlsplit(href)
            if parts.scheme or parts.netloc:
                continue
            report.links += 1
            if href.startswith("/"):
                report.root_absolute.append(f"{name}: root-absolute link {href!r}")
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            relative = target.relative_to(site).as_posix() if target.is_relative_to(site) else href
            if not target.exists():
                if relative not in allowed_missing:
                    report.dead_links.append(f"{name}: link {href!r} -> no file {relative}")
                continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html":
                report.anchors += 1
                if fragment not in ids.get(target, {}):
                    report.dead_anchors.append(f"{name}: link {href!r} -> no id in {relative}")
    return report


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m tests.link_check",
        description="Check a built site for dead internal links and anchors, duplicate ids, "
        "root-absolute URLs and empty contents entries; exit 1 if any.",
    )
    parser.add_argument("site", type=Path, help="the built site folder (site/)")
    report = check_site(parser.parse_args(argv).site)
    for problem in report.problems():
        print(problem)
    print(
        f"{report.pages} pages, {report.links} internal links, {report.anchors} anchors: "
        f"{len(report.problems())} problems"
    )
    return 1 if report.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
