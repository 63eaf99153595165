"""The built site needs no network: nothing it loads comes from another host.

The audit reads every .html, .css and .js file of a site built afresh (``mkdocs build --strict``
into a temporary folder, once per test session) and lists every reference to another host that
a browser would *load*: ``src``/``srcset``/``poster``/``data`` attributes, ``<link href>`` (style
sheets, icons, preloads; only navigational rels such as ``canonical`` are exempt), SVG
``href``s, CSS ``url()`` and ``@import`` (files, ``<style>`` and ``style=``), and JavaScript
``import``/``import()``/``importScripts`` (files and inline scripts). Plain ``<a href>`` links to
papers and to the model hub are text the reader may follow, not loads, and are allowed.

With Chromium installed, two more checks open the site from ``file://`` with host name
resolution switched off: search finds pages (Material's search worker runs through the
vendored iframe-worker shim) and KaTeX typesets every formula.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from snippets.render.pdf import HEADLESS_FLAGS, find_chromium

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIM = "assets/vendor/iframe-worker/shim.js"
AUDITED_SUFFIXES = {".html", ".htm", ".css", ".js", ".mjs", ".svg"}
# <link rel=...> values that name a related document instead of loading something.
NAVIGATIONAL_RELS = {
    "alternate", "author", "bookmark", "canonical", "external", "help", "license", "me",
    "next", "nofollow", "noopener", "noreferrer", "prev", "search", "tag",
}  # fmt: skip
LOADING_ATTRIBUTES = {"src", "srcset", "poster", "data", "background", "imagesrcset"}
SVG_LINKING_TAGS = {"image", "use", "feimage", "script"}

CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]*?)\1\s*\)""", re.IGNORECASE)
CSS_IMPORT = re.compile(r"""@import\s+(['"])(.*?)\1""", re.IGNORECASE)
JS_IMPORTS = [
    # import x from "u"; import {a} from "u"; import "u"; export * from "u"
    re.compile(r"""\b(?:import|export)\s*(?:[\w$*{}\s,]+?\s*from\s*)?(['"])([^'"\n]+)\1"""),
    re.compile(r"""\bimport\s*\(\s*(['"`])([^'"`\n]+)\1"""),  # import("u")
    re.compile(r"""\bimportScripts\s*\(\s*(['"`])([^'"`\n]+)\1"""),  # in workers
]


@dataclass(frozen=True)
class Finding:
    """One reference to another host: where it is, what kind of load, and the URL."""

    path: str
    line: int
    kind: str
    url: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind} -> {self.url}"


def is_remote(url: str) -> bool:
    """True for a URL that names a host (``https://h/...``, ``//h/...``, ``ws://h``); false for
    relative paths, fragments and ``data:``/``blob:``/``about:``/``file:///`` URLs."""
    url = url.strip()
    if not url or url.startswith(("#", "data:", "blob:", "about:", "javascript:")):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return bool(parts.netloc) and parts.scheme.lower() != "file"


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def audit_css(text: str, path: str = "<css>", first_line: int = 1) -> list[Finding]:
    """Remote ``url()`` and ``@import`` references in a style sheet."""
    findings = []
    for kind, pattern in (("css url()", CSS_URL), ("css @import", CSS_IMPORT)):
        for match in pattern.finditer(text):
            if is_remote(match.group(2)):
                line = first_line + _line(text, match.start()) - 1
                findings.append(Finding(path, line, kind, match.group(2).strip()))
    return findings


def audit_js(text: str, path: str = "<js>", first_line: int = 1) -> list[Finding]:
    """Remote static imports, dynamic ``import()`` and ``importScripts()`` in a script."""
    findings = []
    for pattern in JS_IMPORTS:
        for match in pattern.finditer(text):
            if is_remote(match.group(2)):
                line = first_line + _line(text, match.start()) - 1
                findings.append(Finding(path, line, "js import", match.group(2).strip()))
    return findings


