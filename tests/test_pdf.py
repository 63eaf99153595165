"""The printable lecture: dist/intro-to-llms.pdf as ``nox -s pdf`` makes it.

The fixture builds the site afresh and prints its print page with ``python -m
snippets.render.pdf`` (headless Chromium) once per session; the checks read the PDF with pypdf.
They are skipped, with the reason, only where no Chromium is installed; the error-path tests
of ``snippets.render.pdf`` run everywhere.
"""

from __future__ import annotations

import fnmatch
import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from snippets.render import pdf
from snippets.render.notebooks import read_config
from tests.test_offline_site import REPO_ROOT, build_site

GENERATED = REPO_ROOT / "docs" / "generated"
MAX_PDF_BYTES = 10_000_000  # small enough to mail
FOOTER = re.compile(r"Page\s+\d+")  # the print CSS's page numbers: present on every page

needs_chromium = pytest.mark.skipif(
    pdf.find_chromium() is None,
    reason="no Chromium found (apt-get install chromium, or set CHROMIUM): cannot print the PDF",
)


def nav_pages() -> list[tuple[str, str]]:
    """(nav title, page file) for every Markdown page of mkdocs.yml's nav, in order.

    Nested sections are flattened; the notebooks are left out, as the print page leaves them out.
    """
    config = read_config(REPO_ROOT / "mkdocs.yml")
    plugins = {k: v for p in config["plugins"] if isinstance(p, dict) for k, v in p.items()}
    left_out = plugins["print-site"]["exclude"]  # the maintainers' pages (globs, as print-site)
    pages = []
    for entry in config["nav"]:
        for title, page in entry.items():
            children = page if isinstance(page, list) else [{title: page}]
            for child in children:
                pages.extend(
                    (t, p)
                    for t, p in child.items()
                    if p.endswith(".md") and not any(fnmatch.fnmatch(p, g) for g in left_out)
                )
    return pages


def page_h1(page: str) -> str:
    text = (REPO_ROOT / "docs" / page).read_text(encoding="utf-8")
    return re.search(r"^# (.+)$", text, re.MULTILINE).group(1).strip()


def flat(text: str) -> str:
    """Text without any whitespace: line wrapping and extraction spacing do not matter."""
    return re.sub(r"\s+", "", text)


def image_xobjects(resources, found: set) -> None:
    """Add the ids of the image XObjects in ``resources`` (and in nested forms) to ``found``."""
    if not resources or "/XObject" not in resources:
        return
    for reference in resources["/XObject"].get_object().values():
        xobject = reference.get_object()
        if xobject.get("/Subtype") == "/Image":
            found.add(getattr(reference, "idnum", id(xobject)))
        elif xobject.get("/Subtype") == "/Form":
            image_xobjects(xobject.get("/Resources"), found)


