"""Turning what an example produced into files, and the fragment a page includes.

:func:`write_assets` writes an example's files (``<id>.txt``, ``.png``, ``.html``, ``.json`` and
the page fragment ``<id>.md``), each atomically.

Model outputs are untrusted text: it goes into fenced code blocks (which the site escapes) or
through :func:`html.escape`; nothing an example prints becomes raw HTML on a page. Nor does a
Markdown extension expand it: inside a fenced block the inline extensions (arithmatex's ``$x$``,
``{: .class }`` attribute lists, abbreviations, ``:emoji:``) never see it, and the one that reads
every line first, pymdownx.snippets, finds each of its own lines escaped
(:func:`escape_snippet_lines`). Data an example
returns (a dict or list) is written as ``<id>.json`` and reaches the page as a JSON data island,
``<script type="application/json" id="data-<id>">``, with ``<``, ``>`` and ``&`` written as
``\\u003c``, ``\\u003e``, ``\\u0026`` so that no string in it can end the script element; a
widget on the page reads it with ``JSON.parse`` (this works from ``file://``, where ``fetch``
does not).
"""

from __future__ import annotations

import functools
import html
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snippets.profiles import Role, role
from snippets.render import manifest as mf
from snippets.render.examples import POINTS, Example

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_URL_PREFIX = "https://github.com/"  # only for display; the caption links are relative
# JSON inside <script>: no string can close the element or open an HTML comment in it.
SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})
FIGURE_DPI = (
    110  # pixels per inch of the saved figures (their on-screen size: tests/figure_layout.py)
)


@dataclass
class Captured:
    """What one example produced: printed text, at most one figure (PNG bytes), at most one
    attention view (the self-contained document of :func:`snippets.render.views.
    make_self_contained`), at most one piece of data (what JSON can hold: dicts, lists,
    strings, numbers, booleans)."""

    text: str = ""
    png: bytes | None = None
    html: str | None = None
    data: Any = None
    extra: dict[str, bytes] = field(default_factory=dict)


def scrub_paths(text: str) -> str:
    """Replace machine-specific absolute paths so assets are identical on every machine."""
    from snippets.offline import cache_dir

    text = text.replace(str(cache_dir()), "$LECTURE_CACHE")
    text = text.replace(str(REPO_ROOT), ".")
    return re.sub(r"/tmp/[A-Za-z0-9_.-]+", "$TMPDIR", text)


# The fonts a figure's text is drawn with, in order: matplotlib takes each glyph from the first
# of them that has it (its font fallback). DejaVu Sans, matplotlib's own, has Latin, Greek,
# Cyrillic, many symbols and the emoticons (U+1F600-1F64F); Droid Sans Fallback (Debian's
# fonts-droid-fallback, which CI installs for the PDF) has Chinese, Japanese and Korean. CI's
# other font, Noto Color Emoji, cannot be one: its glyphs are bitmaps, and matplotlib draws
# scalable fonts only (it refuses the file: "Non-scalable fonts are not supported"). A glyph that
# none of them has makes matplotlib warn "Glyph ... missing from font(s)", which fails the
# example like any warning it does not declare.
FIGURE_FONTS = ("DejaVu Sans", "Droid Sans Fallback")


def use_figure_fonts() -> list[str]:
    """Draw the figures made from now on with those of :data:`FIGURE_FONTS` that are installed
    (matplotlib's ``font.family``); returns them. A font installed after matplotlib made its
    font cache is not in it: the system's font folders are then searched once for it."""
    import matplotlib
    from matplotlib import font_manager

    manager = font_manager.fontManager
    missing = tuple(name for name in FIGURE_FONTS if name not in {f.name for f in manager.ttflist})
    if missing:
        _add_system_fonts(missing)
    installed = {font.name for font in manager.ttflist}
    families = [name for name in FIGURE_FONTS if name in installed]
    matplotlib.rcParams["font.family"] = families
    return families


