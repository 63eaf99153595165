"""The live model's benchmark (``nox -s bench``, step 9; ``nox -s bench -- --live-model`` alone,
which writes ``dist/bench-live-model.json``).

In headless Chromium, on the site built afresh and served on 127.0.0.1, :data:`RUNS` times over,
each in a fresh browser profile (nothing kept):

* model ready after the click: the download from the site (98 MB over loopback) and its sha256
  check, then llama.cpp loading the file; then again from the copy the browser kept;
* the first token and tokens per second of a continuation of the lecture's prompt in the
  generate panel (``GENERATE_TOKENS`` new tokens, sampled, a fixed seed);
* the next-token panel's answer for the lecture's prompt (from typing to bars).

And what the browser tests add to ``nox -s tests``: ``pytest tests/test_live_model.py`` against
the same run with only its site-building test (the site is built once per test session, for
every browser test), less loading SmolLM2 in transformers (a session fixture that
``tests/test_smollm2.py`` loads anyway).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from snippets.render.manifest import REPO_ROOT

RUNS = 3
GENERATE_TOKENS = 48
TIMEOUT_S = 120.0
BUDGET_S = 60.0  # what the browser tests may add to nox -s tests (issue 31)
SITE_TEST = (
    "tests/test_live_model.py::"
    "test_the_built_site_carries_the_model_and_the_panels_only_where_asked"
)


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def _until(page, expression: str, what: str):
    """The value of ``expression`` once it is truthy."""
    from tests import browser_check as bc

    return bc.wait_until(lambda: page.evaluate(expression), TIMEOUT_S, what)


STATE = "window.lectureLiveModel && lectureLiveModel.state"
GENERATE = "document.querySelector('.live-model[data-panel=generate]')"
NEXT_TOKEN = "document.querySelector('.live-model[data-panel=next-token]')"
LOAD = "document.querySelector('.live-model-loader button').click()"


def _one_run(browser, base: str, prompt: str) -> dict[str, float]:
    """One fresh profile: load, generate, then the homework page from the kept copy."""
    from tests import browser_check as bc

    page = bc.Page(browser)
    page.navigate(base + "llm-in-action.html")
    _until(page, f"{STATE} === 'idle'", "the panel")
    page.evaluate(LOAD)
    _until(page, f"['ready', 'failed'].includes({STATE})", "the model")
    cold = page.evaluate("lectureLiveModel.timings")
    assert cold and not cold["from_cache"], page.evaluate("lectureLiveModel.message")
    page.evaluate(f"""(() => {{ const p = {GENERATE};
      p.querySelector('textarea').value = {json.dumps(prompt)};
      const inputs = p.querySelectorAll('.live-model-settings input');
      [0.7, 50, 1, {GENERATE_TOKENS}, 1].forEach((v, i) => inputs[i].value = v);
      p.querySelector('.live-model-actions button').click(); }})()""")
    run = json.loads(_until(page, f"{GENERATE}.dataset.lastRun", "the generation"))
    page.navigate(base + "homework.html")  # the model again, from the copy the browser kept
    _until(page, f"{STATE} === 'idle'", "the panels")
    page.evaluate(LOAD)
    _until(page, f"['ready', 'failed'].includes({STATE})", "the kept model")
    kept = page.evaluate("lectureLiveModel.timings")
    assert kept["from_cache"], kept
    _until(page, f"{NEXT_TOKEN}.dataset.shownFor", "the first bars")
    page.evaluate(f"""(() => {{ const box = {NEXT_TOKEN}.querySelector('textarea');
      box.value = 'The capital of France is'; box.dispatchEvent(new Event('input')); }})()""")
    typed = time.perf_counter()
    _until(page, f"({NEXT_TOKEN}.dataset.shownFor || '').includes('France')", "the next token")
    return {
        "cold_ready_s": cold["ready_ms"] / 1000,
        "download_and_check_s": cold["fetch_ms"] / 1000,
        "llama_cpp_load_s": cold["start_ms"] / 1000,
        "kept_ready_s": kept["ready_ms"] / 1000,
        "first_token_s": run["first_token_ms"] / 1000,
        "tokens_per_s": run["tokens_per_s"],
        "next_token_s": time.perf_counter() - typed,
    }


def browser_figures(site: Path, runs: int = RUNS) -> dict:
    """Model-ready time (cold and kept), first token, tokens per second, next-token latency:
    medians of ``runs`` fresh browser profiles, and every run's figures."""
    from tests import browser_check as bc

    from snippets.generation import PROMPT
    from snippets.render.pdf import find_chromium

    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError("Chromium is needed for the live model's benchmark")
    measured = []
    with bc.serve(site) as base:
        for _ in range(runs):
            with bc.launch(chromium, width=1280, height=900) as browser:
                measured.append(_one_run(browser, base, PROMPT))
    names = list(measured[0])
    return {
        "runs": runs,
        "generate_tokens": GENERATE_TOKENS,
        **{name: _median([m[name] for m in measured]) for name in names},
        "all": {name: [round(m[name], 2) for m in measured] for name in names},
    }


