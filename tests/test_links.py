"""Every link of the built site and of its print page leads somewhere, and every citation
resolves (tests/link_check.py; issue 14).

The site is built afresh; the checker parses every page (html.parser): no dead internal link
or anchor, no duplicate id (code line anchors included), no root-absolute URL (404.html from
disk), no empty contents entry (the notebook pages). The PDF is made by a later step
(``python -m snippets.render.pdf``); until then the home page says how to make it instead of
linking to it, so the site ``nox -s docs`` builds has no dead link either.
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from snippets.render import bibliography
from tests.link_check import check_site
from tests.test_offline_site import REPO_ROOT

DOCS = REPO_ROOT / "docs"


@pytest.fixture(scope="module")
def site(built_site):
    return built_site


def test_no_dead_link_anchor_or_duplicate_id(site):
    report = check_site(site)  # the PDF is not made yet: no page may link to it
    assert report.pages >= 15 and report.links > 2000 and report.anchors > 1500
    assert not report.problems(), "\n".join(report.problems()[:20])


def test_the_pdf_is_linked_exactly_when_it_exists(site, tmp_path):
    import re
    import shutil

    from snippets.render.pdf import PDF_NAME, link_the_pdf

    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    home = (copy / "index.html").read_text(encoding="utf-8")
    assert ' href="intro-to-llms.pdf"' not in home and "<code>nox -s pdf</code> makes it" in home
    (copy / PDF_NAME).write_bytes(b"%PDF-1.7 (a stand-in for the printed lecture)")
    assert link_the_pdf(copy) == 2  # the home page and the print page
    for page in ("index.html", "print_page.html"):
        links = re.findall(r"<a[^>]*pdf-link[^>]*>", (copy / page).read_text(encoding="utf-8"))
        assert links == ['<a class="pdf-link" href="intro-to-llms.pdf" download>'], page
    assert not check_site(copy).problems()


def test_the_checker_finds_what_print_site_left_broken(tmp_path):
    page = tmp_path / "index.html"
    page.write_text(
        '<a id="x" href="#x"></a><a id="x"></a><a href="#gone"></a><a href="/abs.html"></a>'
        '<a href="nofile.html"></a><a href="https://example.org/#y"></a>'
        '<nav class="md-nav--secondary"><a href="#x"> </a></nav>'
    )
    report = check_site(tmp_path)
    assert len(report.duplicate_ids) == 1 and "'x'" in report.duplicate_ids[0]
    assert len(report.dead_anchors) == 1 and "#gone" in report.dead_anchors[0]
    assert len(report.root_absolute) == 1 and len(report.dead_links) == 1
    assert len(report.empty_toc_entries) == 1


def test_the_checker_follows_folder_links_and_names_what_is_missing(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "index.html").write_text('<h1 id="top">A</h1><a href="../#top"></a>')
    (tmp_path / "index.html").write_text(
        '<p id="top"><a href="a/"></a><a href="a/#top"></a><a href="./"></a>'
        '<a href="a/#nowhere"></a><a href="../outside.html"></a><a href="b/x.png"></a></p>'
    )
    report = check_site(tmp_path)
    assert (report.pages, report.links, report.anchors) == (2, 7, 3)
    assert report.dead_anchors == ["index.html: link 'a/#nowhere' -> no id in a/index.html"]
    assert report.dead_links == [
        "index.html: link '../outside.html' -> no file ../outside.html",
        "index.html: link 'b/x.png' -> no file b/x.png",
    ]


def test_a_site_identical_to_the_last_clean_one_is_not_parsed_again(tmp_path, capsys):
    from tests import link_check

    site, cache = tmp_path / "site", tmp_path / "cache" / "link-check.json"
    site.mkdir()
    (site / "index.html").write_text('<h1 id="a">A</h1><a href="#a"></a>')
    assert link_check.main([str(site), "--cache", str(cache)]) == 0
    assert capsys.readouterr().out == "1 pages, 1 internal links, 1 anchors: 0 problems\n"
    assert link_check.main([str(site), "--cache", str(cache)]) == 0
    assert "(the site is the one checked last)" in capsys.readouterr().out
    (site / "index.html").write_text('<h1 id="a">A</h1><a href="#b"></a>')  # a page changed
    assert link_check.main([str(site), "--cache", str(cache)]) == 1
    assert "no id in index.html" in capsys.readouterr().out and not cache.exists()
    (site / "index.html").write_text('<h1 id="a">A</h1><a href="#a"></a><a href="x.png"></a>')
    assert link_check.main([str(site), "--cache", str(cache)]) == 1  # x.png is missing
    (site / "x.png").write_bytes(b"")
    assert link_check.main([str(site), "--cache", str(cache)]) == 0
    (site / "x.png").unlink()  # a file removed: the list of files is part of the digest
    assert link_check.main([str(site), "--cache", str(cache)]) == 1


def test_print_page_leaves_out_maintainer_pages_and_empty_chapters(site):
    soup = BeautifulSoup((site / "print_page.html").read_text(encoding="utf-8"), "html.parser")
    chapters = [s["id"] for s in soup.select("#print-site-page section.print-page[id]")]
    assert "rendering" not in chapters and "build-report" not in chapters
    assert not [s for s in soup.select("section.md-section")], "a chapter with no page"
    contents = soup.select("#print-page-toc li")
    assert sum("print-contents-h2" in li["class"] for li in contents) > 30  # sections listed
    assert (site / "rendering.html").is_file() and (site / "build-report.html").is_file()


def test_404_works_from_disk_and_no_empty_sitemap(site):
    text = (site / "404.html").read_text(encoding="utf-8")
    assert 'href="assets/stylesheets/main.' in text and 'href="/' not in text
    assert not (site / "sitemap.xml").exists() and not (site / "sitemap.xml.gz").exists()


def test_every_citation_resolves_and_every_entry_can_be_followed_up(site):
    entries = bibliography.load(DOCS / "references.json")
    cited = {key for page in DOCS.glob("*.md") for key in bibliography.citations(page.read_text())}
    assert cited and cited <= set(entries), f"unknown: {cited - set(entries)}"
    assert {"zvyagin2022", "lin2023", "vaswani2017", "liu2018"} <= cited
    assert entries["zvyagin2022"]["DOI"] == "10.1101/2022.10.10.511571"
    assert bibliography.arxiv_id(entries["vaswani2017"]) == "1706.03762"
    references = BeautifulSoup((site / "references.html").read_text(), "html.parser")
    for key, entry in entries.items():
        paragraph = references.find(id=f"ref-{key}")
        assert paragraph is not None, key
        hrefs = [a["href"] for a in paragraph.find_all("a")]
        assert hrefs and hrefs[0] == bibliography.links(entry)[0][1]
        assert entry["title"] in paragraph.get_text()
    page = (site / "sequential-data.html").read_text()
    assert 'href="references.html#ref-zvyagin2022">Zvyagin et al. 2022</a>' in page


def test_an_unknown_citation_is_a_clear_error():
    with pytest.raises(bibliography.BibliographyError, match="docs/x.md cites nobody2020"):
        bibliography.cite("as shown [@nobody2020].", {}, "x.md")