@functools.cache
def _add_system_fonts(families: tuple[str, ...]) -> None:
    """Add to matplotlib's font list the system's font files of ``families`` that it does not
    list (searched once a process)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    manager = font_manager.fontManager
    known = {font.fname for font in manager.ttflist}
    for path in font_manager.findSystemFonts():
        if path in known:
            continue
        try:
            if FT2Font(path).family_name in families:
                manager.addfont(path)
        except (NotImplementedError, RuntimeError, OSError):  # a bitmap or broken font
            pass


def figure_png(figure: Any) -> bytes:
    """PNG bytes of a matplotlib figure, without the timestamp/software metadata."""
    buffer = io.BytesIO()
    figure.savefig(
        buffer, format="png", dpi=FIGURE_DPI, bbox_inches="tight", metadata={"Software": None}
    )
    return buffer.getvalue()


# Longest JSON a widget's data island may hold (the two today: about 1,000 characters each).
MAX_DATA_JSON = 100_000


def data_json(data: Any, where: str) -> str:
    """``data`` as the text of ``<id>.json``: indented, UTF-8 kept, keys in the example's order.

    Raises:
        TypeError: ``data`` holds something JSON cannot (a tensor, NaN, a set, a key that is
            not a str); ``where`` (the example) is named in the message.
        ValueError: its JSON is longer than :data:`MAX_DATA_JSON`.
    """
    try:
        _check_keys(data)
        text = json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{where} returned data that is not JSON ({error}): return dicts with str keys, "
            "lists, str, int, float (not NaN) and bool; convert tensors with .tolist()"
        ) from None
    if len(text) > MAX_DATA_JSON:
        raise ValueError(
            f"{where} returned {len(text):,} characters of JSON; a page embeds at most "
            f"{MAX_DATA_JSON:,}: return less (the top entries, rounded numbers)"
        )
    return text


def _check_keys(data: Any) -> None:
    """Raises TypeError for a dict key that is not a str (JSON would turn 1 into "1", and
    {1: .., "1": ..} would lose a value)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(key, str):
                raise TypeError(f"the key {key!r} is a {type(key).__name__}, not a str")
            _check_keys(value)
    elif isinstance(data, list | tuple):
        for value in data:
            _check_keys(value)


