"""The attention page's bertviz views, in headless Chromium with the network cut off.

The site is built afresh (``mkdocs build --strict`` into a temporary folder) and opened twice:
served on 127.0.0.1 by an ``http.server`` thread, and from ``file://``. Chromium resolves no
host name but 127.0.0.1 and sends everything else to a proxy port where nothing listens
(``tests/browser_check.py``); every request, console message and uncaught exception is recorded
over the DevTools protocol. No selenium or chromedriver: Chromium alone, driven over a pipe.

Each view file (``docs/generated/attention-*-view.html``) must draw, inside its iframe, what its
own data says: the head view one token text per token on each side and one line per head and
token pair, the model view one thumbnail per layer x head; the line opacities add up to what the
attention rows sum to. The screenshot of the page's views is kept in
``tests/artifacts/attention.png`` (ignored by git).

Without Chromium the browser tests are skipped (set ``LECTURE_REQUIRE_BROWSER=1`` to make that
a failure, as CI should); the page-weight and escaping tests need no browser.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from snippets.render.pdf import find_chromium
from snippets.render.views import MAX_VIEW_BYTES, read_params
from tests import browser_check as bc

REPO = Path(__file__).resolve().parent.parent
GENERATED = REPO / "docs" / "generated"
ARTIFACTS = REPO / "tests" / "artifacts"
VIEWS = ("attention-head-view", "attention-model-view")  # on the attention page
HOMEWORK_VIEW = "homework-decoder-model-view"  # SmolLM2's, on the homework page
TIMEOUT_S = 15.0


def view_params(view_id: str) -> dict:
    """The params a committed view draws."""
    return read_params((GENERATED / f"{view_id}.html").read_text(encoding="utf-8"))


# -- No browser ------------------------------------------------------------------------------


@pytest.mark.parametrize("view_id", (*VIEWS, HOMEWORK_VIEW))
def test_view_file_weighs_at_most_the_budget(view_id):
    size = (GENERATED / f"{view_id}.html").stat().st_size
    assert size <= MAX_VIEW_BYTES, f"{view_id}.html is {size / 1e6:.2f} MB: trim the sequence"


def test_every_view_file_is_covered():
    """The page weight and browser checks cover every view the renderer wrote."""
    assert sorted(p.stem for p in GENERATED.glob("*.html")) == sorted((*VIEWS, HOMEWORK_VIEW))


class _Scripts(HTMLParser):
    """The contents of every <script> element, parsed the way a browser splits them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self._inside = False

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._inside = True
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._inside = False

    def handle_data(self, data):
        if self._inside:
            self.scripts[-1] += data


HOSTILE_TOKENS = [
    "</script><script>alert(1)</script>",
    "<!--<script>",
    "; // HACK: PYTHON_PARAMS is a template marker</script><script>alert(2)</script>",
    "\u2028&amp;\n",
]


def _view(tokens: list[str]) -> str:
    torch = pytest.importorskip("torch")
    bertviz = pytest.importorskip("bertviz")
    from snippets.render.views import make_self_contained

    generator = torch.Generator().manual_seed(0)
    n = len(tokens)
    attention = torch.rand(1, 2, n, n, generator=generator).softmax(dim=-1)
    view = bertviz.head_view((attention, attention), tokens, html_action="return")
    return make_self_contained(view.data, "escaping-test")


def test_a_token_cannot_close_the_script():
    """Tokens are untrusted: one that spells ``</script><script>...`` stays data in the JSON."""
    tokens = ["[CLS]", *HOSTILE_TOKENS, "[SEP]"]
    hostile = _view(tokens)
    benign = _view([f"t{i}" for i in range(len(tokens))])

    def scripts(page: str) -> list[str]:
        parser = _Scripts()
        parser.feed(page)
        parser.close()
        return parser.scripts

    # The same script elements as with harmless tokens: none closed early, none added.
    assert len(scripts(hostile)) == len(scripts(benign))
    for tag in ("<script", "</script"):  # (the vendored libraries spell them in strings too)
        assert hostile.lower().count(tag) == benign.lower().count(tag), tag
    for script in scripts(hostile):
        assert "<!--" not in script and "</script" not in script.lower()
        assert not script.lstrip().startswith("alert(")
    # The tokens reach the view unchanged, only in the params (the raw comment copy is gone).
    start = re.search(r"^[ \t]*const params = ", hostile, re.MULTILINE).end()
    params = json.JSONDecoder().raw_decode(hostile, start)[0]
    assert params["attention"][0]["left_text"] == tokens
    assert params["root_div_id"] == "bertviz-escaping-test"
    assert hostile.count("alert(1)") == 2  # left_text and right_text
    assert hostile.count("is a template marker") == 2  # the token (left, right); no comment copy


