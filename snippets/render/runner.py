"""Executing examples: devices, profiles, the model store, capture, and the render loop."""

from __future__ import annotations

import ast
import contextlib
import fcntl
import importlib
import json
import os
import platform
import random
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snippets.codehash import closure, package_modules
from snippets.offline import INFERENCE_THREADS
from snippets.profiles import (
    PROFILES,
    ROLES,
    ModelUnavailableError,
    checkpoint,
    hub_repositories,
    load,
)
from snippets.render import capture, process_state
from snippets.render import manifest as mf
from snippets.render.examples import MIN_ALT_TEXT, Example
from snippets.render.fingerprint import changes, components, fingerprint
from snippets.render.outputs import Captured, data_json, figure_png, fragment, scrub_paths
from snippets.render.workers import (
    ProcessDied,
    check_jobs,
    interrupted,
    noticing_interrupts,
    run_forked,
)

# Longest text output a page shows (the longest today is about 1,000 characters).
MAX_TEXT_OUTPUT = 100_000
# How long a thread an example started may take to end after it returns.
THREAD_GRACE_SECONDS = 0.5


class RenderError(RuntimeError):
    """A render cannot start (bad device, unreachable profile); the message says what to do."""


def accelerator_possible() -> bool:
    """Whether this machine could have a GPU that torch uses, judged without importing torch:
    an NVIDIA driver (``/proc/driver/nvidia``), ROCm's ``/dev/kfd``, or an Apple Silicon Mac."""
    if sys.platform == "darwin":
        return platform.machine() == "arm64"
    return Path("/proc/driver/nvidia").exists() or Path("/dev/kfd").exists()


def resolve_device(requested: str) -> str:
    """``auto`` -> cuda, else mps, else cpu; an explicit device must exist.

    ``cpu``, and ``auto`` on a machine without a GPU driver, are decided without importing
    torch, so that a render with nothing stale imports nothing heavy.

    Raises:
        RenderError: ``cuda`` or ``mps`` was asked for and is not available.
    """
    if requested == "cpu" or (requested == "auto" and not accelerator_possible()):
        return "cpu"
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise RenderError(
            f"--device cuda was asked for, but torch {torch.__version__} sees no CUDA device "
            f"(built with CUDA {torch.version.cuda}). Use --device cpu, or --device auto."
        )
    if requested == "mps" and not (torch.backends.mps.is_available()):
        raise RenderError(
            "--device mps was asked for, but no Apple GPU is available here. "
            "Use --device cpu, or --device auto."
        )
    if requested not in ("cpu", "cuda", "mps"):
        raise RenderError(f"unknown device {requested!r}: use auto, cpu, cuda or mps")
    return requested


def device_label(device: str) -> str:
    """Human name of the device, for captions and the manifest."""
    if device == "cuda":
        import torch

        return f"cuda ({torch.cuda.get_device_name(0)})"
    if device == "mps":
        return "mps (Apple GPU)"
    return f"cpu ({platform.machine()})"


def in_hub_cache(name: str, revision: str) -> bool:
    """Whether the HuggingFace cache holds ``name``'s ``config.json`` at commit ``revision``.

    The cache's documented layout (``models--<org>--<name>/snapshots/<commit>/``), read without
    importing ``huggingface_hub``'s download machinery, which a no-op render does not need.
    """
    from huggingface_hub import constants

    repo = constants.REPO_ID_SEPARATOR.join(["models", *name.split("/")])
    return (Path(constants.HF_HUB_CACHE) / repo / "snapshots" / revision / "config.json").is_file()


def hub_host_resolves() -> bool:
    """False when the hub's host name does not resolve (no network, no DNS): then the hub is
    surely unreachable, found in milliseconds. True otherwise, and always behind a proxy."""
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY")):
        return True
    from urllib.parse import urlparse

    from huggingface_hub import constants

    try:
        socket.getaddrinfo(urlparse(constants.ENDPOINT).hostname, 443)
    except OSError:
        return False
    return True


