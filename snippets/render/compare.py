"""Comparing two renders of the lecture's outputs, example by example: the drift report's engine.

Given a folder of committed outputs (``before``) and a fresh render of the same examples
(``after``), each with its ``manifest.json``, and the fresh render's failures, says for every
example whether it is *identical* (the same bytes), *within tolerance* (it differs only as
floating-point arithmetic on another CPU or thread count makes it differ: :class:`Tolerances`),
*changed* (and how), *failed* (with the traceback), or *new* / *removed*, and which warnings
appeared or vanished. Each kind of output is compared in its own terms:

* text (``.txt``): a unified diff; texts are exact (no tolerance);
* figures (``.png``): the share of pixels that differ and by how many levels at most, and the two
  images with a third that marks the changed pixels;
* attention views (``.html`` of bertviz): the largest difference between attention weights (and
  whether the tokens or shapes changed);
* widget data (``.json``): a JSON diff, one line per changed value, and the largest numeric
  difference; anything but a number is exact.

Page fragments (``.md``) are not compared: they hold the caption and the provenance line, whose
library versions differ whenever the versions do. Nothing here renders or imports torch.
"""

from __future__ import annotations

import difflib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snippets.render.manifest import Manifest
from snippets.render.views import read_params

# Most lines of a diff (text or JSON) kept per file: the report shows the start of longer ones.
MAX_DIFF_LINES = 200


@dataclass(frozen=True)
class Tolerances:
    """How far one output of two renders may differ and still be the same output.

    Floating-point results depend on the kernels the CPU's instruction set selects (AVX-512,
    AVX2, ...) and on the order of sums a thread count gives; a render on another CPU moves the
    last digits of weights and probabilities, never what they say. The bounds below were chosen
    from measurements (docs/maintainers/checks.md, "Reproducible on any CPU"): the largest
    differences seen between renders on one machine limited to AVX-512, AVX2 and no vector
    instructions, with 1 and 2 threads, and a render on another machine, with a margin; each is
    far below what a real change moves (a weight by 0.01, a bar by a pixel).

    Attributes:
        attention: largest absolute difference of an attention weight (the views store weights
            rounded to 4 decimals; measured at most 0.0002).
        data: largest absolute difference of a number in widget data (rounded to 4 decimals;
            measured at most 0.0001).
        pixel_level: largest difference of one pixel's channel, in levels of 255 (measured at
            most 1: anti-aliasing of a line moved by a tiny fraction of a pixel; an edge that
            moves by a whole pixel changes by far more).
        pixel_share: largest share of a figure's pixels that may differ at all (measured at
            most 0.04 %).
    """

    attention: float = 0.001
    data: float = 0.001
    pixel_level: int = 32
    pixel_share: float = 0.01


EXACT = Tolerances(attention=0.0, data=0.0, pixel_level=0, pixel_share=0.0)
"""No difference tolerated: two renders on one machine with the same settings."""
ACROSS_CPUS = Tolerances()
"""What a render on another CPU, or with another thread count, may differ by."""


@dataclass
class FileChange:
    """How one output file changed.

    Attributes:
        name: the file (``<id>.txt``).
        kind: ``text``, ``figure``, ``view``, ``data``, ``added``, ``removed`` or ``other``.
        summary: one line for a reader (``3 lines changed``, ``2.1 % of pixels changed``).
        diff: a unified diff (text) or one line per changed value (data), possibly cut.
        images: for a figure, the before, after and difference images' names in the report's
            asset folder.
        measure: the kind's number: changed lines, share of pixels (0-1), largest weight or
            value difference.
        within: the difference is within the tolerances it was compared with (float noise).
    """

    name: str
    kind: str
    summary: str
    diff: str = ""
    images: tuple[str, str, str] | None = None
    measure: float = 0.0
    within: bool = False


@dataclass
class ExampleDrift:
    """One example across the two renders."""

    id: str
    status: str  # "identical", "within tolerance", "changed", "failed", "new" or "removed"
    changes: list[FileChange] = field(default_factory=list)
    error: str = ""
    traceback: str = ""
    warnings_appeared: list[str] = field(default_factory=list)
    warnings_vanished: list[str] = field(default_factory=list)


def compare_text(name: str, before: str, after: str) -> FileChange | None:
    """A unified diff of two texts (None when equal)."""
    if before == after:
        return None
    lines = list(
        difflib.unified_diff(
            before.splitlines(), after.splitlines(), "before", "after", lineterm="", n=2
        )
    )
    changed = sum(1 for line in lines[2:] if line[:1] in "+-")
    return FileChange(name, "text", f"{changed} line(s) differ", _cut(lines), measure=changed)