def test_view_files_are_self_contained():
    """No CDN, no require.config and one copy of the params in the committed views."""
    for view_id in (*VIEWS, HOMEWORK_VIEW):
        text = (GENERATED / f"{view_id}.html").read_text(encoding="utf-8")
        assert not re.search(r"<script[^>]+src=", text), view_id
        assert not re.search(r"require\.config\(\{\s*paths", text), view_id
        assert text.count('"attention": [') == 1, view_id
        assert f'id="bertviz-{view_id}"' in text, view_id


# -- Browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = find_chromium()
    if binary is None:
        reason = (
            "Chromium not found (chromium, chromium-browser, google-chrome on PATH, or $CHROMIUM):"
            " install Debian's chromium package to run the attention views in a browser"
        )
        if os.environ.get("LECTURE_REQUIRE_BROWSER"):
            pytest.fail(reason + " (LECTURE_REQUIRE_BROWSER is set)")
        pytest.skip(reason)
    return binary


@pytest.fixture(scope="module")
def site(chromium, built_site: Path) -> Path:
    """The site, built afresh from the working tree (once per session)."""
    return built_site


@pytest.fixture(scope="module")
def browser(chromium):
    with bc.launch(chromium, width=1280, height=900) as b:
        yield b


PROBE = """
(() => {
  const root = document.getElementById(%(root)s);
  const svg = root && root.querySelector("#vis svg");
  if (!svg) return {root: !!root, svg: false, require: typeof requirejs, d3: typeof d3};
  const all = (selector) => Array.from(root.querySelectorAll(selector));
  const drawn = (el) => { const b = el.getBBox(); return b.width > 0 && b.height > 0; };
  const opacity = (lines) => lines.reduce((s, l) => s + (+l.getAttribute("stroke-opacity")), 0);
  const rect = svg.getBoundingClientRect();
  const lines = all("svg line");
  return {
    root: true, svg: true, svgSize: [rect.width, rect.height],
    texts: all("svg text").length, textsDrawn: all("svg text").filter(drawn).length,
    left: all("#left text").map((t) => t.textContent),
    right: all("#right text").map((t) => t.textContent),
    lines: lines.length, opacity: opacity(lines),
    heads: all("g.headAttention").length, layerOptions: all("select#layer option").length,
    thumbnails: all("rect.attn_background").length,
    fits: document.documentElement.scrollWidth <= document.documentElement.clientWidth,
  };
})()
"""


def test_the_network_is_really_cut_off(browser):
    """The harness itself: a request to another host (by name or by IP) fails, and is seen."""
    page = bc.Page(browser)
    page.navigate("about:blank")
    for url in ("http://example.org/", "https://93.184.215.14/"):
        outcome = page.evaluate(f"fetch({json.dumps(url)}).then(() => 'reached', () => 'failed')")
        assert outcome == "failed", url
        assert url in [r.url for r in page.requests() if r.failed], page.requests()


def _frame_of(page: bc.Page, view_id: str) -> str | None:
    for frame, url in page.frames().items():
        if url.endswith(f"/generated/{view_id}.html"):
            return frame
    return None


def _probe(page: bc.Page, view_id: str) -> dict | None:
    frame = _frame_of(page, view_id)
    context = frame and page.frame_context(frame)
    if not context:
        return None
    try:
        return page.evaluate(PROBE % {"root": json.dumps(f"bertviz-{view_id}")}, context)
    except bc.DevToolsError:  # the frame navigated meanwhile
        return None


def _drawn_or_broken(page: bc.Page, view_id: str) -> dict | None:
    """The probe once the view has drawn; ``{"broken": ...}`` as soon as its frame logs an
    error (an uncaught exception or a failed load: it will not draw); None meanwhile."""
    probe = _probe(page, view_id)
    if probe and probe.get("lines"):
        return probe
    frame = _frame_of(page, view_id)
    if frame and any(problem.frame == frame for problem in page.console_problems()):
        return {"broken": "errors in its frame"}
    return None


