"""Comparing two renders of the lecture's outputs, example by example: the drift report's engine.

Given a folder of committed outputs (``before``) and a fresh render of the same examples
(``after``), each with its ``manifest.json``, and the fresh render's failures, says for every
example whether it is *unchanged*, *changed* (and how), *failed* (with the traceback), or *new* /
*removed*, and which warnings appeared or vanished. Each kind of output is compared in its own
terms:

* text (``.txt``): a unified diff;
* figures (``.png``): the share of pixels that differ, and the two images with a third that
  marks the changed pixels;
* attention views (``.html`` of bertviz): the largest difference between attention weights (and
  whether the tokens or shapes changed);
* widget data (``.json``): a JSON diff, one line per changed value, and the largest numeric
  difference.

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
    """

    name: str
    kind: str
    summary: str
    diff: str = ""
    images: tuple[str, str, str] | None = None
    measure: float = 0.0


@dataclass
class ExampleDrift:
    """One example across the two renders."""

    id: str
    status: str  # "unchanged", "changed", "failed", "new" or "removed"
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


def compare_figure(name: str, before: Path, after: Path, assets: Path | None) -> FileChange | None:
    """The share of pixels that differ between two PNGs (any channel); with ``assets``, the
    two images and a difference image (changed pixels red over a faded ``before``) are written
    there as ``<stem>.before.png``, ``.after.png``, ``.diff.png``.

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
    if old.shape != new.shape:
        share, summary = 1.0, f"size {old.shape[1]}x{old.shape[0]} -> {new.shape[1]}x{new.shape[0]}"
        mask = None
    else:
        mask = (old != new).any(axis=2)
        share = float(mask.mean())
        summary = f"{share:.2%} of pixels differ ({int(mask.sum()):,} of {mask.size:,})"
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
    return FileChange(name, "figure", summary, images=images, measure=share)


def _flatten(value: Any) -> list[float]:
    if isinstance(value, list):
        return [number for item in value for number in _flatten(item)]
    return [float(value)]


def _shape(value: Any) -> tuple[int, ...]:
    return (len(value), *_shape(value[0])) if isinstance(value, list) and value else ()


def compare_view(name: str, before: str, after: str) -> FileChange | None:
    """The largest difference between the attention weights of two bertviz views; a change of
    tokens or of shape is named instead."""
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
    return FileChange(name, "view", summary, measure=largest)


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


def compare_data(name: str, before: str, after: str) -> FileChange | None:
    """A JSON diff of two widget data files: one line per changed value."""
    if before == after:
        return None
    found = json_differences(json.loads(before), json.loads(after))
    if not found:
        return FileChange(name, "data", "same values, written differently", measure=0.0)
    numbers = [
        abs(a - b) for _, a, b in found if isinstance(a, int | float) and isinstance(b, int | float)
    ]
    largest = max(numbers, default=0.0)
    summary = f"{len(found)} value(s) differ"
    if numbers:
        summary += f", largest numeric difference {largest:.4g}"
    lines = [
        f"{path}: {json.dumps(a, ensure_ascii=False)} -> {json.dumps(b, ensure_ascii=False)}"
        for path, a, b in found
    ]
    return FileChange(name, "data", summary, _cut(lines), measure=largest)


def compare_file(name: str, before: Path, after: Path, assets: Path | None) -> FileChange | None:
    """Compare one output file present in both renders, by its kind (its suffix)."""
    if not before.exists():
        return FileChange(name, "added", "a new output file")
    if not after.exists():
        return FileChange(name, "removed", "no longer written")
    if name.endswith(".png"):
        return compare_figure(name, before, after, assets)
    old, new = before.read_text(encoding="utf-8"), after.read_text(encoding="utf-8")
    if name.endswith(".html"):
        return compare_view(name, old, new)
    if name.endswith(".json"):
        return compare_data(name, old, new)
    change = compare_text(name, old, new)
    if change and not name.endswith(".txt"):
        change.kind = "other"
    return change


def compare_renders(
    before: Path,
    after: Path,
    failures: dict[str, dict[str, Any]] | None = None,
    assets: Path | None = None,
) -> list[ExampleDrift]:
    """Every example of either render, compared.

    Args:
        before: a folder of outputs with its ``manifest.json`` (the committed ones).
        after: the fresh render's folder and manifest.
        failures: ``{example id: {"error", "traceback", "warnings"}}`` of the examples that
            failed in the fresh render (its ``--report``).
        assets: where to write the images of changed figures (None: nowhere).

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
            and (change := compare_file(name, before / name, after / name, assets)) is not None
        ]
        now_warned = new[example_id].warnings
        appeared = [w for w in now_warned if w not in was_warned]
        vanished = [w for w in was_warned if w not in now_warned]
        status = "changed" if changes or appeared or vanished else "unchanged"
        results.append(ExampleDrift(example_id, status, changes, "", "", appeared, vanished))
    return results


def _cut(lines: list[str]) -> str:
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... {len(lines) - MAX_DIFF_LINES} more line(s)"]
    return "\n".join(lines)