class _HTMLAuditor(HTMLParser):
    def __init__(self, path: str):
        super().__init__(convert_charrefs=True)
        self.path = path
        self.findings: list[Finding] = []
        self._raw: str | None = None  # "script" or "style" while inside one
        self._script_is_js = True

    def _add(self, kind: str, url: str) -> None:
        if is_remote(url):
            self.findings.append(Finding(self.path, self.getpos()[0], kind, url.strip()))

    def handle_starttag(self, tag, attrs):
        attributes = {name.lower(): value or "" for name, value in attrs}
        for name, value in attributes.items():
            if name in LOADING_ATTRIBUTES:
                urls = (
                    [c.split()[0] for c in value.split(",") if c.split()]
                    if "srcset" in name
                    else [value]
                )
                for url in urls:
                    self._add(f"<{tag} {name}>", url)
            elif name == "style":
                self.findings += audit_css(value, self.path, self.getpos()[0])
        href = attributes.get("href") or attributes.get("xlink:href") or ""
        if tag == "link":
            rels = set(attributes.get("rel", "").lower().split())
            if not rels or not rels <= NAVIGATIONAL_RELS:
                self._add(f"<link rel={attributes.get('rel', '')} href>", href)
        elif tag == "base" or tag in SVG_LINKING_TAGS:
            self._add(f"<{tag} href>", href)
        if tag in ("script", "style"):
            self._raw = tag
            kind = attributes.get("type", "").lower()
            self._script_is_js = kind in ("", "module", "text/javascript", "application/javascript")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self._raw = None

    def handle_endtag(self, tag):
        if tag == self._raw:
            self._raw = None

    def handle_data(self, data):
        if self._raw == "style":
            self.findings += audit_css(data, self.path, self.getpos()[0])
        elif self._raw == "script" and self._script_is_js:
            self.findings += audit_js(data, self.path, self.getpos()[0])


def audit_html(text: str, path: str = "<html>") -> list[Finding]:
    """Remote loads in an HTML (or SVG) document, its ``<style>``s and inline scripts."""
    auditor = _HTMLAuditor(path)
    auditor.feed(text)
    auditor.close()
    return auditor.findings


def audit_site(site: Path) -> list[Finding]:
    """Every remote load in every .html/.css/.js (and .mjs/.svg) file under ``site``."""
    findings: list[Finding] = []
    for file in sorted(site.rglob("*")):
        if not file.is_file() or file.suffix.lower() not in AUDITED_SUFFIXES:
            continue
        text = file.read_text(encoding="utf-8", errors="replace")
        name = file.relative_to(site).as_posix()
        if file.suffix.lower() == ".css":
            findings += audit_css(text, name)
        elif file.suffix.lower() in (".js", ".mjs"):
            findings += audit_js(text, name)
        else:
            findings += audit_html(text, name)
    return findings


def build_site(dest: Path) -> Path:
    """``mkdocs build --strict`` of the repository into ``dest`` (also used by test_pdf)."""
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(dest)],
        cwd=REPO_ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-4000:]}"
    return dest


@pytest.fixture(scope="module")
def site(built_site: Path) -> Path:
    return built_site


# --- the auditor itself, on small strings ---------------------------------------------------


def test_auditor_flags_a_planted_remote_script():
    page = '<html><head><script src="https://cdn.example.org/lib.js"></script></head></html>'
    assert [(f.kind, f.url) for f in audit_html(page)] == [
        ("<script src>", "https://cdn.example.org/lib.js")
    ]


def test_auditor_flags_every_kind_of_remote_load():
    page = """
    <link rel="stylesheet" href="//fonts.googleapis.com/css?family=Roboto">
    <link rel="preload" as="font" href="https://fonts.gstatic.com/x.woff2">
    <link rel="icon" href="http://example.org/favicon.ico">
    <img srcset="local.png 1x, https://img.example.org/b.png 2x">
    <iframe src="https://www.youtube.com/embed/x"></iframe>
    <div style="background: url('https://example.org/bg.png')"></div>
    <style>@import "https://example.org/a.css";</style>
    <script type="module">import x from "https://esm.sh/x";</script>
    <svg><use href="https://example.org/sprite.svg#i"></use></svg>
    """
    urls = {f.url for f in audit_html(page)}
    assert urls == {
        "//fonts.googleapis.com/css?family=Roboto",
        "https://fonts.gstatic.com/x.woff2",
        "http://example.org/favicon.ico",
        "https://img.example.org/b.png",
        "https://www.youtube.com/embed/x",
        "https://example.org/bg.png",
        "https://example.org/a.css",
        "https://esm.sh/x",
        "https://example.org/sprite.svg#i",
    }
    css = "@font-face{src:url(https://fonts.gstatic.com/r.woff2)}a{b:url(data:image/png;base64,x)}"
    assert [f.url for f in audit_css(css)] == ["https://fonts.gstatic.com/r.woff2"]
    js = 'import("https://unpkg.com/m");importScripts("https://x.org/w.js");import "./local.js"'
    assert [f.url for f in audit_js(js)] == ["https://unpkg.com/m", "https://x.org/w.js"]


