"""The render loop: execute what is stale, write each example's files and manifest entry.

:func:`render` takes the render's lock (two renders of one folder never interleave), imports the
libraries once, runs the examples serially or in forked worker processes
(:mod:`snippets.render.workers`), and records each success as it arrives: its files
(:func:`snippets.render.outputs.write_assets`), its manifest entry and its timing. Where a
render runs and what it loads is :mod:`snippets.render.resolve`; the models are
:mod:`snippets.render.store`'s; one example's execution is :mod:`snippets.render.execute`.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from snippets.codehash import closure, package_modules
from snippets.offline import INFERENCE_THREADS
from snippets.profiles import ModelUnavailableError
from snippets.render import manifest as mf
from snippets.render.examples import Example
from snippets.render.execute import Result, run_example
from snippets.render.outputs import write_assets
from snippets.render.render_lock import render_lock
from snippets.render.resolve import RenderError, device_label
from snippets.render.store import ModelStore
from snippets.render.workers import ProcessDied, check_jobs, noticing_interrupts, run_forked


def render(
    examples: list[Example],
    to_render: list[Example],
    settings: mf.RenderSettings,
    generated: Path = mf.GENERATED_DIR,
    progress: bool = True,
    jobs: int = 1,
    require_alt: bool = True,
) -> tuple[list[Result], ModelStore]:
    """Execute ``to_render`` and update assets and manifest after each success.

    A failing example keeps its previous assets and manifest entry; the others go on. Two
    renders of the same folder never interleave: the second says so and waits for the first's
    lock.

    Args:
        jobs: processes that execute examples. With more than one (CPU only, where ``fork``
            exists), the models are loaded first and the examples run in ``jobs`` forked
            worker processes that share them (:mod:`snippets.render.workers`); this process
            writes the assets as results come.
        require_alt: a figure or view without its alt text fails its example (False: a draft
            render, see :func:`snippets.render.execute.execute`).

    Raises:
        JobsError: ``jobs`` is below 1, or above 1 where workers cannot be forked.
        RenderError: ``generated`` cannot be written (checked before anything runs).
        ModelUnavailableError: a model role cannot be had at all (no example can run).
        KeyboardInterrupt: Ctrl-C; what finished is written and recorded.
    """
    check_jobs(jobs, settings.device)
    check_writable(generated)
    with render_lock(generated), noticing_interrupts():
        return _render_locked(examples, to_render, settings, generated, progress, jobs, require_alt)


def check_writable(folder: Path) -> None:
    """Make ``folder`` if needed and write a file in it, so that a render into a folder it
    cannot write stops before it runs anything.

    Raises:
        RenderError: naming the folder and the system's reason.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-check-{os.getpid()}.tmp"
        probe.write_bytes(b"")
        probe.unlink(missing_ok=True)  # a render that holds the lock may have cleaned it up
    except OSError as error:
        raise RenderError(
            f"cannot write the outputs to {folder} ({error.strerror or error}): give "
            "--output-dir a folder you can write"
        ) from None


def tidy_without_rendering(generated: Path) -> list[str]:
    """What a render with nothing to execute does to ``generated``: remove what a killed render
    left (:func:`snippets.render.manifest.remove_leftovers`) if no other render holds the lock
    (one that does removes them itself). Returns the names removed."""
    with render_lock(generated, wait=False) as held:
        return mf.remove_leftovers(generated) if held else []


def _render_locked(
    examples: list[Example],
    to_render: list[Example],
    settings: mf.RenderSettings,
    generated: Path,
    progress: bool,
    jobs: int,
    require_alt: bool,
) -> tuple[list[Result], ModelStore]:
    from tqdm import tqdm

    manifest = mf.Manifest.read(generated)
    versions, installed = mf.locked_versions(), mf.library_versions()
    mf.remove_leftovers(generated)
    timings = mf.read_json(generated / mf.TIMINGS_NAME, {})
    timings.setdefault("examples", {})
    timings.setdefault("model_loads", {})
    store = ModelStore(settings.profile, settings.device, settings.dtype)
    if to_render:
        store.import_seconds = timings["imports"] = import_libraries(to_render)
        set_inference_threads()
    quiet_libraries()
    label = device_label(settings.device) if to_render else ""  # (asks torch: only when it runs)
    if jobs > 1 and len(to_render) > 1:
        results = execute_in_workers(
            to_render, store, settings.seed, jobs, timings["examples"], require_alt
        )
    else:
        results = (run_example(example, store, settings.seed, require_alt) for example in to_render)
    done: dict[str, Result] = {}  # (without their captures, once written)
    with tqdm(total=len(to_render), desc="render", unit="example", disable=not progress,
              file=sys.stderr) as bar:  # fmt: skip
        for result in results:
            example = result.example
            bar.set_postfix_str(example.id)
            bar.update()
            if result.status == "failed":
                done[example.id] = result
                continue
            assert result.captured is not None
            provenance = mf.provenance(example, installed)
            digests = write_assets(
                example, result.captured, settings.profile, label, generated, provenance
            )
            parts = mf.key_parts(example, settings, versions)
            entry = mf.Entry.create(example, parts, label, digests, provenance, result.warnings)
            manifest.record(entry)
            timings["examples"][example.id] = round(result.duration, 2)
            done[example.id] = replace(result, captured=None)
    outcomes = [Result(e, "cached") for e in examples if e not in to_render]
    outcomes += [done[e.id] for e in to_render]
    known = {e.id for e in examples}
    orphans = set(manifest.entries) - known
    for orphan in orphans:
        manifest.remove(orphan)
        timings["examples"].pop(orphan, None)
    if orphans:
        manifest.write()
    if any(o.status == "executed" for o in outcomes) or orphans:
        # The timing table changes only with what ran (model loads: their last real load).
        for role, seconds in store.load_seconds.items():
            timings["model_loads"][role] = seconds
        timings["examples"] = dict(sorted(timings["examples"].items()))
        text = json.dumps(timings, indent=2, sort_keys=True) + "\n"
        mf.atomic_write(generated / mf.TIMINGS_NAME, text)
    return outcomes, store


