"""Worker processes for a render: tasks run in processes forked from the render's own, so
they share what it imported and loaded (copy-on-write) instead of importing and loading again.

Only the task's index travels to a worker; the task itself (the example, the loaded models) is
inherited by the fork. Results come back pickled. A worker that dies (a crash in native code,
``os._exit``, the out-of-memory killer) breaks the pool; the tasks it left unfinished are then
run again one at a time, each in a process of its own, so the one that kills its process is
named and the others still run. Ctrl-C stops the workers at once.

A worker dies with the render's process: on Linux each one asks the kernel, first thing, for
``SIGKILL`` when its parent ends (``prctl(PR_SET_PDEATHSIG)``), so a render killed with
``kill -9`` (or by the out-of-memory killer, a cancelled CI job) leaves no worker behind holding
memory; none holds the render's lock either (:mod:`snippets.render.render_lock`).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

# Most worker processes --jobs auto starts: each holds its own copy of what it touches.
MAX_JOBS = 4


class JobsError(ValueError):
    """A ``--jobs`` value that cannot be used here; the message says what to give instead."""


def parse_jobs(text: str) -> int | None:
    """``--jobs``'s argument: ``auto`` (None) or a count of processes, 1 or more.

    Raises:
        JobsError: anything else (``0``, ``-1``, ``two``, ``1.5``, non-ASCII digits).
    """
    if text == "auto":
        return None
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise JobsError(f"--jobs {text!r}: give a number of processes, 1 or more, or auto")
    return int(text)


def forking_possible() -> bool:
    """Whether workers can be forked here: Linux (``fork`` on macOS is unsafe with the system
    frameworks that libraries load, and Windows has none)."""
    return sys.platform.startswith("linux")


def default_jobs(device: str) -> int:
    """Worker processes for ``--jobs auto``: the usable cores, at most :data:`MAX_JOBS`, on the
    CPU where ``fork`` exists, on Python 3.11; else 1.

    From Python 3.12 ``os.fork`` warns (``DeprecationWarning``) in a process that has other
    threads, and a render's process has some once numpy and torch are imported (OpenBLAS's
    and torch's pools): there ``--jobs auto`` is 1, and a larger ``--jobs`` shows the warning.
    """
    if device != "cpu" or not forking_possible() or sys.version_info >= (3, 12):
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), MAX_JOBS))


def check_jobs(jobs: int, device: str) -> None:
    """Raises:
    JobsError: ``jobs`` < 1, or > 1 on a GPU device (CUDA does not survive ``fork``) or
        where there is no safe ``fork``."""
    if jobs < 1:
        raise JobsError(f"--jobs {jobs}: give 1 or more worker processes (or auto)")
    if jobs > 1 and device != "cpu":
        raise JobsError(
            f"--jobs {jobs} forks worker processes, and {device} does not survive a fork: "
            "render on a GPU with --jobs 1 (the default there)"
        )
    if jobs > 1 and not forking_possible():
        raise JobsError(f"--jobs {jobs} needs fork (Linux); here, render with --jobs 1")


@dataclass
class ProcessDied:
    """A task's process ended without a result; ``exitcode`` as ``multiprocessing`` gives it
    (negative: killed by that signal)."""

    exitcode: int | None

    def describe(self) -> str:
        code = self.exitcode
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            hint = " (the out-of-memory killer sends it)" if name == "SIGKILL" else ""
            return f"killed by {name}{hint}"
        return f"exit status {code} (os._exit, or a crash in native code)"


# The task the workers inherit by fork; set only while they run.
_TASK: Callable[[int], Any] | None = None


# prctl(2)'s option that sets the signal a process gets when its parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """In a worker process: be killed (``SIGKILL``) as soon as the process that forked it ends
    (Linux ``prctl(PR_SET_PDEATHSIG)``); if ``parent`` (its process id) has ended already,
    exit now. Elsewhere only the second check is made.

    Raises:
        OSError: the kernel refused the request.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"prctl(PR_SET_PDEATHSIG): {os.strerror(error)}")
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _call_inherited(index: int) -> Any:
    assert _TASK is not None, "a worker started outside run_forked"
    return _TASK(index)