def test_auditor_allows_text_links_and_local_files():
    page = """
    <a href="https://arxiv.org/abs/1706.03762">Attention is all you need</a>
    <a href="https://huggingface.co/models">the hub</a>
    <link rel="canonical" href="https://example.org/page.html">
    <script src="assets/vendor/katex/katex.min.js"></script>
    <img src="generated/attention-grid.png"><img src="data:image/png;base64,AAAA">
    <link rel="stylesheet" href="assets/lecture.css">
    <script>var ns = "http://www.w3.org/2000/svg";</script>
    """
    assert audit_html(page) == []


def test_audit_site_finds_a_remote_script_planted_in_a_page(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text('<p>fine</p><script src="local.js"></script>\n')
    (tmp_path / "local.js").write_text('import "./other.js";\n')
    (tmp_path / "sub" / "page.html").write_text(
        "<html>\n<body>\n<script src=https://cdn.example.org/x.js></script>\n</body></html>"
    )
    assert [str(f) for f in audit_site(tmp_path)] == [
        "sub/page.html:3: <script src> -> https://cdn.example.org/x.js"
    ]


# --- the built site --------------------------------------------------------------------------


def test_built_site_loads_nothing_from_another_host(site):
    findings = audit_site(site)
    assert not findings, "the site loads from other hosts:\n" + "\n".join(map(str, findings))


def test_search_shim_is_served_by_the_site(site):
    """Material's offline plugin defaults to https://unpkg.com/iframe-worker/shim; mkdocs.yml's
    ``extra.polyfills`` points every page at the vendored copy instead."""
    assert (site / SHIM).is_file()
    assert (site / "search" / "search_index.js").is_file()  # the offline plugin's inlined index
    pages = sorted(site.glob("*.html"))
    assert len(pages) > 10
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "unpkg.com" not in text and 'iframe-worker/shim"' not in text, page.name
        if page.name != "404.html":
            assert f'<script src="{SHIM}"></script>' in text, page.name


def test_every_local_resource_a_page_loads_exists(site):
    """What pages load from the site itself is there (a vendored file missing from the build
    would fail only when offline). 404.html is left out: a web server shows it, with paths from
    the server's root; from file:// it is never shown."""
    pattern = re.compile(r"""<(?:script|img|iframe|source)\b[^>]*?\bsrc="([^"]+)"|"""
                         r"""<link\b[^>]*?\bhref="([^"]+)\"""")  # fmt: skip
    missing = []
    for page in sorted(set(site.glob("*.html")) - {site / "404.html"}):
        for match in pattern.finditer(page.read_text(encoding="utf-8")):
            url = match.group(1) or match.group(2)
            if is_remote(url) or url.startswith(("data:", "#")):
                continue
            if not (page.parent / urlsplit(url).path).exists():
                missing.append(f"{page.name}: {url}")
    assert not missing, "missing: " + ", ".join(missing)


# --- opened in a browser from file://, with host names unresolvable -------------------------


def _dump_dom(url: str, budget_ms: int = 8000) -> str:
    chromium = find_chromium()
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [chromium, *HEADLESS_FLAGS,
             "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}",
             f"--virtual-time-budget={budget_ms}", "--dump-dom", url],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


needs_chromium = pytest.mark.skipif(
    find_chromium() is None,
    reason="no Chromium found (apt-get install chromium, or set CHROMIUM): cannot open the site",
)


@needs_chromium
def test_search_works_from_file_url_without_network(site):
    dom = _dump_dom((site / "index.html").as_uri() + "?q=tokenizer")
    results = re.findall(r'class="md-search-result__item"', dom)
    assert len(results) >= 3, "search from file:// found nothing (is the worker shim loaded?)"
    assert re.search(r'md-search-result__meta">\d+ matching documents', dom)


@needs_chromium
def test_katex_typesets_every_formula_from_file_url(site):
    dom = _dump_dom((site / "sequential-data.html").as_uri())
    formulas = dom.count('class="arithmatex"')
    assert formulas >= 3
    assert dom.count('class="katex"') + dom.count('class="katex-display"') >= formulas
    assert "\\(" not in re.sub(r"<annotation.*?</annotation>", "", dom, flags=re.S)