def compare_figure(
    name: str, before: Path, after: Path, assets: Path | None, tolerances: Tolerances = EXACT
) -> FileChange | None:
    """The share of pixels that differ between two PNGs (any channel) and the largest difference
    of a channel; within ``tolerances`` when both are at most its ``pixel_share`` and
    ``pixel_level``. With ``assets``, the two images and a difference image (changed pixels red
    over a faded ``before``) are written there as ``<stem>.before.png``, ``.after.png``,
    ``.diff.png``.

    Raises:
        ValueError: a file is not an image (names it).
    """
    if before.read_bytes() == after.read_bytes():
        return None
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        old = np.asarray(Image.open(before).convert("RGBA"))
        new = np.asarray(Image.open(after).convert("RGBA"))
    except UnidentifiedImageError as error:
        raise ValueError(f"{name}: not an image ({error})") from None
    within = False
    if old.shape != new.shape:
        share, summary = 1.0, f"size {old.shape[1]}x{old.shape[0]} -> {new.shape[1]}x{new.shape[0]}"
        mask = None
    else:
        levels = np.abs(old.astype(np.int16) - new.astype(np.int16)).max(axis=2)
        mask = levels > 0
        share, level = float(mask.mean()), int(levels.max())
        summary = (
            f"{share:.2%} of pixels differ ({int(mask.sum()):,} of {mask.size:,}), "
            f"by at most {level} of 255 levels"
        )
        within = share <= tolerances.pixel_share and level <= tolerances.pixel_level
    images = None
    if assets is not None:
        assets.mkdir(parents=True, exist_ok=True)
        stem = name.removesuffix(".png")
        images = (f"{stem}.before.png", f"{stem}.after.png", f"{stem}.diff.png")
        shutil.copyfile(before, assets / images[0])
        shutil.copyfile(after, assets / images[1])
        faded = (255 - (255 - old[..., :3].astype(np.uint16)) // 4).astype(np.uint8)
        if mask is not None:
            faded[mask] = (220, 0, 0)
        Image.fromarray(faded).save(assets / images[2])
    return FileChange(name, "figure", summary, images=images, measure=share, within=within)


def _flatten(value: Any) -> list[float]:
    if isinstance(value, list):
        return [number for item in value for number in _flatten(item)]
    return [float(value)]


def _shape(value: Any) -> tuple[int, ...]:
    return (len(value), *_shape(value[0])) if isinstance(value, list) and value else ()


def compare_view(
    name: str, before: str, after: str, tolerances: Tolerances = EXACT
) -> FileChange | None:
    """The largest difference between the attention weights of two bertviz views, within
    ``tolerances`` when at most its ``attention``; a change of tokens or of shape is named
    instead (never within)."""
    if before == after:
        return None
    try:
        old, new = read_params(before)["attention"], read_params(after)["attention"]
    except (ValueError, KeyError) as error:
        change = compare_text(name, before, after)
        if change:
            change.kind, change.summary = "other", f"not a bertviz view ({error}): {change.summary}"
        return change
    notes, largest = [], 0.0
    for index, (a, b) in enumerate(zip(old, new, strict=False)):
        if (a.get("left_text"), a.get("right_text")) != (b.get("left_text"), b.get("right_text")):
            notes.append(f"tokens changed in attention {index}")
        if _shape(a["attn"]) != _shape(b["attn"]):
            notes.append(f"shape {_shape(a['attn'])} -> {_shape(b['attn'])}")
            continue
        pairs = zip(_flatten(a["attn"]), _flatten(b["attn"]), strict=True)
        largest = max([largest, *(abs(x - y) for x, y in pairs)])
    if len(old) != len(new):
        notes.append(f"{len(old)} -> {len(new)} attention sets")
    summary = f"largest attention-weight difference {largest:.4f}"
    if notes:
        summary += f" ({'; '.join(notes)})"
    elif largest == 0.0:
        summary = "same attention weights; the page around them changed"
    within = not notes and 0.0 < largest <= tolerances.attention
    return FileChange(name, "view", summary, measure=largest, within=within)


def json_differences(before: Any, after: Any, path: str = "$") -> list[tuple[str, Any, Any]]:
    """``(path, old, new)`` of every value that differs between two JSON documents
    (``$.tokens[3].p``); a key present on one side only gives ``<absent>`` on the other."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in list(before) + [k for k in after if k not in before]:
            found += json_differences(
                before.get(key, "<absent>"), after.get(key, "<absent>"), f"{path}.{key}"
            )
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            d
            for i, (a, b) in enumerate(zip(before, after, strict=True))
            for d in json_differences(a, b, f"{path}[{i}]")
        ]
    return [] if before == after else [(path, before, after)]


def compare_data(
    name: str, before: str, after: str, tolerances: Tolerances = EXACT
) -> FileChange | None:
    """A JSON diff of two widget data files: one line per changed value; within ``tolerances``
    when every changed value is a number that moved by at most its ``data``."""
    if before == after:
        return None
    found = json_differences(json.loads(before), json.loads(after))
    if not found:
        return FileChange(name, "data", "same values, written differently", measure=0.0)
    numbers = [abs(a - b) for _, a, b in found if _number(a) and _number(b)]
    largest = max(numbers, default=0.0)
    within = len(numbers) == len(found) and largest <= tolerances.data
    summary = f"{len(found)} value(s) differ"
    if numbers:
        summary += f", largest numeric difference {largest:.4g}"
    lines = [
        f"{path}: {json.dumps(a, ensure_ascii=False)} -> {json.dumps(b, ensure_ascii=False)}"
        for path, a, b in found
    ]
    return FileChange(name, "data", summary, _cut(lines), measure=largest, within=within)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def compare_file(
    name: str,
    before: Path,
    after: Path,
    assets: Path | None,
    tolerances: Tolerances = EXACT,
) -> FileChange | None:
    """Compare one output file of either render, by its kind (its suffix); None when the bytes
    are the same."""
    if not before.exists():
        return FileChange(name, "added", "a new output file")
    if not after.exists():
        return FileChange(name, "removed", "no longer written")
    if name.endswith(".png"):
        return compare_figure(name, before, after, assets, tolerances)
    old, new = before.read_text(encoding="utf-8"), after.read_text(encoding="utf-8")
    if name.endswith(".html"):
        return compare_view(name, old, new, tolerances)
    if name.endswith(".json"):
        return compare_data(name, old, new, tolerances)
    change = compare_text(name, old, new)
    if change and not name.endswith(".txt"):
        change.kind = "other"
    return change


def compare_renders(
    before: Path,
    after: Path,
    failures: dict[str, dict[str, Any]] | None = None,
    assets: Path | None = None,
    tolerances: Tolerances = ACROSS_CPUS,
) -> list[ExampleDrift]:
    """Every example of either render, compared.

    Args:
        before: a folder of outputs with its ``manifest.json`` (the committed ones).
        after: the fresh render's folder and manifest.
        failures: ``{example id: {"error", "traceback", "warnings"}}`` of the examples that
            failed in the fresh render (its ``--report``).
        assets: where to write the images of changed figures (None: nowhere).
        tolerances: what an output may differ by and be *within tolerance*
            (:data:`ACROSS_CPUS`: the drift report and the tests across machines).

    Raises:
        ManifestError: a manifest cannot be read.
    """
    failures = failures or {}
    old, new = Manifest.read(before).entries, Manifest.read(after).entries
    results = []
    for example_id in sorted(set(old) | set(new) | set(failures)):
        previous = old.get(example_id)
        was_warned = previous.warnings if previous else []
        if example_id in failures:
            failure = failures[example_id]
            now_warned = failure.get("warnings", [])
            results.append(
                ExampleDrift(
                    example_id,
                    "failed",
                    error=failure.get("error", ""),
                    traceback=failure.get("traceback", ""),
                    warnings_appeared=[w for w in now_warned if w not in was_warned],
                    warnings_vanished=[w for w in was_warned if w not in now_warned],
                )
            )
            continue
        if previous is None or example_id not in new:
            results.append(ExampleDrift(example_id, "new" if previous is None else "removed"))
            continue
        names = sorted(set(previous.outputs) | set(new[example_id].outputs))
        changes = [
            change
            for name in names
            if not name.endswith(".md")
            and (change := compare_file(name, before / name, after / name, assets, tolerances))
            is not None
        ]
        now_warned = new[example_id].warnings
        appeared = [w for w in now_warned if w not in was_warned]
        vanished = [w for w in was_warned if w not in now_warned]
        if appeared or vanished or not all(change.within for change in changes):
            status = "changed"
        else:
            status = "within tolerance" if changes else "identical"
        results.append(ExampleDrift(example_id, status, changes, "", "", appeared, vanished))
    return results


def _cut(lines: list[str]) -> str:
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... {len(lines) - MAX_DIFF_LINES} more line(s)"]
    return "\n".join(lines)