def hub_models_resolve() -> tuple[bool, str]:
    """Whether every hub-profile model is in the HF cache or reachable, and a one-line account
    of which repositories and revisions were found in the cache and which would be downloaded.
    """
    found, missing = [], []
    for name, revision in hub_repositories().items():
        (found if in_hub_cache(name, revision) else missing).append(f"{name}@{revision[:10]}")
    account = (f"in the HuggingFace cache: {', '.join(found) or 'none'}; "
               f"to download: {', '.join(missing) or 'none'}")  # fmt: skip
    if not missing:
        return True, account
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return False, f"{account} (HF_HUB_OFFLINE=1: no downloads)"
    if not hub_host_resolves():
        return False, f"{account} (the hub is unreachable: its host name does not resolve)"
    try:
        from huggingface_hub import model_info

        model_info(missing[0].split("@")[0], timeout=5)
    except Exception as error:  # any failure to reach the hub means: offline
        return False, f"{account} (the hub is unreachable: {type(error).__name__})"
    return True, f"{account} (the hub is reachable)"


def resolve_profile(requested: str) -> tuple[str, str]:
    """``auto`` -> ``hub`` where its models resolve, else ``offline``; returns (profile, why)."""
    if requested not in (*PROFILES, "auto"):
        raise RenderError(f"unknown profile {requested!r}: use auto, hub or offline")
    if requested == "offline":
        return requested, "asked for"
    ok, why = hub_models_resolve()
    if requested == "hub" and not ok:
        raise RenderError(
            f"--profile hub was asked for, but its models are not available ({why}). Either "
            "fill the HuggingFace cache at the pinned revisions of snippets/profiles.py on a "
            "machine with hub access (see docs/rendering.md), copy it here and set "
            "HF_HUB_OFFLINE=1, or render with --profile offline."
        )
    return ("hub" if ok else "offline"), why


class ModelStore:
    """Loads each model role once per render and hands it to every example that needs it."""

    def __init__(self, profile: str, device: str, dtype: str = "float32") -> None:
        self.profile, self.device, self.dtype = profile, device, dtype
        self._loaded: dict[str, Any] = {}
        self.load_counts: dict[str, int] = {}
        self.load_seconds: dict[str, float] = {}  # includes training a stand-in, if needed
        self.import_seconds: float | None = None  # importing libraries before the examples
        self._failed: dict[str, Exception] = {}  # a role that failed once fails at once after
        self.load_warnings: dict[str, list[str]] = {}  # declared ones, for the render's report
        self._fingerprints: dict[str, dict[str, object]] = {}  # each role as loaded

    def get(self, role: str) -> Any:
        if role in self._failed:
            raise self._failed[role]
        if role not in self._loaded:
            start = time.perf_counter()
            try:
                # Make the offline folder first (training a stand-in warns about training,
                # on the console); what is checked is what loading the checkpoint warns.
                checkpoint(role, self.profile, self.device)
                with capture.capture() as output:
                    value = load(role, self.profile, self.device)
                self.load_warnings[role] = check_load_warnings(role, self.profile, output.warnings)
            except Exception as error:
                self._failed[role] = error
                raise
            self._loaded[role] = _cast(value, self.dtype)
            self._fingerprints[role] = fingerprint(self._loaded[role])
            self.load_counts[role] = self.load_counts.get(role, 0) + 1
            self.load_seconds[role] = round(time.perf_counter() - start, 2)
        return self._loaded[role]

    def changed_roles(self, roles: Iterable[str]) -> dict[str, list[str]]:
        """Which of the loaded ``roles`` differ from how they were loaded, and how (see
        :mod:`snippets.render.fingerprint`); those are dropped, so that the next :meth:`get`
        loads them again."""
        changed = {}
        for role in roles:
            if role in self._loaded:
                found = changes(self._fingerprints[role], fingerprint(self._loaded[role]))
                if found:
                    changed[role] = found
                    del self._loaded[role]
        return changed


def _cast(value: Any, dtype: str) -> Any:
    """Cast loaded models to ``dtype`` (float32 leaves them as they are)."""
    if dtype == "float32":
        return value
    import torch

    target = getattr(torch, dtype)
    items = value if isinstance(value, tuple) else (value,)
    for item in items:
        model = getattr(item, "model", item)
        if isinstance(model, torch.nn.Module):
            model.to(target)
    return value


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so outputs repeat."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA and MPS generators


@dataclass
class Outcome:
    example: Example
    status: str  # "executed", "cached" or "failed"
    duration: float = 0.0
    error: str = ""


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


