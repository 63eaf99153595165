"""Accessibility and copying, tried in headless Chromium from ``file://`` with the network off.

**axe-core** (npm ``axe-core``, fetched once with ``npm pack`` and checked against its sha256,
cached in ``$LECTURE_CACHE/npm/``) runs on every page of a site built afresh, and inside both
bertviz views (their frames load lazily: each is scrolled into sight and drawn first). Every
violation is attributed to its owner:

* **the project**: what the pages' Markdown, the generated fragments, ``docs/assets/`` and the
  bertviz views put in the page content (``article``), and everything inside the views;
* **the theme** (Material for MkDocs): its header, navigation, search, footer, and its widgets
  inside the content (the copy button's ``nav``, permalinks).

The project's elements must have no *serious* or *critical* violation. The theme's own are
printed in the test output (and written, with the project's, to
``tests/artifacts/axe-report.json``) for the record: they are not the project's to fix.

**Copying a console example** (``>>>``): the theme's copy button must put only the code on the
clipboard, no prompts and no output lines, so that it can be pasted into ``python``.

**Figures' display width**: the legibility check of ``tests/test_figures.py`` assumes the page
shows a figure ``DISPLAY_WIDTH_PX`` wide at most (a 1280 x 900 window); checked here.
"""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from snippets.render.pdf import find_chromium
from tests import browser_check as bc
from tests.figure_layout import DISPLAY_WIDTH_PX

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "tests" / "artifacts"
AXE_PACKAGE = "axe-core@4.14.1"
AXE_SHA256 = "e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745"
BLOCKING_IMPACTS = ("serious", "critical")
VIEWS = ("attention-head-view", "attention-model-view", "homework-decoder-model-view")
TIMEOUT_S = 15.0

# Who made an element: run in the page on each element axe flags.
OWNER_JS = """
(el) => {
  if (!el) return "project";
  const material = ".md-code__nav, .md-clipboard, .md-code__button, .headerlink, .md-source-file,"
    + " .md-content__button, .md-annotation__index";
  if (!el.closest("article") || el.closest(material)) return "theme";
  return "project";
}
"""

# Run axe in the current document and return its violations, each node with its owner.
RUN_AXE_JS = """
(async () => {
  const owner = %(owner)s;
  const results = await axe.run(document, {iframes: false, resultTypes: ["violations"]});
  return {
    passes: results.passes.length,
    violations: results.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({
        target: n.target.join(" "), html: n.html.slice(0, 200),
        summary: n.failureSummary.slice(0, 400),
        owner: owner(document.querySelector(n.target[n.target.length - 1])),
      })),
    })),
  };
})()
"""