@pytest.fixture(scope="session")
def printed(tmp_path_factory):
    """(site folder, PDF path, pypdf reader, text of each page) for a fresh build."""
    from pypdf import PdfReader

    root = tmp_path_factory.mktemp("pdf")
    site = build_site(root / "site")
    out = root / "dist" / "intro-to-llms.pdf"
    result = subprocess.run(
        [sys.executable, "-m", "snippets.render.pdf", str(site), str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    reader = PdfReader(out)
    return site, out, reader, [page.extract_text() or "" for page in reader.pages]


@needs_chromium
def test_pdf_exists_and_is_small_enough_to_mail(printed):
    _, out, reader, _ = printed
    assert out.is_file() and out.read_bytes().startswith(b"%PDF")
    assert 0 < out.stat().st_size < MAX_PDF_BYTES
    assert len(reader.pages) >= len(nav_pages())  # every chapter starts on a new page


@needs_chromium
def test_pdf_has_a_cover_a_numbered_contents_and_every_section(printed):
    _, _, _, pages = printed
    site_name = read_config(REPO_ROOT / "mkdocs.yml")["site_name"]
    assert flat(site_name) in flat(pages[0]), "the cover page shows the site's name"
    contents = " ".join(" ".join(pages[1:3]).split())
    assert "Contents" in contents
    text = " ".join(" ".join(pages).split())
    for number, (_, page) in enumerate(nav_pages(), start=1):
        assert re.search(rf"{number} {re.escape(page_h1(page))} \d+", contents), (
            f"contents entry {number} {page_h1(page)!r} with its page number"
        )
        assert f"{number} {page_h1(page)}" in text, f"numbered chapter heading of {page}"
    # sections, numbered, with the page they start on
    assert re.search(r"2\.1 Sequences as probabilities \d+", contents)
    assert len(re.findall(r"\b\d+\.\d+ [A-Z0-9][^\d]+ \d+", contents)) > 30
    for left_out in ("Rendering on a GPU", "Build report", "Notebooks"):
        assert left_out not in contents, f"{left_out!r} is not in the students' handout"
    assert "Archit Vasan" in pages[0] and "Varuni Sastri" in pages[0], "the cover credits"


def page_fill(pdf_path: Path, folder: Path) -> list[float]:
    """How far down its body each page is filled (0: empty, 1: to the foot), from the pages
    rendered at 50 dpi by pdftoppm: the lowest row with ink above the footer, measured against
    the lowest such row of any page."""
    import numpy as np
    from PIL import Image

    subprocess.run(["pdftoppm", "-r", "50", "-gray", str(pdf_path), str(folder / "p")], check=True)
    lows, tops = [], []
    for image in sorted(folder.glob("p-*.pgm")):
        ink = np.where((np.asarray(Image.open(image)) < 250).any(axis=1))[0]
        height = Image.open(image).height
        body = ink[ink < 0.93 * height]  # the footer ("Page N") lies below
        lows.append(body.max() if body.size else 0)
        tops.append(body.min() if body.size else height)
    top, bottom = min(tops), max(lows)
    return [max(0.0, (low - top) / (bottom - top)) for low in lows]


@needs_chromium
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="no pdftoppm (poppler-utils)")
def test_no_mid_chapter_page_is_more_than_half_blank(printed, tmp_path):
    site, out, _, _ = printed
    starts = pdf.destination_pages(out)
    from bs4 import BeautifulSoup

    soup = BeautifulSoup((site / "print_page.html").read_text(encoding="utf-8"), "html.parser")
    chapters = [s["id"] for s in soup.select("#print-site-page section.print-page[id]")]
    first_pages = sorted({starts[c] for c in chapters})
    fill = page_fill(out, tmp_path)
    ends = {p - 1 for p in first_pages} | {len(fill)} | set(range(1, first_pages[0]))
    half_blank = [
        (n, round(float(f), 2)) for n, f in enumerate(fill, 1) if n not in ends and f < 0.5
    ]
    assert not half_blank, f"mid-chapter pages under half full (page, fill): {half_blank}"
    assert len(first_pages) == len(nav_pages()), "every chapter starts a page; none is empty"


@needs_chromium
def test_every_cited_work_is_printed_with_its_doi_or_url(printed):
    from snippets.render import bibliography

    site, _, _, pages = printed
    text = flat("".join(pages))
    for key, entry in bibliography.load(REPO_ROOT / "docs" / "references.json").items():
        label, _ = bibliography.links(entry)[0]
        assert flat(label) in text, f"{key}: {label} is not printed"
        assert flat(entry["title"]) in text, f"{key}: title not printed"
    assert (site / pdf.PDF_NAME).is_file(), "the site's copy of the PDF, linked from its pages"


@needs_chromium
def test_pdf_bookmarks_every_chapter(printed):
    _, _, reader, _ = printed
    top_level = {
        " ".join(item.title.split()) for item in reader.outline if not isinstance(item, list)
    }
    missing = [page_h1(page) for _, page in nav_pages() if page_h1(page) not in top_level]
    assert not missing, f"chapters without a PDF bookmark: {missing}"


@needs_chromium
def test_pdf_embeds_every_figure(printed):
    _, _, reader, _ = printed
    found: set = set()
    for page in reader.pages:
        image_xobjects(page.get("/Resources"), found)
    figures = sorted(GENERATED.glob("*.png"))
    assert figures, "docs/generated has no PNG figures"
    assert len(found) >= len(figures), f"{len(found)} images embedded, {len(figures)} figures"


@needs_chromium
def test_no_pdf_page_is_blank(printed):
    _, _, reader, pages = printed
    blank = []
    for number, (page, text) in enumerate(zip(reader.pages, pages, strict=True), start=1):
        images: set = set()
        image_xobjects(page.get("/Resources"), images)
        if not FOOTER.sub("", text).strip() and not images:
            blank.append(number)
    assert not blank, f"blank pages: {blank}"


@needs_chromium
def test_code_and_outputs_wrap_instead_of_being_cut_off(printed):
    """Every line of every code block and text output of the print page is in the PDF's text in
    full (a line cut off at the page's edge loses its end)."""
    site, _, _, pages = printed
    source = (site / "print_page.html").read_text(encoding="utf-8")
    lines = [
        line
        for block in re.findall(r"<pre[^>]*>(.*?)</pre>", source, flags=re.DOTALL)
        for line in html.unescape(re.sub(r"<[^>]+>", "", block)).splitlines()
        if line.strip()
    ]
    assert len(lines) > 100
    text = flat(FOOTER.sub("", "".join(pages)))
    cut = [line for line in lines if flat(line) not in text]
    assert not cut, f"{len(cut)} lines cut off, e.g. {cut[:3]}"


@needs_chromium
def test_math_is_typeset_and_interactive_views_give_way_to_a_note(printed):
    site, _, _, pages = printed
    text = " ".join(" ".join(pages).split())
    assert "\\(" not in text and "\\[" not in text, "KaTeX left formulas untypeset"
    views = (site / "print_page.html").read_text(encoding="utf-8").count('class="bertviz-view"')
    assert views >= 2
    assert text.count("Interactive view: open this page of the web site") == views


# --- snippets.render.pdf's errors (no browser needed) ----------------------------------------


def test_missing_chromium_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "no-such-browser"))
    assert pdf.find_chromium() is None
    with pytest.raises(pdf.ChromiumNotFoundError, match="apt-get install chromium"):
        pdf.print_to_pdf(tmp_path, tmp_path / "out.pdf")
    assert pdf.main([str(tmp_path), str(tmp_path / "out.pdf")]) == 1


