"""What a CPU test run can reproduce of the committed outputs, and how to compare it.

The committed outputs may come from a GPU runner (``--profile hub --device cuda``) or from this
machine's offline profile on the CPU. A test that renders here renders offline on the CPU, so it
compares byte for byte only the examples whose committed entry was rendered with those settings;
for the others it checks determinism instead (the same example rendered twice here gives the same
bytes), which is all a CPU machine can say about a GPU runner's floats.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from snippets.render import manifest as mf

CI_SETTINGS = mf.RenderSettings("offline", "cpu")


def reproducible_here(entry: mf.Entry, settings: mf.RenderSettings = CI_SETTINGS) -> bool:
    """Whether a render with ``settings`` here should give ``entry``'s bytes."""
    return entry.settings == settings


def output_files(folder: Path) -> dict[str, bytes]:
    """The rendered files of ``folder`` by name (not the manifest, the timings or the lock)."""
    return {
        path.name: path.read_bytes()
        for path in sorted(folder.iterdir())
        if path.is_file() and not path.name.startswith(".")
        and path.name not in (mf.MANIFEST_NAME, mf.TIMINGS_NAME)
    }  # fmt: skip


def _comparable(entry: mf.Entry) -> mf.Entry:
    return replace(entry, provenance={**entry.provenance, "python": None})


def differences(
    rendered: Path,
    render_again: Callable[[list[str]], Path],
    committed: Path = mf.GENERATED_DIR,
) -> list[str]:
    """Names of the files of ``rendered`` (a render here, offline on the CPU) that fail their
    comparison, and the manifest entries that differ.

    Examples committed with the CI settings are compared with the committed files and entries
    (all but the provenance's Python version, which a CI image may move). The others are
    rendered once more through ``render_again(example ids) -> folder`` and compared with
    ``rendered``: the same bytes twice.
    """
    entries = mf.Manifest.read(committed).entries
    fresh = mf.Manifest.read(rendered).entries
    here = {i for i, e in entries.items() if reproducible_here(e)}
    elsewhere = sorted(set(fresh) - here)
    files = output_files(rendered)
    owner = {name: i for i, e in fresh.items() for name in e.outputs}
    problems = [
        name
        for name, data in files.items()
        if owner.get(name) in here and (committed / name).read_bytes() != data
    ]
    problems += [f"manifest entry {i}" for i in sorted(here & set(fresh))
                 if _comparable(fresh[i]) != _comparable(entries[i])]  # fmt: skip
    if elsewhere:
        again = output_files(render_again(elsewhere))
        problems += [n for n, data in files.items() if owner.get(n) in elsewhere
                     and again.get(n) != data]  # fmt: skip
    return problems