def test_time(env: dict[str, str] | None = None) -> dict:
    """Seconds ``tests/test_live_model.py`` adds to ``nox -s tests`` (see the module's doc)."""
    env = {**os.environ, "LECTURE_REQUIRE_BROWSER": "1", **(env or {})}
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]

    def timed(*command: str) -> float:
        start = time.perf_counter()
        subprocess.run(command, cwd=REPO_ROOT, env=env, check=True, capture_output=True)
        return time.perf_counter() - start

    whole = timed(*pytest, "tests/test_live_model.py")
    site_only = timed(*pytest, SITE_TEST)
    load = "from snippets.profiles import load; load('instruct_generator', 'offline')"
    smollm2 = timed(sys.executable, "-c", load) - timed(sys.executable, "-c", "import torch")
    extra = whole - site_only - smollm2
    return {"module_s": round(whole, 1), "site_build_and_start_s": round(site_only, 1),
            "smollm2_load_s": round(smollm2, 1), "extra_s": round(extra, 1),
            "budget_s": BUDGET_S}  # fmt: skip


def measure(runs: int = RUNS) -> dict:
    """Build the site into a temporary folder, then :func:`browser_figures` and
    :func:`test_time`."""
    with tempfile.TemporaryDirectory(prefix="lecture-live-model-") as tmp:
        site = Path(tmp) / "site"
        subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d",
                        str(site)], cwd=REPO_ROOT, check=True,
                       env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})  # fmt: skip
        figures = browser_figures(site, runs)
    figures["tests"] = test_time()
    return figures


def markdown_lines(results: dict) -> list[str]:
    """The benchmark page's lines on the live model."""
    tests = results["tests"]
    return [
        f"- Live model in headless Chromium (1 thread, loopback server; medians of "
        f"{results['runs']} fresh browser profiles): ready {results['cold_ready_s']:.1f} s after "
        f"the click (download and sha256 check {results['download_and_check_s']:.1f} s, "
        f"llama.cpp loading the file {results['llama_cpp_load_s']:.1f} s); from the copy the "
        f"browser kept {results['kept_ready_s']:.1f} s; first token "
        f"{results['first_token_s']:.2f} s and {results['tokens_per_s']:.1f} tokens/s over "
        f"{results['generate_tokens']} new tokens of the lecture's prompt; the next-token panel "
        f"answers {results['next_token_s']:.2f} s after typing (250 ms of it the pause it waits "
        "for).",
        f"- What `tests/test_live_model.py` adds to `nox -s tests`: {tests['extra_s']:.0f} s "
        f"(budget {tests['budget_s']:.0f} s): the module {tests['module_s']:.0f} s, less "
        f"starting pytest and building the site {tests['site_build_and_start_s']:.0f} s and "
        f"loading SmolLM2 in transformers {tests['smollm2_load_s']:.0f} s (both done once for "
        "every test).",
    ]
