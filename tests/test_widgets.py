"""The two widgets, in headless Chromium with the network cut off: the tokenizer playground of the
tokenization page and the temperature dial of the homework page.

The site is built afresh and opened from ``file://`` and over http (127.0.0.1), as in
``tests/test_browser.py`` (whose fixtures these tests share). The playground must give, as text
is typed into it, the seed's 20 GPT-2 ids for the Counselor sentence and the transformers
tokenizer's tokens and ids for an emoji and two non-English words (German, Russian) (the JSON asset
``docs/generated/tokenization-playground-ids.json``); the dial, moved with the keyboard, must draw
the probabilities that transformers' own logits warpers (temperature, top-k, top-p) give for the
logits of ``docs/generated/generation-next-token-logits.json``. On the print page, and in print,
both give way to their static output and a note. Each widget's JavaScript and data weigh less
than 1.5 MB and are loaded by its own page only (and the print page, which holds every page).
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests import browser_check as bc
from tests.test_browser import browser, chromium, site  # noqa: F401 - shared fixtures
from tests.test_reference_values import COUNSELOR_IDS, COUNSELOR_TOKENS

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
GENERATED = DOCS / "generated"
ARTIFACTS = REPO / "tests" / "artifacts"
MAX_WIDGET_BYTES = 1_500_000  # issue 16: each widget's JavaScript and data under 1.5 MB
TIMEOUT_S = 15.0
# Each widget: its page, the scripts that page loads for it, its data (the page fragment that
# carries the JSON data island), the static output that stands in for it on paper.
WIDGETS = {
    "tokenizer-playground": {
        "page": "tokenization.html",
        "scripts": ["assets/vendor/gpt-tokenizer/r50k_base.js",
                    "assets/widgets/tokenizer-playground.js"],
        "data": "tokenization-playground-ids",
        "static": "output-tokenization-summary",
    },
    "temperature-dial": {
        "page": "homework.html",
        "scripts": ["assets/widgets/temperature-dial.js"],
        "data": "generation-next-token-logits",
        "static": "output-generation-temperature",
    },
}  # fmt: skip


def asset(example_id: str):
    return json.loads((GENERATED / f"{example_id}.json").read_text(encoding="utf-8"))


# -- No browser ------------------------------------------------------------------------------


@pytest.mark.parametrize("widget", WIDGETS)
def test_widget_javascript_and_data_weigh_under_1_5_mb(widget):
    spec = WIDGETS[widget]
    files = [DOCS / script for script in spec["scripts"]]
    files.append(GENERATED / f"{spec['data']}.md")  # the data island the page carries
    size = sum(path.stat().st_size for path in files)
    assert size < MAX_WIDGET_BYTES, f"{widget}: {size / 1e6:.2f} MB"


def test_playground_asset_holds_the_seeds_ids_and_the_test_texts():
    texts = {entry["text"]: entry for entry in asset("tokenization-playground-ids")}
    from snippets.tokenization import PLAYGROUND_TEXTS, SEQUENCE

    assert list(texts) == PLAYGROUND_TEXTS
    assert texts[SEQUENCE]["ids"] == COUNSELOR_IDS
    assert texts[SEQUENCE]["tokens"] == COUNSELOR_TOKENS
    assert texts["\N{HUGGING FACE}"]["ids"] == [8582, 97, 245]  # 4 UTF-8 bytes, 3 tokens
    for entry in texts.values():
        assert len(entry["tokens"]) == len(entry["ids"]) > 0


def test_dial_asset_holds_30_sorted_logits():
    data = asset("generation-next-token-logits")
    from snippets.generation import PROMPT

    assert data["prompt"] == PROMPT
    assert len(data["tokens"]) == len(data["ids"]) == len(data["logits"]) == 30
    assert data["logits"] == sorted(data["logits"], reverse=True)


def test_widget_scripts_are_loaded_only_on_their_page(site):  # noqa: F811
    """No global extra_javascript: a widget's scripts are in its page (and the print page)."""
    for widget, spec in WIDGETS.items():
        for script in spec["scripts"]:
            loaded_by = sorted(
                path.name
                for path in site.glob("**/*.html")
                if re.search(rf'<script[^>]+src="[./]*{re.escape(script)}"', path.read_text())
            )
            assert loaded_by == sorted([spec["page"], "print_page.html"]), (widget, script)


# -- Browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["http", "file"])
def base(request, site):  # noqa: F811
    if request.param == "file":
        return site.as_uri() + "/"
    stack = contextlib.ExitStack()
    request.addfinalizer(stack.close)
    return stack.enter_context(bc.serve(site))


def _open(browser, base: str, page_name: str, widget: str) -> bc.Page:  # noqa: F811
    page = bc.Page(browser)
    page.navigate(base + page_name, timeout=TIMEOUT_S)
    shown = f"!document.getElementById({json.dumps(widget)}).hidden"
    bc.wait_until(lambda: page.evaluate(shown), TIMEOUT_S, f"{widget} to show itself")
    return page


