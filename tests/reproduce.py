"""What a CPU test run can reproduce of the committed outputs, and how to compare it.

The committed outputs may come from a GPU runner (``--profile hub --device cuda``) or from the
offline profile on some CPU. A test that renders here renders offline on this CPU, so:

* the examples committed with those settings are compared with the committed files by the drift
  report's engine (:mod:`snippets.render.compare`) within :data:`~snippets.render.compare.
  ACROSS_CPUS`: texts exact; attention weights, widget numbers and figure pixels within the
  tolerances that floating-point arithmetic on another CPU or thread count needs (the committed
  files may come from another CPU: their provenance names its class);
* the others are rendered once more here and compared byte for byte (:data:`~snippets.render.
  compare.EXACT`): two renders on one machine with the same settings give the same bytes, which
  is all a CPU machine can say about a GPU runner's floats.

Each difference is one line that names the output and what differs by how much.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from snippets.render import manifest as mf
from snippets.render.compare import ACROSS_CPUS, EXACT, FileChange, Tolerances, compare_file

CI_SETTINGS = mf.RenderSettings("offline", "cpu")


def reproducible_here(entry: mf.Entry, settings: mf.RenderSettings = CI_SETTINGS) -> bool:
    """Whether a render with ``settings`` here should give ``entry``'s outputs (within the
    tolerances across CPUs)."""
    return entry.settings == settings


def output_files(folder: Path) -> dict[str, bytes]:
    """The rendered files of ``folder`` by name (not the manifest, the timings or the lock)."""
    return {
        path.name: path.read_bytes()
        for path in sorted(folder.iterdir())
        if path.is_file() and not path.name.startswith(".")
        and path.name not in (mf.MANIFEST_NAME, mf.TIMINGS_NAME)
    }  # fmt: skip


@dataclass
class Comparison:
    """A render compared with a reference, one line per output that differs.

    Attributes:
        beyond: outputs that differ beyond the tolerances (or at all, where bytes must agree),
            and manifest entries that differ: each a failure.
        within: outputs that differ within the tolerances (float noise): for the log.
    """

    beyond: list[str] = field(default_factory=list)
    within: list[str] = field(default_factory=list)

    def add(self, change: FileChange) -> None:
        line = f"{change.name}: {change.summary}"
        if change.kind == "text" and change.diff:
            changed = [row for row in change.diff.splitlines()[2:] if row[:1] in "+-"]
            line += " (" + " | ".join(changed[:4]) + ")"
        (self.within if change.within else self.beyond).append(line)


def compare_outputs(
    reference: Path, rendered: Path, names: list[str], tolerances: Tolerances
) -> Comparison:
    """``names`` of ``rendered`` compared with ``reference``'s, each in its own terms (texts
    exact). With tolerances, page fragments are left out: they are the caption, the outputs and
    the provenance line, which names the CPU class (compared by :func:`same_entry`)."""
    found = Comparison()
    for name in names:
        if name.endswith(".md") and tolerances != EXACT:
            continue
        change = compare_file(name, reference / name, rendered / name, None, tolerances)
        if change is not None:
            found.add(change)
    return found


def _comparable(entry: mf.Entry) -> mf.Entry:
    """An entry without what names the machine: the Python version (a CI image may move it) and
    the CPU class of its device (``cpu (x86_64, AVX512)`` -> ``cpu``)."""
    device = entry.device_name.split(" ", 1)[0]
    outputs = dict.fromkeys(entry.outputs, "")  # which files; their bytes are compared one by one
    return replace(entry, provenance={**entry.provenance, "python": None}, device_name=device,
                   outputs=outputs)  # fmt: skip


def same_entry(committed: mf.Entry, fresh: mf.Entry) -> list[str]:
    """What differs between two manifest entries of one example besides the machine and the
    outputs' digests (the files are compared one by one instead): a line per field."""
    a, b = _comparable(committed), _comparable(fresh)
    return [f"manifest entry {committed.id}: {name} differs ({getattr(a, name)!r} -> "
            f"{getattr(b, name)!r})" for name in a.__dataclass_fields__
            if getattr(a, name) != getattr(b, name)]  # fmt: skip


def differences(
    rendered: Path,
    render_again: Callable[[list[str]], Path],
    committed: Path = mf.GENERATED_DIR,
) -> Comparison:
    """How ``rendered`` (a render here, offline on the CPU) differs from what it should be.

    Examples committed with the CI settings are compared with the committed files within
    :data:`ACROSS_CPUS`, and their manifest entries (:func:`same_entry`). The others are
    rendered once more through ``render_again(example ids) -> folder`` and compared with
    ``rendered`` byte for byte.
    """
    entries = mf.Manifest.read(committed).entries
    fresh = mf.Manifest.read(rendered).entries
    here = sorted(i for i, e in entries.items() if reproducible_here(e) and i in fresh)
    elsewhere = sorted(set(fresh) - set(here))
    found = Comparison()
    for example_id in here:
        names = sorted(set(entries[example_id].outputs) | set(fresh[example_id].outputs))
        part = compare_outputs(committed, rendered, names, ACROSS_CPUS)
        found.beyond += part.beyond + same_entry(entries[example_id], fresh[example_id])
        found.within += part.within
    if elsewhere:
        again = render_again(elsewhere)
        names = [name for i in elsewhere for name in fresh[i].outputs]
        found.beyond += compare_outputs(rendered, again, names, EXACT).beyond
    return found


def render_with_warnings_as_errors(folder: Path, only: list[str] = ()) -> Path:
    """Render (all, or the ``only`` example ids) into ``folder`` as CI does: offline profile, CPU,
    two forked workers, under ``python -W error`` (an undeclared warning fails the render).

    ResourceWarning stays ignored, as Python's default filters (and so a notebook) have it:
    bertviz 1.4 leaves its ``head_view.js``/``model_view.js`` open (``open(...).read()``), and
    as an error that warning is raised in a finalizer, where Python prints "Exception ignored
    in ..." to stderr, which is part of the example's output.

    Raises:
        AssertionError: the render failed (its output is the message).
    """
    only_args = [arg for example_id in only for arg in ("--only", example_id)]
    result = subprocess.run(
        [sys.executable, "-W", "error", "-W", "ignore::ResourceWarning",
         "-m", "snippets.render", "--profile", "offline", "--device", "cpu", "--jobs", "2",
         "--quiet", "--output-dir", str(folder), *only_args],
        cwd=mf.REPO_ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return folder