def _fail_or_skip(reason: str) -> None:
    if os.environ.get("LECTURE_REQUIRE_BROWSER"):
        pytest.fail(reason + " (LECTURE_REQUIRE_BROWSER is set)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = find_chromium()
    if binary is None:
        _fail_or_skip("Chromium not found: install Debian's chromium package to run axe-core")
    return binary


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core's ``axe.min.js``, from the npm tarball (sha256-checked), cached."""
    from snippets.offline import ModelUnavailableError, npm_package_files

    if shutil.which("npm") is None:
        _fail_or_skip(f"npm not found: it fetches {AXE_PACKAGE} for the accessibility test")
    try:
        files = npm_package_files(AXE_PACKAGE, AXE_SHA256, ("axe.min.js",))
    except ModelUnavailableError as error:
        _fail_or_skip(f"{AXE_PACKAGE} is not available: {error}")
    return files["axe.min.js"].read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def site(chromium, built_site: Path) -> Path:
    """The site, built afresh from the working tree (once per session)."""
    return built_site


@pytest.fixture(scope="module")
def browser(chromium):
    with bc.launch(chromium, width=1280, height=900) as b:
        yield b


def site_pages(site: Path) -> list[Path]:
    """Every page a reader can open: the site's .html files but the bertviz views (checked
    inside the attention page's frames) and the theme's and plugins' own assets."""
    return sorted(
        path
        for path in site.rglob("*.html")
        if not {"assets", "generated", "search"} & set(path.relative_to(site).parts)
    )


def _run_axe(page: bc.Page, axe: str, context: int | None = None) -> dict:
    """axe's answer for the page, or for the frame of ``context`` (a bertviz view: all of it
    is the project's)."""
    page.evaluate(axe + "\n;0", context)
    owner = OWNER_JS if context is None else '() => "project"'
    return page.evaluate(RUN_AXE_JS % {"owner": owner}, context)


def _view_context(page: bc.Page, view_id: str) -> int | None:
    """The JavaScript context of a bertviz view's frame, once the view has drawn."""
    for frame, url in page.frames().items():
        if url.endswith(f"/generated/{view_id}.html"):
            context = page.frame_context(frame)
            drawn = context and page.evaluate(
                "document.querySelectorAll('#vis svg line').length > 0", context
            )
            return context if drawn else None
    return None


@pytest.fixture(scope="module")
def axe_report(chromium, site, browser, axe_source) -> dict:
    """axe's violations on every page and in both views: ``{where: axe's answer}``. The pages
    are shared between two browsers working side by side (about 45 s of axe and page loads on
    one), balanced by the pages' sizes."""
    groups: list[list[Path]] = [[], []]
    sizes = [0, 0]
    for path in sorted(site_pages(site), key=lambda p: -p.stat().st_size):
        lighter = sizes.index(min(sizes))
        groups[lighter].append(path)
        sizes[lighter] += path.stat().st_size
    with bc.launch(chromium, width=1280, height=900) as second, ThreadPoolExecutor(2) as pool:
        found = pool.map(
            lambda job: _axe_pages(site, job[0], axe_source, job[1]),
            [(browser, groups[0]), (second, groups[1])],
        )
        report = {where: answer for part in found for where, answer in part.items()}
    report = dict(sorted(report.items()))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe-report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    return report


def _axe_pages(site: Path, browser: bc.Browser, axe_source: str, paths: list[Path]) -> dict:
    """axe's answer for each page of ``paths`` and for each bertviz view on it."""
    report: dict[str, dict] = {}
    for path in paths:
        name = path.relative_to(site).as_posix()
        page = bc.Page(browser)
        page.navigate(path.as_uri(), timeout=TIMEOUT_S)
        report[name] = _run_axe(page, axe_source)
        for view_id in VIEWS:
            selector = f'iframe.bertviz-frame[src$="{view_id}.html"]'
            if name == "print_page.html" or not page.evaluate(
                f"!!document.querySelector({json.dumps(selector)})"
            ):
                continue  # (on paper the views give way to a note)
            page.evaluate(
                f"document.querySelector({json.dumps(selector)})"
                ".scrollIntoView({block: 'center'})"
            )
            context = bc.wait_until(
                lambda p=page, v=view_id: _view_context(p, v), TIMEOUT_S, f"{view_id} to draw"
            )
            report[f"{name} > {view_id}"] = _run_axe(page, axe_source, context)
    return report


def violations(report: dict, owner: str, impacts=BLOCKING_IMPACTS) -> list[str]:
    """One line per element: where, rule, impact, element, axe's summary."""
    lines = []
    for where, answer in report.items():
        for violation in answer["violations"]:
            if violation["impact"] not in impacts:
                continue
            for node in violation["nodes"]:
                if node["owner"] == owner:
                    lines.append(
                        f"{where}: {violation['id']} ({violation['impact']}) {node['target']}: "
                        f"{(node['summary'].splitlines()[1:] or [''])[0].strip()}"
                    )
    return lines


def test_axe_ran_on_every_page_and_in_both_views(site, axe_report):
    pages = {path.relative_to(site).as_posix() for path in site_pages(site)}
    assert {"index.html", "attention.html", "print_page.html", "notebooks/lecture.html"} <= pages
    assert pages <= set(axe_report)
    assert {f"attention.html > {view_id}" for view_id in VIEWS[:2]} <= set(axe_report)
    assert "homework.html > homework-decoder-model-view" in axe_report
    for where, answer in axe_report.items():
        assert answer["passes"] >= 5, f"axe checked next to nothing on {where}: {answer}"


def test_no_serious_or_critical_violation_on_the_projects_elements(axe_report, capsys):
    theme: dict[str, list[str]] = {}  # the theme's own, by rule and element: on which pages
    for line in violations(axe_report, "theme"):
        where, finding = line.split(": ", 1)
        theme.setdefault(finding, []).append(where)
    with capsys.disabled():  # for the record: they are not the project's to fix
        print(f"\naxe-core: the theme's own serious/critical violations ({len(theme)} kinds):")
        for finding, pages in sorted(theme.items()):
            print(f"  theme: {finding} [{len(pages)} page(s): {', '.join(pages[:3])}...]")
    assert violations(axe_report, "project") == []


def test_the_attention_views_menus_have_names(axe_report):
    """The head view's layer menu was axe's one critical finding (no accessible name)."""
    answer = axe_report["attention.html > attention-head-view"]
    assert [v["id"] for v in answer["violations"] if v["id"] in ("label", "select-name")] == []


def test_axe_and_the_owner_rule_catch_planted_faults(browser, axe_source, tmp_path):
    """The harness itself: an unlabelled menu and faint small text in the content are the
    project's; the same in the header is the theme's."""
    faulty = (
        '<select id="m"><option>1</option></select>'
        '<p><small style="color:#bbb">source line</small></p>'
    )
    in_header = faulty.replace('id="m"', 'id="h"')
    (tmp_path / "planted.html").write_text(
        f'<!doctype html><html lang="en"><head><title>t</title></head><body>'
        f'<header class="md-header">{in_header}</header>'
        f"<main><article><h1>Planted</h1>{faulty}</article></main></body></html>",
        encoding="utf-8",
    )
    page = bc.Page(browser)
    page.navigate((tmp_path / "planted.html").as_uri())
    report = {"planted.html": _run_axe(page, axe_source)}
    project = violations(report, "project")
    theme = violations(report, "theme")
    assert any("select-name (critical) #m" in line for line in project), project
    assert any("color-contrast (serious) article" in line for line in project), project
    assert any("select-name (critical) #h" in line for line in theme), theme


def test_figures_are_shown_at_least_as_wide_as_the_legibility_check_assumes(site, browser):
    """tests/test_figures.py computes on-screen font sizes for a figure shown at
    min(its width, DISPLAY_WIDTH_PX); the page must not show it narrower."""
    shown = {}
    for path in site_pages(site):
        page = bc.Page(browser)
        page.navigate(path.as_uri(), timeout=TIMEOUT_S)
        for name, width, natural in page.evaluate(
            "Promise.all(Array.from(document.querySelectorAll('article img.lecture-figure'))"
            ".map((img) => img.decode().then(() => [img.getAttribute('src'), img.clientWidth,"
            " img.naturalWidth])))"
        ):
            shown[f"{path.name}: {name}"] = (width, natural)
    assert len([k for k in shown if not k.startswith("print_page")]) >= 8, shown
    narrow = {k: v for k, v in shown.items() if v[0] < min(v[1], DISPLAY_WIDTH_PX) - 1}
    assert narrow == {}, f"shown narrower than {DISPLAY_WIDTH_PX} px (width, natural): {narrow}"


def test_a_phone_shows_figures_as_wide_as_the_phone_check_assumes(site, chromium):
    """tests/test_figures.py checks PHONE_FIGURES at PHONE_DISPLAY_WIDTH_PX: a 390 px wide
    phone (mobile emulation) must show them at least that wide, and no page may be wider than
    the phone."""
    from tests.figure_layout import PHONE_DISPLAY_WIDTH_PX, PHONE_WIDTH_PX
    from tests.test_figures import PHONE_FIGURES

    shown = {}
    with bc.launch(chromium, width=1280, height=900) as phone:
        page = bc.Page(phone)
        page.call("Emulation.setDeviceMetricsOverride", {
            "width": PHONE_WIDTH_PX, "height": 844, "deviceScaleFactor": 1, "mobile": True,
        })  # fmt: skip
        for name in ("attention.html", "architecture.html"):
            page.navigate((site / name).as_uri(), timeout=TIMEOUT_S)
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH_PX, name
            for src, width in page.evaluate(
                "Promise.all(Array.from(document.querySelectorAll('article img.lecture-figure'))"
                ".map((img) => img.decode().then(() => [img.getAttribute('src'),"
                " img.clientWidth])))"
            ):
                shown[src.rsplit("/", 1)[-1].removesuffix(".png")] = width
    assert set(PHONE_FIGURES) <= set(shown), shown
    for figure in PHONE_FIGURES:
        assert shown[figure] >= PHONE_DISPLAY_WIDTH_PX - 1, (figure, shown[figure])


# -- Copying a console example ---------------------------------------------------------------

# The console examples of a page: each one's shown text and the middle of its copy button.
CONSOLE_BLOCKS = """
Array.from(document.querySelectorAll("article .highlight"))
  .filter((block) => block.querySelector("pre > code .gp"))
  .map((block) => block.querySelector("pre > code").innerText)
"""
COPY_BUTTON = """
(() => {
  const block = Array.from(document.querySelectorAll("article .highlight"))
    .filter((block) => block.querySelector("pre > code .gp"))[%d];
  block.scrollIntoView({block: "center"});
  const box = block.querySelector("button[data-clipboard-target]").getBoundingClientRect();
  return [box.left + box.width / 2, box.top + box.height / 2];
})()
"""


def _click(page: bc.Page, x: float, y: float) -> None:
    """A real click (the copy needs a user's gesture, which a script's click() is not)."""
    page.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
    for kind in ("mousePressed", "mouseReleased"):
        page.call(
            "Input.dispatchMouseEvent",
            {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
        )


@pytest.mark.parametrize("page_name", ["architecture.html", "pipeline.html", "tokenization.html"])
def test_copy_button_copies_only_the_code_of_a_console_example(site, browser, page_name):
    """Click each ``>>>`` example's copy button and read the clipboard: the statements, one per
    line, without ``>>> ``/``... `` and without the output lines."""
    page = bc.Page(browser)
    browser.call(
        "Browser.grantPermissions",
        {
            "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
            "origin": "file://",
        },
    )
    page.navigate((site / page_name).as_uri(), timeout=TIMEOUT_S)
    page.call("Page.bringToFront")
    page.call("Emulation.setFocusEmulationEnabled", {"enabled": True})
    blocks = page.evaluate(CONSOLE_BLOCKS)
    assert blocks, f"no console example with a copy button on {page_name}"
    with_output = 0
    for index, text in enumerate(blocks):
        page.evaluate("navigator.clipboard.writeText('(nothing copied)')")
        _click(page, *page.evaluate(COPY_BUTTON % index))
        block = {"shown": text, "copied": page.evaluate("navigator.clipboard.readText()")}
        shown = text.rstrip("\n").splitlines()
        statements = [line[4:] for line in shown if line.startswith((">>> ", "... "))]
        outputs = [line for line in shown if line and not line.startswith((">>>", "..."))]
        copied = block["copied"].splitlines()
        with_output += bool(outputs)
        assert copied == statements, block
        assert not any(line.startswith((">>>", "...")) for line in copied)
        assert not set(outputs) & set(copied), block
    assert with_output, f"no console example with output on {page_name}: nothing left out"


# -- No browser: the views' menus ---------------------------------------------------------------


def test_each_bertviz_menu_is_wrapped_in_a_label():
    from snippets.render.views import label_menus

    head = '<span>\n  Layer: <select id="layer"></select>\n  \n</span>'
    assert (
        label_menus(head)
        == '<span>\n  <label>Layer: <select id="layer"></select></label>\n  \n</span>'
    )
    both = 'Layer: <select id="layer"></select> Attention: <select id="filter"><option>a</option>'
    both += "</select>"
    assert label_menus(both).count("<label>") == 2
    with pytest.raises(ValueError, match="layout changed"):
        label_menus('<select id="layer"></select>')


def test_committed_head_view_names_its_layer_menu():
    text = (REPO / "docs" / "generated" / "attention-head-view.html").read_text(encoding="utf-8")
    assert '<label>Layer: <select id="layer"></select></label>' in text