def _screenshot(page: bc.Page, widget: str, name: str) -> None:
    """Keep a picture of the widget for a person to look at (tests/artifacts/, ignored by git)."""
    clip = page.evaluate(
        f"""(() => {{
          document.querySelector(".md-header").style.visibility = "hidden";
          const box = document.getElementById({json.dumps(widget)});
          box.scrollIntoView({{block: "start"}});
          const r = box.getBoundingClientRect();
          return {{x: r.left + scrollX - 4, y: r.top + scrollY - 4,
                   width: r.width + 8, height: r.height + 8}};
        }})()"""
    )
    page.screenshot(ARTIFACTS / name, clip=clip)


def _is_local(url: str, base: str) -> bool:
    scheme = urlsplit(url).scheme
    if scheme in ("data", "blob", "about"):
        return True
    return scheme == "file" if base.startswith("file:") else url.startswith(base)


def _assert_clean(page: bc.Page, base: str) -> None:
    """Every request stayed on the site and none failed; the console has nothing to say."""
    assert [r.url for r in page.requests() if not _is_local(r.url, base)] == []
    assert [f"{r.url}: {r.failed}" for r in page.requests() if r.failed] == []
    assert [p.text for p in page.console_problems()] == []


CHIPS = """Array.from(document.querySelectorAll("#tokenizer-chips .token-chip")).map((chip) => ({
  token: chip.querySelector(".token-text").textContent,
  id: Number(chip.querySelector(".token-id").textContent)}))"""


def _type(page: bc.Page, text: str, one_at_a_time: bool) -> None:
    """Empty the text box, then type ``text`` as keyboard input (one input event a character)."""
    page.evaluate("document.getElementById('tokenizer-text').select()")
    page.evaluate("document.getElementById('tokenizer-text').focus()")
    page.call("Input.insertText", {"text": ""})  # replaces the selection: the box is empty
    assert page.evaluate("document.getElementById('tokenizer-text').value") == ""
    for piece in list(text) if one_at_a_time else [text]:
        page.call("Input.insertText", {"text": piece})


def _chips(page: bc.Page) -> tuple[list[str], list[int]]:
    chips = page.evaluate(CHIPS)
    return [c["token"] for c in chips], [c["id"] for c in chips]


def test_playground_gives_gpt2s_ids_as_text_is_typed(browser, base):  # noqa: F811
    page = _open(browser, base, "tokenization.html", "tokenizer-playground")
    from snippets.tokenization import SEQUENCE

    # It opens on the lecture's sentence.
    assert page.evaluate("document.getElementById('tokenizer-text').value") == SEQUENCE
    assert _chips(page) == (COUNSELOR_TOKENS, COUNSELOR_IDS)
    # Typed character by character, the sentence gives the seed's 20 ids.
    _type(page, SEQUENCE, one_at_a_time=True)
    assert _chips(page) == (COUNSELOR_TOKENS, COUNSELOR_IDS)
    ids_text = page.evaluate("document.getElementById('tokenizer-ids').textContent")
    assert json.loads(ids_text) == COUNSELOR_IDS
    count = page.evaluate("document.getElementById('tokenizer-count').textContent")
    assert count == f"20 tokens, {len(SEQUENCE)} characters"
    assert page.evaluate("document.getElementById('tokenizer-check').textContent").startswith("✓")
    # An emoji and non-English words: what the transformers tokenizer gave at build time.
    for entry in asset("tokenization-playground-ids")[1:]:
        _type(page, entry["text"], one_at_a_time=False)
        assert _chips(page) == (entry["tokens"], entry["ids"]), entry["text"]
        check = page.evaluate("document.getElementById('tokenizer-check').textContent")
        assert check.startswith("✓"), (entry["text"], check)
    # Text the renderer never saw: still tokenized, no comparison claimed.
    _type(page, "Hello world", one_at_a_time=False)
    assert _chips(page) == (["Hello", "Ġworld"], [15496, 995])
    assert page.evaluate("document.getElementById('tokenizer-check').textContent") == ""
    _assert_clean(page, base)
    _type(page, "Hello world, this is GPT-2's tokenizer: 🤗 Übersetzung\n\tcode()", False)
    _screenshot(page, "tokenizer-playground", f"tokenizer-{urlsplit(base).scheme}.png")


def _expected(logits: list[float], temperature: float, top_k: int, top_p: float) -> list[float]:
    """What ``generate`` samples from: transformers' warpers, then softmax (cut tokens: 0)."""
    import torch
    from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    scores = torch.tensor([logits], dtype=torch.float64)
    for warper in (
        TemperatureLogitsWarper(temperature),
        TopKLogitsWarper(top_k),
        TopPLogitsWarper(top_p),
    ):
        scores = warper(None, scores)
    return torch.softmax(scores, dim=-1)[0].tolist()