def test_missing_print_page_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="build the site first"):
        pdf.print_to_pdf(tmp_path, tmp_path / "out.pdf", chromium=sys.executable)


def test_chromium_command_prints_offline_from_a_file_url(tmp_path):
    command = pdf.chromium_command(
        "chromium", "file:///s/print_page.html", Path("o.pdf"), tmp_path, 5
    )
    assert command[0] == "chromium" and command[-1] == "file:///s/print_page.html"
    assert {"--headless", "--no-sandbox", "--print-to-pdf=o.pdf", "--virtual-time-budget=5"} <= set(
        command
    )
    assert "--host-resolver-rules=MAP * ~NOTFOUND" in command


@needs_chromium
def test_headings_are_kept_with_what_follows(printed):
    """No h2-h4 heading lies at a page's foot: each starts at least 120 pt (about six lines of
    text) above the bottom of its page (PDF coordinates: 0 at the bottom)."""
    from bs4 import BeautifulSoup

    site, _, reader, _ = printed
    soup = BeautifulSoup((site / "print_page.html").read_text(encoding="utf-8"), "html.parser")
    headings = {h["id"] for h in soup.select("#print-site-page :is(h2, h3, h4)[id]")}
    tops = {
        name.lstrip("/"): float(destination["/Top"])
        for name, destination in reader.named_destinations.items()
        if name.lstrip("/") in headings
    }
    assert len(tops) == len(headings) > 30
    low = {name: top for name, top in tops.items() if top < 120}
    assert not low, f"headings at a page's foot (points from the bottom): {low}"


def test_code_lines_keep_their_indentation_when_wrapped():
    """Each line of a code block becomes a block saying where its continuation starts, and
    highlighter spans that run across lines are closed and reopened (the print CSS hangs
    wrapped lines: code right of its indentation, text tables under their last column)."""
    from snippets.render.print_page import _code_lines, hang

    inner = (
        '<a id="l1"></a><span class="k">def</span> f():\n'
        '<a id="l2"></a>    <span class="s">"""two\n'
        '<a id="l3"></a>    lines"""</span>\n'
    )
    lines, count, widest = _code_lines(inner)
    assert count == 3 and widest == len('    lines"""')
    assert lines.count('<span class="code-line"') == 3
    assert '--hang: 4"' in lines and lines.count('--hang: 8"') == 2
    second, third = lines.split('<span class="code-line"')[2:]
    assert second.endswith('"""two</span>\n</span>')  # the string closed at the line's end
    assert third.startswith(' style="--hang: 8"><span class="s"><a id="l3">')  # and reopened
    # a row of a text table hangs under its last column
    row = "| T=1.8, top-k 0     | ' sweetline constants manualCa tubing inhabitedGUI confident'"
    assert hang(row, table=True) == row.index("' sweetline") == 23
    assert hang("characters  84 tokens: ['C', 'o']", table=True) == len("characters  ")
    assert hang("    x = [1, 2]", table=True) == hang("    x = [1,  2]", table=False) == 8


@needs_chromium
def test_every_code_line_of_the_print_page_carries_its_indentation(printed):
    from bs4 import BeautifulSoup

    from snippets.render.print_page import hang

    site, _, _, _ = printed
    soup = BeautifulSoup((site / "print_page.html").read_text(encoding="utf-8"), "html.parser")
    blocks = soup.select("#print-site-page pre > code")
    assert len(blocks) > 50
    for code in blocks:
        table = code.find_parent("figure", class_="lecture-output") is not None
        for line in code.select(":scope > span.code-line"):
            text = line.get_text().rstrip("\n")
            assert line["style"] == f"--hang: {hang(text, table=table)}", text
            if not table:
                indent = len(text) - len(text.lstrip(" "))
                assert hang(text, table=False) == indent + 4
        assert code.parent["style"].startswith("--cols: ")
