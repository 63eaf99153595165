"""One render of an output folder at a time: the render lock, ``<folder>/.render.lock``.

The lock is an ``flock`` on that file, held by the render's own process only. An ``flock``
belongs to the open file, which a forked child shares: a worker process that kept the
descriptor would keep the lock after its render was killed, and every later render would wait
for it forever. So every process forked while the lock is held closes its copy first thing
(``os.register_at_fork``), and the descriptor is close-on-exec for programs the render starts.

A render that must wait says which processes hold the lock (on Linux, from ``/proc``: the
processes with the file open and an ``flock`` on it) and, every :data:`WAIT_REPORT_SECONDS`, how
long it has waited. The file itself stays empty.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = ".render.lock"
# How often a waiting render says again that it waits (and for whom).
WAIT_REPORT_SECONDS = 30.0
# How often a waiting render tries the lock again.
POLL_SECONDS = 0.2

# Descriptors of the render locks this process holds (closed in forked children).
_held: set[int] = set()


def _close_in_child() -> None:
    """After a fork, in the child: drop the inherited descriptors of held locks. Closing (never
    ``LOCK_UN``, which would release the parent's lock too) leaves the lock to the parent."""
    for fd in _held:
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_close_in_child)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def render_lock(folder: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold ``folder``'s render lock for the ``with`` block; yields whether it is held.

    Args:
        wait: wait for another render to release it (saying who holds it and how long this
            one has waited, on stderr); with False, yield False at once when it is taken.

    Raises:
        OSError: the lock file cannot be opened (the caller checks first that ``folder`` can
            be written: :func:`snippets.render.runner.check_writable`).
        KeyboardInterrupt: Ctrl-C while waiting.
    """
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        held = _try_lock(fd)
        if not held and wait:
            _wait(fd, path)
            held = True
        if held:
            _held.add(fd)
        yield held
    finally:
        _held.discard(fd)
        os.close(fd)  # releases the lock


def _wait(fd: int, path: Path) -> None:
    start = time.monotonic()
    next_report = 0.0
    while not _try_lock(fd):
        waited = time.monotonic() - start
        if waited >= next_report:
            print(f"render: waiting for another render of {path.parent} to finish: "
                  f"{describe_holders(path)}; waited {waited:.0f} s so far",
                  file=sys.stderr, flush=True)  # fmt: skip
            next_report += WAIT_REPORT_SECONDS
        time.sleep(POLL_SECONDS)
    waited = time.monotonic() - start
    print(f"render: the other render finished; waited {waited:.0f} s", file=sys.stderr)


def lock_holders(path: Path) -> list[int]:
    """The ids of the processes that hold an ``flock`` on ``path`` (Linux: read from
    ``/proc/<pid>/fd`` and ``fdinfo``; empty where there is no ``/proc``, and for processes
    of other users, whose descriptors cannot be read)."""
    target = str(path.resolve())
    holders = []
    proc = Path("/proc")
    if not proc.is_dir():
        return holders
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            descriptors = list((entry / "fd").iterdir())
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                if os.readlink(descriptor) != target:
                    continue
                info = (entry / "fdinfo" / descriptor.name).read_text()
            except OSError:
                continue
            if any(line.startswith("lock:") and "FLOCK" in line and "->" not in line
                   for line in info.splitlines()):  # fmt: skip
                holders.append(int(entry.name))
                break
    return sorted(holders)


def _command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    words = " ".join(raw.replace(b"\0", b" ").decode("utf-8", "replace").split())
    return words if len(words) <= 70 else words[:67] + "..."


def describe_holders(path: Path) -> str:
    """``held by process 1234 (python -m snippets.render)[, ...]; if no render is running, end
    it: kill 1234`` (what :func:`lock_holders` finds)."""
    holders = lock_holders(path)
    if not holders:
        return "held by a process that cannot be seen from here (another user's, or no /proc)"
    commands = {pid: _command_line(pid) for pid in holders}
    named = [f"{pid} ({command})" if command else str(pid) for pid, command in commands.items()]
    plural = "es" if len(holders) > 1 else ""
    return (f"held by process{plural} {', '.join(named)}; if no render is running, "
            f"end {'them' if plural else 'it'}: kill {' '.join(map(str, holders))}")  # fmt: skip