def _press(page: bc.Page, control: str, key: str, times: int) -> None:
    """Focus ``control`` and press ``key`` (ArrowLeft, ArrowRight, Home, End) ``times`` times."""
    codes = {"ArrowLeft": 37, "ArrowRight": 39, "Home": 36, "End": 35}
    page.evaluate(f"document.getElementById({json.dumps(control)}).focus()")
    for _ in range(times):
        for kind in ("rawKeyDown", "keyUp"):
            page.call(
                "Input.dispatchKeyEvent",
                {"type": kind, "key": key, "code": key, "windowsVirtualKeyCode": codes[key]},
            )


DRAWN = """Array.from(document.querySelectorAll("#dial-bars .dial-row")).map((row) => ({
  token: row.dataset.token, p: Number(row.dataset.p),
  shown: row.querySelector(".dial-value").textContent,
  width: row.querySelector(".dial-fill").getBoundingClientRect().width,
  track: row.querySelector(".dial-track").getBoundingClientRect().width}))"""


def test_dial_draws_softmax_of_logits_over_temperature(browser, base):  # noqa: F811
    page = _open(browser, base, "homework.html", "temperature-dial")
    data = asset("generation-next-token-logits")
    settings = [  # (keys pressed, temperature, top-k, top-p) after them
        ([], 1.0, 30, 1.0),
        ([("dial-temperature", "ArrowLeft", 5)], 0.5, 30, 1.0),
        ([("dial-temperature", "Home", 1)], 0.1, 30, 1.0),
        ([("dial-temperature", "End", 1)], 2.0, 30, 1.0),
        ([("dial-temperature", "ArrowLeft", 7)], 1.3, 30, 1.0),
        ([("dial-top-k", "ArrowLeft", 25)], 1.3, 5, 1.0),
        ([("dial-top-k", "End", 1), ("dial-top-p", "ArrowLeft", 2)], 1.3, 30, 0.9),
        ([("dial-top-k", "ArrowLeft", 20), ("dial-top-p", "ArrowLeft", 10)], 1.3, 10, 0.4),
    ]
    for keys, temperature, top_k, top_p in settings:
        for control, key, times in keys:
            _press(page, control, key, times)
        values = page.evaluate(
            "['dial-temperature', 'dial-top-k', 'dial-top-p']"
            ".map((id) => Number(document.getElementById(id).value))"
        )
        assert values == pytest.approx([temperature, top_k, top_p]), keys
        drawn = page.evaluate(DRAWN)
        expected = _expected(data["logits"], temperature, top_k, top_p)
        assert [row["token"] for row in drawn] == data["tokens"]
        assert [row["p"] for row in drawn] == pytest.approx(expected, abs=1e-6), values
        for row, p in zip(drawn, expected, strict=True):
            # The bar is p of its track; the number is p in percent (or "cut").
            assert row["width"] == pytest.approx(p * row["track"], abs=1.0), row
            assert row["shown"] == ("cut" if p == 0 else f"{100 * p:.1f}%"), row
    if top_p < 1:
        assert 0 < sum(p > 0 for p in expected) < top_k  # the last setting cut by top-p
    _assert_clean(page, base)
    _screenshot(page, "temperature-dial", f"temperature-dial-{urlsplit(base).scheme}.png")


@pytest.mark.parametrize("media", ["screen", "print"])
def test_print_page_shows_static_outputs_and_a_note_instead(browser, site, media):  # noqa: F811
    page = bc.Page(browser)
    page.call("Emulation.setEmulatedMedia", {"media": media})
    page.navigate(site.as_uri() + "/print_page.html", timeout=TIMEOUT_S)
    for widget, spec in WIDGETS.items():
        # The print page prefixes every id with its page's name: tokenization-tokenizer-...
        prefix = spec["page"].removesuffix(".html") + "-"
        static = prefix + spec["static"]
        state = page.evaluate(
            f"""(() => {{
              const widget = document.getElementById({json.dumps(prefix + widget)});
              const note = widget.parentElement.querySelector(
                "#" + widget.id + " ~ .widget-print-note");
              const figure = document.getElementById({json.dumps(static)});
              const shown = (el) => !!el && el.getClientRects().length > 0;
              return {{widget: shown(widget), note: shown(note),
                       noteText: note && note.textContent, figure: shown(figure)}};
            }})()"""
        )
        assert state["widget"] is False, (widget, media, state)
        assert state["note"] is True and state["noteText"].startswith("Interactive"), state
        assert state["figure"] is True, (widget, media, state)
    # And on the widget's own page, in print: the same (the PDF prints the print page).
    for widget, spec in WIDGETS.items():
        page.navigate(site.as_uri() + "/" + spec["page"], timeout=TIMEOUT_S)
        widget_shown = page.evaluate(
            f"document.getElementById({json.dumps(widget)}).getClientRects().length > 0"
        )
        note_shown = page.evaluate(
            "document.querySelector('.widget-print-note').getClientRects().length > 0"
        )
        assert (widget_shown, note_shown) == ((False, True) if media == "print" else (True, False))
    page.call("Emulation.setEmulatedMedia", {"media": ""})
