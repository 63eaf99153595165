"""Executing one example: seeded, captured, checked; what it printed, drew or returned.

:func:`run_example` gets the example's models from the store, runs it (:func:`execute`) and
times it; every failure becomes the example's own, with the file and line where it happened.
:func:`execute` captures what the example prints and warns (:mod:`snippets.render.capture`),
checks its warnings against their declaration, its figure's alt text and its output's length,
and what it leaves behind for the examples after it (:func:`side_effects_of`: shared models,
process-wide settings, running threads).
"""

from __future__ import annotations

import importlib
import random
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snippets.profiles import ROLES, ModelUnavailableError
from snippets.render import capture, process_state
from snippets.render import manifest as mf
from snippets.render.capture import check_warnings
from snippets.render.examples import MIN_ALT_TEXT, Example
from snippets.render.outputs import (
    Captured,
    data_json,
    figure_png,
    scrub_paths,
    use_figure_fonts,
)
from snippets.render.store import ModelStore, forget_warnings_shown_once
from snippets.render.views import MAX_VIEW_BYTES, make_self_contained
from snippets.render.workers import interrupted

# Longest text output a page shows (the longest today is about 1,000 characters).
MAX_TEXT_OUTPUT = 100_000


# How long a thread an example started may take to end after it returns.
THREAD_GRACE_SECONDS = 0.5


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so outputs repeat."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA and MPS generators


def _failure_location(example: Example, error: BaseException) -> str:
    """``file:line`` of the deepest frame in the project's code (not the renderer's), else the
    example's ``def`` line."""
    root = mf.REPO_ROOT
    location = f"{example.path}:{example.line}"
    for frame in traceback.extract_tb(error.__traceback__):
        path = Path(frame.filename).resolve()
        if path.is_relative_to(root) and not path.is_relative_to(root / "snippets" / "render"):
            location = f"{path.relative_to(root)}:{frame.lineno}"
    return location