@pytest.fixture(scope="module", params=["http", "file"])
def attention_page(request, site, browser):
    """attention.html with both views scrolled into sight (they load lazily) and drawn."""
    page = bc.Page(browser)
    if request.param == "http":
        stack = contextlib.ExitStack()
        request.addfinalizer(stack.close)
        base = stack.enter_context(bc.serve(site))
    else:
        base = site.as_uri() + "/"
    page.navigate(base + "attention.html", timeout=TIMEOUT_S)
    name = "attention.png" if request.param == "http" else "attention-file.png"
    probes = {}
    for view_id in VIEWS:
        page.evaluate(
            f"document.querySelector('iframe.bertviz-frame[src$=\"{view_id}.html\"]')"
            ".scrollIntoView({block: 'center'})"
        )
        try:
            probes[view_id] = bc.wait_until(
                lambda v=view_id: _drawn_or_broken(page, v), TIMEOUT_S, f"{view_id} to draw"
            )
        except TimeoutError as error:
            probes[view_id] = {"broken": str(error)}
        if "broken" in probes[view_id]:
            page.screenshot(ARTIFACTS / name)
            pytest.fail(
                f"{view_id} did not draw ({request.param}): {probes[view_id]['broken']}; "
                f"what its frame holds: {_probe(page, view_id)}; "
                f"console: {[p.text for p in page.console_problems()]}; failed requests: "
                f"{[(r.url, r.failed) for r in page.requests() if r.failed]}; "
                f"screenshot: tests/artifacts/{name}"
            )
    # The text column from the section's heading to the last view's caption, for a person to
    # look at (without the sticky header, which would be drawn over it).
    clip = page.evaluate(
        """(() => {
          document.querySelector(".md-header").style.visibility = "hidden";
          const views = document.querySelectorAll(".bertviz-view");
          const article = views[0].closest("article");
          const heading = article.querySelector("h2[id*=bertviz]") || views[0];
          const last = views[views.length - 1];
          const column = article.getBoundingClientRect();
          const top = heading.getBoundingClientRect().top + scrollY - 8;
          const bottom = (last.closest("figure") || last).getBoundingClientRect().bottom + scrollY;
          return {x: column.left + scrollX - 8, y: top, width: column.width + 16,
                  height: bottom + 8 - top};
        })()"""
    )
    page.screenshot(ARTIFACTS / name, clip=clip)
    return {"mode": request.param, "base": base, "page": page, "probes": probes}


def test_head_view_draws(attention_page):
    params = view_params("attention-head-view")
    data = params["attention"][0]
    layer = params.get("layer") or 0
    heads = len(data["attn"][layer])
    tokens = len(data["left_text"])
    probe = attention_page["probes"]["attention-head-view"]
    assert probe["left"] == data["left_text"] and probe["right"] == data["right_text"], probe
    assert probe["textsDrawn"] == probe["texts"] >= 2 * tokens
    assert probe["heads"] == heads
    assert probe["lines"] == heads * tokens * len(data["right_text"])
    assert probe["layerOptions"] == len(data["attn"])
    # All heads shown: each line's opacity is its weight / heads, so rows add up to 1 each.
    assert probe["opacity"] == pytest.approx(tokens, rel=1e-3)
    assert probe["svgSize"][0] > 300 and probe["svgSize"][1] > tokens * 10
    assert probe["fits"], "the view is wider than its frame"


def test_model_view_draws(attention_page):
    params = view_params("attention-model-view")
    data = params["attention"][0]
    layers, heads = len(data["attn"]), len(data["attn"][0])
    tokens = len(data["left_text"])
    probe = attention_page["probes"]["attention-model-view"]
    assert probe["thumbnails"] == layers * heads, probe
    assert probe["lines"] == layers * heads * tokens * len(data["right_text"])
    # Line opacities are the weights: every row of every thumbnail adds up to 1.
    assert probe["opacity"] == pytest.approx(layers * heads * tokens, rel=1e-3)
    assert probe["textsDrawn"] == probe["texts"] >= 2 + layers + heads  # axis titles, labels
    assert probe["svgSize"][0] > 300 and probe["svgSize"][1] > 50
    assert probe["fits"], "the view is wider than its frame: some heads are out of sight"