def execute(example: Example, store: ModelStore, seed: int) -> Captured:
    """Run one example and capture what it prints (stdout and stderr), warns, returns and
    draws.

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
    threads_before = set(threading.enumerate())
    settings_before = process_state.snapshot()
    seed_everything(seed)
    error: BaseException | None = None
    try:
        with capture.capture() as output:
            result = function(**kwargs)
    except BaseException as raised:  # noqa: BLE001 - re-raised below, after the checks
        error = raised
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
    elif isinstance(result, matplotlib.figure.Figure):
        captured.png = figure_png(result)
    elif hasattr(result, "data") and type(result).__name__ == "HTML":  # IPython HTML (bertviz)
        captured.html = result.data
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
    if (captured.png is not None or captured.html is not None) and len(example.alt) < MIN_ALT_TEXT:
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


def forget_warnings_shown_once(value: Any) -> None:
    """Forget which warnings the tokenizers in ``value`` (a tokenizer, a ``(model, tokenizer)``
    pair, a pipeline) have shown: transformers shows some once per tokenizer instance (the
    flags of ``tokenizer.deprecation_warnings``, e.g. "Token indices sequence length is longer
    than the specified maximum"), so without this an example's output would depend on which
    examples ran before it in the same process."""
    for _, kind, tokenizer in components(value):
        shown = getattr(tokenizer, "deprecation_warnings", None) if kind == "tokenizer" else None
        if isinstance(shown, dict):
            shown.clear()


class MissingAltTextError(ValueError):
    """A figure or view without alt text: a screen reader would have nothing to read."""


class UnexpectedWarningError(RuntimeError):
    """An example warned what ``docs/expected-warnings.toml`` does not declare, or the reverse."""


def check_declared(emitted: list[str], expected: tuple[str, ...], subject: str, table: str):
    """Compare what ``subject`` warned with its declaration, the ``[table]`` of
    ``docs/expected-warnings.toml`` (an example id, or ``load.<role>.<profile>``).

    Raises:
        UnexpectedWarningError: a warning no declared part matches, or a declared part that no
            warning matches; the message says what to write in the file.
    """
    unexpected = capture.undeclared(emitted, expected)
    absent = capture.missing(emitted, expected)
    problems = []
    if unexpected:
        problems.append(
            f"{subject} emitted {unexpected}, which docs/expected-warnings.toml does not declare"
        )
    if absent:
        problems.append(
            f"docs/expected-warnings.toml declares {absent} for it; what it emitted "
            f"({emitted or 'nothing'}) is not the declared warning"
        )
    if problems:
        raise UnexpectedWarningError(
            "; ".join(problems) + ". Fix the cause, or declare what it emits (its output shows "
            f'it) and explain it on the page: [{table}] warnings = ["<part of the message>"]'
        )


def check_warnings(example: Example, emitted: list[str]) -> None:
    """Fail an example whose warnings differ from its declaration (:func:`check_declared`)."""
    check_declared(emitted, example.expected_warnings, "it", example.id)


def check_load_warnings(role: str, profile: str, emitted: list[str]) -> list[str]:
    """What loading ``role`` warned, if ``[load.<role>.<profile>]`` of
    ``docs/expected-warnings.toml`` declares exactly that (:func:`check_declared`)."""
    from snippets.render.examples import read_expected_load_warnings

    expected = read_expected_load_warnings().get((role, profile), ())
    subject = f"loading model role {role!r} ({profile} profile)"
    check_declared(emitted, expected, subject, f"load.{role}.{profile}")
    return emitted


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
        from snippets.render.views import make_self_contained

        files[f"{example.id}.html"] = make_self_contained(captured.html, example.id)
    files[f"{example.id}.md"] = fragment(example, captured, profile, label, provenance)
    digests = {}
    for name, data in files.items():
        mf.atomic_write(generated / name, data)
        digests[name] = mf.sha256_file(generated / name)
    return digests


def render(
    examples: list[Example],
    to_render: list[Example],
    settings: mf.RenderSettings,
    generated: Path = mf.GENERATED_DIR,
    progress: bool = True,
    jobs: int = 1,
) -> tuple[list[Outcome], ModelStore]:
    """Execute ``to_render`` and update assets and manifest after each success.

    A failing example keeps its previous assets and manifest entry; the others go on. Two
    renders of the same folder never interleave: the second says so and waits for the first's
    lock.

    Args:
        jobs: processes that execute examples. With more than one (CPU only, where ``fork``
            exists), the models are loaded first and the examples run in ``jobs`` forked
            worker processes that share them (:mod:`snippets.render.workers`); this process
            writes the assets as results come.

    Raises:
        JobsError: ``jobs`` is below 1, or above 1 where workers cannot be forked.
        RenderError: ``generated`` cannot be written (checked before anything runs).
        ModelUnavailableError: a model role cannot be had at all (no example can run).
        KeyboardInterrupt: Ctrl-C; what finished is written and recorded.
    """
    check_jobs(jobs, settings.device)
    check_writable(generated)
    with open(generated / ".render.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"render: waiting for another render of {generated} to finish",
                  file=sys.stderr)  # fmt: skip
            fcntl.flock(lock, fcntl.LOCK_EX)
        with noticing_interrupts():
            return _render_locked(examples, to_render, settings, generated, progress, jobs)


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
        probe.unlink()
    except OSError as error:
        raise RenderError(
            f"cannot write the outputs to {folder} ({error.strerror or error}): give "
            "--output-dir a folder you can write"
        ) from None


def _render_locked(
    examples: list[Example],
    to_render: list[Example],
    settings: mf.RenderSettings,
    generated: Path,
    progress: bool,
    jobs: int,
) -> tuple[list[Outcome], ModelStore]:
    from tqdm import tqdm

    manifest = mf.Manifest.read(generated)
    versions, installed = mf.locked_versions(), mf.library_versions()
    for leftover in generated.glob(".*.tmp"):  # unfinished writes of a killed render
        leftover.unlink()
    timings = mf.read_json(generated / mf.TIMINGS_NAME, {})
    timings.setdefault("examples", {})
    timings.setdefault("model_loads", {})
    store = ModelStore(settings.profile, settings.device, settings.dtype)
    if to_render:
        store.import_seconds = timings["imports"] = import_libraries(to_render)
        set_inference_threads()
    quiet_libraries()
    label = device_label(settings.device)
    if jobs > 1 and len(to_render) > 1:
        results = execute_in_workers(to_render, store, settings.seed, jobs, timings["examples"])
    else:
        results = (run_example(example, store, settings.seed) for example in to_render)
    done: dict[str, Outcome] = {}
    with tqdm(total=len(to_render), desc="render", unit="example", disable=not progress,
              file=sys.stderr) as bar:  # fmt: skip
        for result in results:
            example = result.example
            bar.set_postfix_str(example.id)
            bar.update()
            if result.status == "failed":
                done[example.id] = Outcome(example, "failed", 0.0, result.error)
                continue
            assert result.captured is not None
            provenance = mf.provenance(example, installed)
            digests = write_assets(
                example, result.captured, settings.profile, label, generated, provenance
            )
            parts = mf.key_parts(example, settings, versions)
            manifest.record(mf.Entry.create(example, parts, label, digests, provenance))
            timings["examples"][example.id] = round(result.duration, 2)
            done[example.id] = Outcome(example, "executed", result.duration)
    outcomes = [Outcome(e, "cached") for e in examples if e not in to_render]
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


@dataclass
class Result:
    """What executing one example gave: its capture and seconds, or the failure's message."""

    example: Example
    status: str  # "executed" or "failed"
    captured: Captured | None = None
    duration: float = 0.0
    error: str = ""


def run_example(example: Example, store: ModelStore, seed: int) -> Result:
    """Load the example's models (outside its timing), execute it, time it.

    Raises:
        ModelUnavailableError: a model it needs cannot be had (no example could run); any
            other error is the example's failure, in the result with its file and line.
    """
    try:
        for role in example.roles:
            store.get(role)
        start = time.perf_counter()
        captured = execute(example, store, seed)
    except ModelUnavailableError:
        raise
    except KeyboardInterrupt as error:
        if interrupted():  # Ctrl-C: stop the render
            raise
        return Result(example, "failed", error=failure_message(example, error))
    except (Exception, SystemExit) as error:  # sys.exit() in an example is its failure
        return Result(example, "failed", error=failure_message(example, error))
    return Result(example, "executed", captured, time.perf_counter() - start)


def failure_message(example: Example, error: BaseException) -> str:
    """``<id> (<file>:<line>): <Error>: <message>``, and the notes added to the error."""
    notes = "".join(f" {note}" for note in getattr(error, "__notes__", ()))
    where = _failure_location(example, error)
    return f"{example.id} ({where}): {type(error).__name__}: {error}{notes}"


def execute_in_workers(
    examples: list[Example],
    store: ModelStore,
    seed: int,
    jobs: int,
    last_seconds: dict[str, float],
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
    for index, result in run_forked(lambda i: run_example(order[i], store, seed), len(order), jobs):
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