def execute(
    example: Example,
    store: ModelStore,
    seed: int,
    warned: list[str] | None = None,
    require_alt: bool = True,
) -> Captured:
    """Run one example and capture what it prints (stdout and stderr), warns, returns and
    draws. The warnings it emitted are appended to ``warned`` (also when it fails). A figure
    or view needs its alt text unless ``require_alt`` is False (a draft render, ``render
    --draft`` into dist/draft/: the figure is drawn so that its alt text can be written while
    looking at it).

    It may return nothing, a matplotlib figure, an HTML view (bertviz), a string (shown as
    text), or a dict or list (data: ``<id>.json``, and a JSON data island on the page for a
    widget to read), which must hold only what JSON can.

    Raises:
        whatever the example raises (with a note if it also had side effects);
        ``TypeError`` if it returns anything else or data that is not JSON;
        :class:`SideEffectError` if it changed a shared model or left a thread running;
        :class:`UnexpectedWarningError`, :class:`MissingAltTextError`,
        :class:`OutputTooLongError`.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    module = importlib.import_module(example.module)
    function = getattr(module, example.function)
    kwargs = {}
    for name in example.parameters:
        kwargs[name] = store.get(name) if name in ROLES else store.device
        forget_warnings_shown_once(kwargs[name])
    plt.close("all")
    use_figure_fonts()
    threads_before = set(threading.enumerate())
    settings_before = process_state.snapshot()
    seed_everything(seed)
    error: BaseException | None = None
    png = None
    try:
        with capture.capture() as output:
            result = function(**kwargs)
            if isinstance(result, matplotlib.figure.Figure):
                # Drawn here, inside the capture: what matplotlib warns while it draws (a glyph
                # no font has) is the example's warning, shown and checked like its own.
                png = figure_png(result)
    except BaseException as raised:  # noqa: BLE001 - re-raised below, after the checks
        error = raised
    if warned is not None:
        warned.extend(output.warnings)
    # Even when the example failed: what it changed must not reach the examples after it.
    side_effects = side_effects_of(example, store, threads_before, settings_before)
    if error is not None:
        if side_effects:
            error.add_note(f"It also {side_effects}.")
        raise error
    if side_effects:
        raise SideEffectError(f"it {side_effects}")
    check_warnings(example, output.warnings)
    captured = Captured(text=output.text)
    if result is None:
        pass
    elif png is not None:
        captured.png = png
    elif hasattr(result, "data") and type(result).__name__ == "HTML":  # IPython HTML (bertviz)
        captured.html = make_self_contained(result.data, example.id, MAX_VIEW_BYTES)
    elif isinstance(result, dict | list):
        data_json(result, "it")  # raises if not JSON, or too long
        captured.data = result
    elif isinstance(result, str):
        captured.text += result if result.endswith("\n") else result + "\n"
    else:
        raise TypeError(
            f"it returned {type(result).__module__}.{type(result).__qualname__}, which a page "
            "cannot show: print it, or return None, a matplotlib figure, an HTML view, a str, "
            "or a dict or list for a widget"
        )
    plt.close("all")
    drawn = captured.png is not None or captured.html is not None
    if drawn and require_alt and len(example.alt) < MIN_ALT_TEXT:
        raise MissingAltTextError(
            f"it draws a figure or view, and docs/alt-text.toml has no alt text of at least "
            f'{MIN_ALT_TEXT} characters for it: add [{example.id}] alt = "what it shows"'
        )
    if len(captured.text) > MAX_TEXT_OUTPUT:
        raise OutputTooLongError(
            f"it printed {len(captured.text):,} characters; a page shows at most "
            f"{MAX_TEXT_OUTPUT:,}: print less (a summary, the first rows)"
        )
    captured.text = scrub_paths("\n".join(line.rstrip() for line in captured.text.splitlines()))
    if captured.text:
        captured.text += "\n"
    return captured


class SideEffectError(RuntimeError):
    """An example changed a model, tokenizer or config that the other examples share, or left
    a thread running that would write into their outputs."""


class OutputTooLongError(ValueError):
    """An example printed more text than a page should show."""


class MissingAltTextError(ValueError):
    """A figure or view without alt text: a screen reader would have nothing to read."""


def side_effects_of(
    example: Example, store: ModelStore, threads_before: set, settings_before: dict[str, Any]
) -> str:
    """What ``example`` did that would reach the examples after it, as the end of a sentence
    beginning "it" (empty if nothing): the roles it changed (dropped from ``store``, so the next
    examples get them fresh), the process-wide settings it changed (put back: see
    :mod:`snippets.render.process_state`), and the threads it started and left running (after
    waiting up to :data:`THREAD_GRACE_SECONDS` for them)."""
    problems = []
    changed = store.changed_roles(name for name in example.parameters if name in ROLES)
    if changed:
        details = " | ".join(f"{role}: {'; '.join(found)}" for role, found in changed.items())
        problems.append(
            f"changed what it shares with the other examples ({details}); the examples after "
            "it would see the change, and with worker processes only some of them. Change a "
            "copy (copy.deepcopy(model)), or load a fresh one in the example"
        )
    settings = process_state.restore(settings_before)
    if settings:
        problems.append(
            f"changed settings of the whole process ({'; '.join(settings)}), which the "
            "examples after it would inherit (they are put back now). Change them for a block "
            "only (torch.no_grad(), matplotlib.rc_context(), np.printoptions())"
        )
    deadline = time.perf_counter() + THREAD_GRACE_SECONDS
    started = [t for t in threading.enumerate() if t not in threads_before]
    for thread in started:
        thread.join(max(0.0, deadline - time.perf_counter()))
    running = [t.name for t in started if t.is_alive()]
    if running:
        problems.append(
            f"left {len(running)} thread(s) running ({', '.join(running)}): what they print "
            "would land in the outputs of the examples after it. Join them before returning"
        )
    return "; and ".join(problems)


@dataclass
class Result:
    """What executing one example gave: its capture and seconds, or the failure's message
    (``cached``: a render found its outputs fresh and did not execute it)."""

    example: Example
    status: str  # "executed", "failed" or "cached"
    captured: Captured | None = None
    duration: float = 0.0
    error: str = ""
    traceback: str = ""  # of a failure
    warnings: list[str] = field(default_factory=list)  # what it warned, declared or not


def run_example(example: Example, store: ModelStore, seed: int, require_alt: bool = True) -> Result:
    """Load the example's models (outside its timing), execute it (:func:`execute`), time it.

    Raises:
        ModelUnavailableError: a model it needs cannot be had (no example could run); any
            other error is the example's failure, in the result with its file and line.
    """
    warned: list[str] = []
    try:
        for role in example.roles:
            store.get(role)
        start = time.perf_counter()
        captured = execute(example, store, seed, warned, require_alt)
    except ModelUnavailableError:
        raise
    except KeyboardInterrupt as error:
        if interrupted():  # Ctrl-C: stop the render
            raise
        return failed(example, error, warned)
    except (Exception, SystemExit) as error:  # sys.exit() in an example is its failure
        return failed(example, error, warned)
    return Result(example, "executed", captured, time.perf_counter() - start, warnings=warned)


def failed(example: Example, error: BaseException, warned: list[str]) -> Result:
    """The result of an example that raised ``error``: its message, traceback and warnings."""
    trace = "".join(traceback.format_exception(error))
    return Result(example, "failed", error=failure_message(example, error),
                  traceback=scrub_paths(trace), warnings=warned)  # fmt: skip


def failure_message(example: Example, error: BaseException) -> str:
    """``<id> (<file>:<line>): <Error>: <message>``, and the notes added to the error."""
    notes = "".join(f" {note}" for note in getattr(error, "__notes__", ()))
    where = _failure_location(example, error)
    return f"{example.id} ({where}): {type(error).__name__}: {error}{notes}"