def execute_in_workers(
    examples: list[Example],
    store: ModelStore,
    seed: int,
    jobs: int,
    last_seconds: dict[str, float],
    require_alt: bool = True,
) -> Iterator[Result]:
    """Execute ``examples`` in ``jobs`` forked processes (:func:`workers.run_forked`), longest
    first by ``last_seconds`` (the last render's timings) so that no worker is left with a long
    one at the end; yields results as they finish.

    Every model the examples need is loaded here first (a role that fails to load fails its
    examples, as in a serial render), so the workers share the loaded models copy-on-write
    instead of loading them again. Workers keep :data:`INFERENCE_THREADS` torch threads: with
    one thread torch enters no OpenMP parallel region, which is what makes forking a process
    that has run torch safe (the same rule as ``torch.utils.data.DataLoader``'s workers).
    Each example is seeded, captured and checked in its worker exactly as in a serial render.
    An example whose process dies fails with a message that says how it died.

    Raises:
        ModelUnavailableError: a model role cannot be had at all.
        KeyboardInterrupt: Ctrl-C (the workers are stopped).
    """
    for role in dict.fromkeys(role for example in examples for role in example.roles):
        try:
            store.get(role)
        except ModelUnavailableError:
            raise
        except Exception:  # the store keeps the error: each example of the role fails with it
            pass
    order = sorted(examples, key=lambda e: -last_seconds.get(e.id, 0.0))
    for index, result in run_forked(
        lambda i: run_example(order[i], store, seed, require_alt), len(order), jobs
    ):
        if isinstance(result, ProcessDied):
            example = order[index]
            error = (f"{example.id} ({example.path}:{example.line}): its process ended before "
                     f"it returned, {result.describe()}")  # fmt: skip
            result = Result(example, "failed", error=error)
        yield result


def import_libraries(examples: list[Example]) -> float:
    """Import, once, the libraries and lecture modules that ``examples`` use, and the names
    their code imports from libraries (``from transformers import GPT2LMHeadModel`` loads a
    submodule lazily), so that their timings measure their own work; returns the seconds the
    imports took."""
    start = time.perf_counter()
    names = {name for e in examples for name in mf.key_libraries(e)}
    names |= {"matplotlib.pyplot"} if "matplotlib" in names else set()
    for name in sorted(names) + sorted({e.module for e in examples}):
        with contextlib.suppress(Exception):  # what cannot be imported fails in its example
            importlib.import_module(name)
    for module, name in sorted({pair for e in examples for pair in imported_names(e)}):
        with contextlib.suppress(Exception):
            getattr(importlib.import_module(module), name)
    return round(time.perf_counter() - start, 2)


def imported_names(example: Example) -> set[tuple[str, str]]:
    """``(library module, name)`` of every ``from <library> import <name>`` in the code of
    ``example`` and of the lecture's helpers it calls (found statically)."""
    modules = package_modules()
    found: set[tuple[str, str]] = set()
    if example.module not in modules:  # an example outside snippets/ (the renderer's tests)
        return found
    for module, symbol in closure(example.module, example.function):
        for node in ast.walk(modules[module].nodes[symbol]):
            if (isinstance(node, ast.ImportFrom) and node.module and not node.level
                    and node.module.split(".")[0] != "snippets"):  # fmt: skip
                found.update((node.module, alias.name) for alias in node.names)
    return found


def set_inference_threads() -> None:
    """Run the examples with ``INFERENCE_THREADS`` torch threads (see ``snippets/offline.py``);
    training a stand-in sets its own count while it trains."""
    import torch

    torch.set_num_threads(INFERENCE_THREADS)


def quiet_libraries() -> None:
    """No progress bars from transformers and the hub during a render (they are not outputs).

    Warnings are not silenced: :func:`execute` captures them into the example's output.
    """
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import transformers

    transformers.utils.logging.disable_progress_bar()
