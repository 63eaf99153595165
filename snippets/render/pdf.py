"""The lecture as one PDF: the site's print page printed by headless Chromium.

``mkdocs build`` writes ``print_page.html`` (mkdocs-print-site-plugin: cover, contents, numbered
sections, every page of the nav in order). This module opens it from ``file://`` in headless
Chromium and prints it with ``--print-to-pdf``; the page's print CSS (``docs/assets/lecture.css``)
hides the interactive bertviz views and wraps long code. Chromium's virtual time budget lets
KaTeX typeset the formulas before the page is printed. Nothing is fetched from the network:
the site serves all its files itself, and host name resolution is switched off for the run.

Usage::

    python -m snippets.render.pdf SITE_DIR OUT.pdf     # e.g. site dist/intro-to-llms.pdf

``nox -s pdf`` builds the site and runs this. Set ``CHROMIUM`` to a browser binary to use one
that is not on ``PATH`` under a usual name.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PRINT_PAGE = "print_page.html"
PDF_NAME = "intro-to-llms.pdf"  # the copy inside the site, which the pages link to
# The contents' page slots that snippets/render/print_page.py writes, filled in here.
_PAGE_SLOT = re.compile(r'(<span class="print-contents-page" data-target="([^"]+)">)[^<]*(</span>)')
# Names a Chromium-based browser has on PATH (Debian, Ubuntu's snap, Google's packages, macOS).
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
INSTALL_HINT = (
    "install Chromium (Debian/Ubuntu: apt-get install chromium fonts-dejavu-core "
    "fonts-liberation fonts-droid-fallback) or set CHROMIUM to a Chromium or Chrome binary"
)


class ChromiumNotFoundError(RuntimeError):
    """No Chromium or Chrome binary was found (neither ``$CHROMIUM`` nor on ``PATH``)."""


# How every headless Chromium of the project starts (PDF printing, browser tests): no sandbox (CI
# runs as root), no GPU, and none of the background traffic that a closed network refuses.
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--no-default-browser-check",
)


def find_chromium() -> str | None:
    """The Chromium binary to use: ``$CHROMIUM`` if set, else the first of ``CHROMIUM_NAMES``
    on ``PATH``; ``None`` when there is none."""
    override = os.environ.get("CHROMIUM")
    if override:
        return shutil.which(override) or (override if Path(override).is_file() else None)
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def chromium_command(chromium: str, url: str, out: Path, profile: Path, budget_ms: int) -> list:
    """The command line that prints ``url`` to ``out``: headless, no sandbox (CI runs as root),
    no GPU, no background or component-update traffic, no host name resolution, a throwaway
    profile, no date/URL header or footer, bookmarks from the headings, and ``budget_ms`` of
    virtual time for scripts."""
    return [
        chromium,
        *HEADLESS_FLAGS,
        "--host-resolver-rules=MAP * ~NOTFOUND",  # the PDF must not depend on the network
        f"--user-data-dir={profile}",
        "--no-pdf-header-footer",
        "--generate-pdf-document-outline",  # PDF bookmarks from the headings
        "--run-all-compositor-stages-before-draw",
        f"--virtual-time-budget={budget_ms}",
        f"--print-to-pdf={out}",
        url,
    ]


def print_to_pdf(
    site_dir: str | Path,
    out: str | Path,
    *,
    chromium: str | None = None,
    page: str = PRINT_PAGE,
    budget_ms: int = 15000,
    timeout_s: float = 300,
    publish: bool = True,
) -> Path:
    """Print ``site_dir/page`` (the built site's print page) to the PDF file ``out``.

    When the page has contents slots (``snippets/render/print_page.py``) it is printed two or
    three times: the contents get the page number of every chapter and section.

    Args:
        site_dir: a site built by ``mkdocs build`` with the print-site plugin.
        out: the PDF to write; its folder is created; an older file is replaced.
        chromium: the browser binary; by default :func:`find_chromium`'s answer.
        page: the page to print, relative to ``site_dir``.
        budget_ms: virtual time the page's scripts get (KaTeX) before printing.
        timeout_s: wall-clock limit for Chromium (each of its runs).
        publish: also copy the PDF into the site as ``intro-to-llms.pdf``, where the home page
            and the print page link to it.

    Returns:
        The path of the PDF written.

    Raises:
        ChromiumNotFoundError: no browser binary was found.
        FileNotFoundError: ``site_dir/page`` does not exist (build the site first).
        RuntimeError: Chromium failed, timed out or wrote no PDF.
    """
    chromium = chromium or find_chromium()
    if chromium is None:
        raise ChromiumNotFoundError(f"no Chromium found: {INSTALL_HINT}")
    source = Path(site_dir).resolve() / page
    if not source.is_file():
        raise FileNotFoundError(
            f"{source} does not exist: build the site first (mkdocs build --strict -d {site_dir}) "
            "with the print-site plugin enabled in mkdocs.yml"
        )
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    _print_once(chromium, source, out, budget_ms, timeout_s)
    text = source.read_text(encoding="utf-8")
    if _PAGE_SLOT.search(text):
        # The contents' page numbers: print, read on which page each heading landed (Chromium
        # writes a named destination per link target), write the numbers into a copy of the
        # page next to it, print again. The slots keep their width, so the pages do not move;
        # a third pass catches the case where they did.
        numbered = source.with_name(f".{source.stem}.numbered.html")
        try:
            pages: dict[str, int] = {}
            for _ in range(3):
                found = destination_pages(out)
                if found == pages:
                    break
                pages = found
                numbered.write_text(number_contents(text, pages), encoding="utf-8")
                _print_once(chromium, numbered, out, budget_ms, timeout_s)
        finally:
            numbered.unlink(missing_ok=True)
    if publish:
        shutil.copyfile(out, Path(site_dir) / PDF_NAME)
        link_the_pdf(Path(site_dir))
    return out


# The home page's link to the PDF: ``<a class="pdf-link" href="intro-to-llms.pdf" download>``.
# Without the PDF (a site that ``nox -s docs`` built) it becomes text that says how to make it.
_LINK = re.compile(r'<a (?=[^>]*class="pdf-link")[^>]*href="([^"]+)"[^>]*>(.*?)</a>', re.S)
_UNLINKED = re.compile(
    r'<span class="pdf-link" data-href="([^"]+)">(.*?)<small class="print-hide">[^<]*'
    r"<code>nox -s pdf</code>[^<]*</small></span>",
    re.S,
)


def link_the_pdf(site_dir: Path) -> int:
    """Make the PDF links of the site's pages links again if the PDF is there, or text that says
    how to make it if not (no dead link either way); returns how many pages changed."""
    present = (site_dir / PDF_NAME).is_file()
    changed = 0
    for page in site_dir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if "pdf-link" not in text:
            continue
        if present:
            new = _UNLINKED.sub(r'<a class="pdf-link" href="\1" download>\2</a>', text)
        else:
            new = _LINK.sub(r'<span class="pdf-link" data-href="\1">\2<small class="print-hide">'
                            r" (not built yet: <code>nox -s pdf</code> makes it)</small></span>",
                            text)  # fmt: skip
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed += 1
    return changed


def destination_pages(pdf_path: Path) -> dict[str, int]:
    """``{id: page number (1-based)}`` of the named destinations Chromium wrote into a PDF."""
    from pypdf import PdfReader

    reader = PdfReader(pdf_path)
    return {
        name.lstrip("/"): reader.get_destination_page_number(destination) + 1
        for name, destination in reader.named_destinations.items()
    }


def number_contents(text: str, pages: dict[str, int]) -> str:
    """The print page's HTML with each contents slot holding its heading's page number."""

    def fill(match: re.Match) -> str:
        return f"{match[1]}{pages.get(match[2], '')}{match[3]}"

    return _PAGE_SLOT.sub(fill, text)


def _print_once(chromium: str, source: Path, out: Path, budget_ms: int, timeout_s: float) -> None:
    out.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="pdf-chromium-") as profile:
        command = chromium_command(chromium, source.as_uri(), out, Path(profile), budget_ms)
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired as error:
            raise RuntimeError(f"{chromium} did not finish within {timeout_s} s") from error
    if result.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        tail = "\n".join((result.stderr or "").strip().splitlines()[-15:])
        raise RuntimeError(
            f"{chromium} exited with {result.returncode} and wrote "
            f"{'no' if not out.is_file() else 'an empty'} PDF at {out}:\n{tail}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m snippets.render.pdf",
        description="Print the built site's print page to a PDF with headless Chromium.",
    )
    parser.add_argument("site_dir", type=Path, help="the built site (mkdocs build -d SITE_DIR)")
    parser.add_argument("out", type=Path, help="the PDF to write, e.g. dist/intro-to-llms.pdf")
    parser.add_argument(
        "--budget-ms", type=int, default=15000, help="virtual time for the page's scripts"
    )
    args = parser.parse_args(argv)
    try:
        out = print_to_pdf(args.site_dir, args.out, budget_ms=args.budget_ms)
    except (ChromiumNotFoundError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