def _send_result(index: int, connection: Any, parent: int) -> None:
    die_with_parent(parent)
    try:
        result = _call_inherited(index)
    except BaseException as error:  # noqa: BLE001 - handed to the parent, which re-raises
        result = error
    connection.send(result)
    connection.close()


def _run_alone(index: int, context: Any) -> Any:
    """Run task ``index`` in a process of its own; its result, or :class:`ProcessDied`."""
    reader, writer = context.Pipe(duplex=False)
    process = context.Process(target=_send_result, args=(index, writer, os.getpid()), daemon=True)
    process.start()
    writer.close()
    try:
        result = reader.recv()
    except EOFError:  # the process ended without sending anything
        result = None
    finally:
        reader.close()
        process.join()
    if result is None:
        return ProcessDied(process.exitcode)
    if isinstance(result, BaseException):
        raise result
    return result


def _stop_workers(pool: ProcessPoolExecutor, others: set[Any]) -> None:
    """Kill the pool's workers (the children of this process but ``others``) at once, whatever
    they run, then wait for the pool's manager thread, which sees them gone, and reap each one.
    When this returns no worker process is left, nor a thread of the pool that could still be
    reaping one (``shutdown(wait=False)`` left that thread running, and
    ``multiprocessing.active_children()`` could list a worker it was reaping at that moment)."""
    workers = [p for p in multiprocessing.active_children() if p not in others]
    for worker in workers:
        worker.kill()
    pool.shutdown(wait=True, cancel_futures=True)
    for worker in workers:
        worker.join()


def run_forked(task: Callable[[int], Any], count: int, jobs: int) -> Iterator[tuple[int, Any]]:
    """Run ``task(0)`` ... ``task(count - 1)`` in ``jobs`` forked processes, in that order of
    submission; yields ``(index, result)`` as each finishes.

    ``task`` is inherited by the fork, never pickled; its results are pickled back. If a worker
    dies, the tasks that had not finished are run again one by one, each in a process of its
    own: the one whose process dies again yields :class:`ProcessDied` as its result.

    Raises:
        whatever a task raises (a task that should fail softly returns its failure instead);
        ``KeyboardInterrupt`` after stopping every worker at once.
    """
    global _TASK
    context = multiprocessing.get_context("fork")
    _TASK = task
    unfinished: list[int] = []
    try:
        before = set(multiprocessing.active_children())
        pool = ProcessPoolExecutor(
            min(jobs, count), context, initializer=die_with_parent, initargs=(os.getpid(),)
        )
        try:
            futures = {pool.submit(_call_inherited, index): index for index in range(count)}
            for future in as_completed(futures):
                try:
                    result = future.result()
                except BrokenProcessPool:
                    unfinished.append(futures[future])
                    continue
                yield futures[future], result
        except BaseException:  # Ctrl-C, or a task's error: queued tasks must not run on
            _stop_workers(pool, before)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if unfinished:
            print(f"render: a worker process died; running the {len(unfinished)} example(s) "
                  "it left unfinished one at a time, each in a process of its own",
                  file=sys.stderr)  # fmt: skip
        for index in sorted(unfinished):
            yield index, _run_alone(index, context)
    finally:
        _TASK = None


class _Interrupts:
    received = False


def interrupted() -> bool:
    """Whether this process received SIGINT (Ctrl-C) inside :func:`noticing_interrupts`: tells
    a real Ctrl-C from an example that raises ``KeyboardInterrupt`` itself."""
    return _Interrupts.received


@contextlib.contextmanager
def noticing_interrupts() -> Iterator[None]:
    """While the block runs, SIGINT raises ``KeyboardInterrupt`` as usual and is also noted
    (:func:`interrupted`); forked workers inherit the handler. Outside the main thread, or
    where SIGINT is ignored (a background job), the handler is left as it is."""
    import threading

    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous == signal.SIG_IGN:
        yield
        return

    def note(signum: int, frame: Any) -> None:
        _Interrupts.received = True
        raise KeyboardInterrupt

    _Interrupts.received = False
    signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