def script_json(data: Any) -> str:
    """``data`` as JSON that is safe inside an HTML ``<script>`` element (``<``, ``>``, ``&``
    escaped as ``\\u003c``, ``\\u003e``, ``\\u0026``: JSON.parse reads them back)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(SCRIPT_SAFE)


def escape_snippet_lines(text: str) -> str:
    """``text`` with every line that pymdownx.snippets would act on escaped, so that a page
    shows it as it was printed.

    Snippets reads every line of a page and of the files it includes, fenced code too, before
    any other extension: a printed ``--8<-- "pyproject.toml"`` line would include that file, a
    ``--8<--`` line would read the lines after it as file names, and a line holding
    ``--8<-- [start:name]`` would vanish. Its escape is one more ``;`` before the marker, which
    it removes again (``SnippetPreprocessor.parse_snippets`` in pymdownx/snippets.py); the lines
    are found with its own patterns, so they follow the installed version's syntax.
    """
    from pymdownx.snippets import SnippetPreprocessor as Snippets

    lines = text.split("\n")
    for number, line in enumerate(lines):
        match = Snippets.RE_ALL_SNIPPETS.match(line) or Snippets.RE_SNIPPET_SECTION.match(line)
        if match:
            lines[number] = line[: match.start("escape")] + ";" + line[match.start("escape") :]
    return "\n".join(lines)


def longest_backtick_run(text: str) -> int:
    runs = re.findall(r"`+", text)
    return max((len(r) for r in runs), default=0)


# The order in which a caption names library versions (transformers and torch first: readers
# of course sites ask for those).
VERSION_ORDER = ("transformers", "torch", "tokenizers", "bertviz", "matplotlib", "numpy")


def provenance_line(
    example: Example, profile: str, device_label: str, provenance: dict[str, Any]
) -> str:
    """The caption's second line: where the code is, which models, which device, and the
    exact library versions that produced the output (HTML)."""
    parts = [
        f"<code>{html.escape(example.function)}</code> in <code>{html.escape(example.path)}</code>"
    ]
    for name in example.roles:
        entry = role(name)
        if not noted(entry, profile):  # those are named in the note under the caption
            parts.append(f"model: {html.escape(entry.caption(profile))}")
    parts.append(f"{html.escape(profile)} profile")
    parts.append(f"device: {html.escape(device_label)}")
    versions = provenance.get("versions", {})
    named = [f"{name} {versions[name]}" for name in VERSION_ORDER if versions.get(name)]
    if named:
        parts.append(html.escape(", ".join(named)))
    return " · ".join(parts)


# The notes under an output of a model other than the lecture's own (a test and the hub check
# look for them): a real pretrained model in its place, or a model that this lecture trains.
SUBSTITUTE_NOTE = "Made by another pretrained model than the lecture's"
TRAINED_HERE_NOTE = "Made by a model that this lecture trains, not a pretrained one"


def noted(entry: Role, profile: str) -> bool:
    """Whether an output of role ``entry`` under ``profile`` carries a note (the model is not
    the lecture's own)."""
    return entry.is_stand_in(profile) or entry.trained_here(profile)


def model_note(example: Example, profile: str) -> str:
    """The note under ``example``'s output naming each model that is not the lecture's own,
    and, for a model trained here, what the output shows and why that model fits it (HTML;
    "" when every model is the lecture's own)."""
    sentences = []
    for name in example.roles:
        entry = role(name)
        caption = html.escape(entry.caption(profile))
        if entry.trained_here(profile):
            why = html.escape(example.why)
            if name in example.contrast:
                shows = f"It is shown for contrast: {why}"
            else:
                shows = f"It shows {html.escape(POINTS[example.point])}: {why}"
            sentences.append(f"{TRAINED_HERE_NOTE}: {caption}. {shows.rstrip('.')}.")
        elif entry.is_stand_in(profile):
            sentences.append(f"{SUBSTITUTE_NOTE}: {caption}.")
    if not sentences:
        return ""
    return f'<br><span class="stand-in-note">{" ".join(sentences)}</span>'


def fragment(
    example: Example,
    captured: Captured,
    profile: str,
    device_label: str,
    provenance: dict[str, Any],
) -> str:
    """Markdown included by a page with ``--8<-- "docs/generated/<id>.md"``.

    Text goes in a fenced block long enough never to be closed by the output itself; captions are
    escaped; the output of a model other than the lecture's carries a visible note
    (:func:`model_note`).
    """
    caption = html.escape(example.caption)
    source_line = provenance_line(example, profile, device_label, provenance)
    blocks = []
    if captured.data is not None:
        blocks.append(
            f'<script type="application/json" id="data-{example.id}" class="lecture-data">'
            f"{script_json(captured.data)}</script>"
        )
    if captured.html is not None:
        blocks.append(
            f'<div class="bertviz-view" markdown="0"><iframe src="generated/{example.id}.html" '
            f'title="{html.escape(example.alt or example.caption)}" loading="lazy" '
            f'class="bertviz-frame"></iframe></div>'
        )
    if captured.png is not None:
        alt = html.escape(example.alt or example.caption)
        blocks.append(f'<img class="lecture-figure" src="generated/{example.id}.png" alt="{alt}">')
    if captured.text.strip():
        fence = "`" * max(3, longest_backtick_run(captured.text) + 1)
        blocks.append(f"{fence}text\n{escape_snippet_lines(captured.text.rstrip())}\n{fence}")
    note = model_note(example, profile)
    body = "\n\n".join(blocks)
    return (
        f'<figure class="lecture-output" id="output-{example.id}" markdown="1">\n\n{body}\n\n'
        f"<figcaption><strong>{caption}</strong><br>"
        f"<small>{source_line}{note}</small></figcaption>\n\n</figure>\n"
    )


def write_assets(
    example: Example,
    captured: Captured,
    profile: str,
    label: str,
    generated: Path,
    provenance: dict[str, Any],
) -> dict[str, str]:
    """Write an example's files atomically; returns ``{file name: sha256}``."""
    files: dict[str, bytes | str] = {}
    if captured.text:
        files[f"{example.id}.txt"] = captured.text
    if captured.png is not None:
        files[f"{example.id}.png"] = captured.png
    if captured.data is not None:
        files[f"{example.id}.json"] = data_json(captured.data, example.id)
    if captured.html is not None:
        files[f"{example.id}.html"] = captured.html
    files[f"{example.id}.md"] = fragment(example, captured, profile, label, provenance)
    digests = {}
    for name, data in files.items():
        mf.atomic_write(generated / name, data)
        digests[name] = mf.sha256_file(generated / name)
    return digests