def test_the_homework_decoder_view_draws_its_layers_offline(site, browser):
    """SmolLM2's model view on the homework page, from file:// with the network cut off: one
    thumbnail per head of the four layers it holds, every row of every thumbnail adding up to 1,
    inside the frame, and nothing failing or logged in its frame."""
    params = view_params(HOMEWORK_VIEW)
    data = params["attention"][0]
    layers, heads = len(data["attn"]), len(data["attn"][0])
    tokens = len(data["left_text"])
    assert (layers, heads) == (4, 9)  # layers 0, 1, 28 and 29 of 30; 9 query heads
    page = bc.Page(browser)
    page.navigate(site.as_uri() + "/homework.html", timeout=TIMEOUT_S)
    page.evaluate(
        f"document.querySelector('iframe.bertviz-frame[src$=\"{HOMEWORK_VIEW}.html\"]')"
        ".scrollIntoView({block: 'center'})"
    )
    probe = bc.wait_until(
        lambda: _drawn_or_broken(page, HOMEWORK_VIEW), TIMEOUT_S, f"{HOMEWORK_VIEW} to draw"
    )
    assert "broken" not in probe, probe
    assert probe["thumbnails"] == layers * heads, probe
    assert probe["lines"] == layers * heads * tokens * len(data["right_text"])
    assert probe["opacity"] == pytest.approx(layers * heads * tokens, rel=1e-3)
    assert probe["fits"], "the view is wider than its frame: some heads are out of sight"
    frame = _frame_of(page, HOMEWORK_VIEW)
    assert [r.url for r in page.requests() if r.frame == frame and r.failed] == []
    assert [p.text for p in page.console_problems() if p.frame == frame] == []


def test_model_view_thumbnail_opens_on_click(attention_page):
    """The event handlers work too: clicking a thumbnail draws its enlarged view with tokens."""
    page, view_id = attention_page["page"], "attention-model-view"
    context = page.frame_context(_frame_of(page, view_id))
    root = json.dumps(f"bertviz-{view_id}")
    page.evaluate(
        f"document.getElementById({root}).querySelector('rect.attn_background ~ rect')"
        ".dispatchEvent(new MouseEvent('click', {bubbles: true}))",
        context,
    )
    tokens = view_params(view_id)["attention"][0]["left_text"]
    shown = bc.wait_until(
        lambda: page.evaluate(
            f"Array.from(document.getElementById({root}).querySelectorAll('.detail text.token'))"
            ".map((t) => t.textContent)",
            context,
        ),
        TIMEOUT_S,
        "the enlarged head",
    )
    assert shown == tokens * 2  # the tokens on the left and on the right


def _view_frames(page: bc.Page) -> set[str]:
    return {_frame_of(page, view_id) for view_id in VIEWS} - {None}


def _is_local(url: str, attention_page) -> bool:
    scheme = urlsplit(url).scheme
    if scheme in ("data", "blob", "about"):
        return True
    if attention_page["mode"] == "file":
        return scheme == "file"
    return url.startswith(attention_page["base"])


def test_views_load_only_their_own_files_and_log_no_errors(attention_page):
    """Inside the iframes: no request leaves the site, none fails, no error or warning."""
    page = attention_page["page"]
    frames = _view_frames(page)
    assert len(frames) == len(VIEWS)
    requests = [r for r in page.requests() if r.frame in frames]
    assert {urlsplit(r.url).path.rsplit("/", 1)[-1] for r in requests} == {
        f"{v}.html" for v in VIEWS
    }, "the views inline their scripts: each iframe loads its own file and nothing else"
    assert [r for r in requests if r.failed] == []
    assert [p.text for p in page.console_problems() if p.frame in frames] == []


def test_attention_page_requests_nothing_from_another_host(attention_page):
    """The whole page, views and all, with the network cut off: every request stays on the
    site, nothing fails to load, the console has no errors or warnings."""
    page = attention_page["page"]
    remote = sorted({r.url for r in page.requests() if not _is_local(r.url, attention_page)})
    assert remote == [], f"requests to another host: {remote}"
    failed = [f"{r.url}: {r.failed}" for r in page.requests() if r.failed]
    assert failed == []
    assert [p.text for p in page.console_problems()] == []


def test_screenshot_was_kept(attention_page):
    name = "attention.png" if attention_page["mode"] == "http" else "attention-file.png"
    png = (ARTIFACTS / name).read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
