"""The renderer under faults and hostile input: a killed render, output text that looks like
Markdown syntax, oversized attention views, figures that cannot draw their labels, leftovers."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from snippets.render import manifest as mf
from snippets.render import render_lock
from snippets.render.runner import render
from tests.test_render import SETTINGS, fake_example

REPO = Path(__file__).resolve().parent.parent


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (ended, not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"after {seconds} s: {what}")
        time.sleep(0.1)


KILLED_RENDER = """
import sys
from dataclasses import replace
import snippets.render.__main__ as cli
from tests.test_render import fake_example
waiting = fake_example("example_waits_to_be_killed")
examples = [replace(waiting, id=f"fake-waits-{i}") for i in range(2)]
cli.discover_examples = lambda: examples
sys.exit(cli.main(["--profile", "offline", "--device", "cpu", "--quiet", "--jobs", "2",
                   "--output-dir", sys.argv[1]]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes: Linux only")
def test_kill_9_of_a_render_ends_its_workers_and_the_next_render_proceeds(tmp_path: Path):
    """``kill -9`` of a render with two worker processes: both workers end with it, neither
    keeps the render lock, and the next render of the folder runs at once."""
    marks, out = tmp_path / "marks", tmp_path / "generated"
    marks.mkdir()
    parent = subprocess.Popen(
        [sys.executable, "-c", KILLED_RENDER, str(out)], cwd=REPO,
        env={**os.environ, "LECTURE_TEST_MARKS": str(marks)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    workers: list[int] = []
    try:
        _wait_for(lambda: len(list(marks.iterdir())) == 2 or parent.poll() is not None, 120,
                  "the two workers did not start their examples")  # fmt: skip
        assert parent.poll() is None, parent.stderr.read().decode()[-2000:]
        workers = [int(p.name) for p in marks.iterdir()]
        assert parent.pid not in workers and all(map(_alive, workers))
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        _wait_for(lambda: not any(map(_alive, workers)), 10,
                  f"workers {workers} outlived their render")  # fmt: skip
        with open(out / render_lock.LOCK_NAME) as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: nobody kept it
        example = fake_example("example_prints")
        outcomes, _ = render([example], [example], SETTINGS, out, False)
        assert [o.status for o in outcomes] == ["executed"]
        assert (out / "fake-prints.txt").read_text() == "hello from an example\n"
    finally:
        parent.kill()
        parent.wait()
        for pid in workers:  # on failure: leave nothing running
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


HOLDER = """
import fcntl, sys, time
lock = open(sys.argv[1], "a")
fcntl.flock(lock, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_a_waiting_render_names_who_holds_the_lock_and_how_long_it_waited(
    tmp_path: Path, monkeypatch, capsys
):
    out = tmp_path / "generated"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out / render_lock.LOCK_NAME), "2.5"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == "held\n"
        monkeypatch.setattr(render_lock, "WAIT_REPORT_SECONDS", 1.0)
        example = fake_example("example_prints")
        outcomes, _ = render([example], [example], SETTINGS, out, False)
    finally:
        holder.kill()
        holder.wait()
    assert [o.status for o in outcomes] == ["executed"]
    err = capsys.readouterr().err
    waiting = [line for line in err.splitlines() if line.startswith("render: waiting for")]
    assert len(waiting) >= 2, err  # said again while it waited
    assert f"held by process {holder.pid} ({sys.executable} -c" in waiting[0]
    assert f"end it: kill {holder.pid}" in waiting[0]
    assert waiting[0].endswith("waited 0 s so far") and waiting[1].endswith("waited 1 s so far")
    assert "render: the other render finished; waited 2 s" in err or "waited 3 s" in err


def test_a_process_forked_while_the_lock_is_held_does_not_hold_it(tmp_path: Path):
    """The descriptor of a held render lock is closed in a forked child (and close-on-exec):
    the lock's holders, as a waiting render sees them, are the render alone."""
    path = tmp_path / render_lock.LOCK_NAME
    with render_lock.render_lock(tmp_path) as held:
        assert held
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child waits until the parent has looked, then ends
            os.close(writer)
            os.read(reader, 1)
            os._exit(0)
        os.close(reader)
        try:
            holders = render_lock.lock_holders(path)  # all but this process
        finally:
            os.close(writer)
            os.waitpid(pid, 0)
    assert holders == []
    assert render_lock.describe_holders(path).startswith(f"held by process {os.getpid()} (")


def test_a_render_with_nothing_to_execute_removes_what_a_killed_render_left(tmp_path: Path, capsys):
    """A leftover ``.manifest.json.*.tmp`` is reported by ``--check`` and removed by the next
    render, also one with nothing to execute; not while another render holds the lock (then
    it may be that render's own unfinished write)."""
    import shutil

    import snippets.render.__main__ as cli

    out = tmp_path / "generated"
    shutil.copytree(mf.GENERATED_DIR, out)
    leftover = out / ".manifest.json.k2j3x9.tmp"
    leftover.write_text('{"format": 3, "exam')
    assert cli.main(["--check", "--output-dir", str(out)]) == 1
    assert f"orphaned {leftover.name}: {mf.LEFTOVER_REASON}" in capsys.readouterr().out
    arguments = ["--profile", "offline", "--device", "cpu", "--quiet", "--output-dir", str(out)]
    with render_lock.render_lock(out):  # another render is running: its files stay
        assert cli.main(arguments) == 0
    assert leftover.exists()
    assert cli.main(arguments) == 0
    err = capsys.readouterr().err
    assert not leftover.exists() and "render: 0 executed, 37 cached, 0 failed" in err
    assert f"removed 1 unfinished write(s) of an interrupted render: {leftover.name}" in err
    assert cli.main(["--check", "--output-dir", str(out)]) == 0


def test_render_check_answers_for_the_notebooks_too(tmp_path: Path):
    """Moving an output's include line to another page changes the lecture notebook: the one
    ``render --check`` (what ``nox -s docs`` trusts) says it is stale, as the notebooks' own
    check does, and a render with nothing to execute rewrites it."""
    from snippets.render import notebooks
    from snippets.render.hub import copy_working_tree

    copy = tmp_path / "repo"
    copy_working_tree(copy)
    lecture = [page for page in notebooks.notebook_pages()["lecture"] if page.example_ids]
    first, last = copy / "docs" / lecture[0].file, copy / "docs" / lecture[-1].file
    include = f'--8<-- "docs/generated/{lecture[0].example_ids[0]}.md"\n'
    first.write_text(first.read_text().replace(include, "", 1))
    last.write_text(last.read_text() + "\n" + include)  # the same output, later in the notebook
    env = {**os.environ, "LECTURE_CACHE": str(tmp_path / "cache")}

    def run(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", *arguments], cwd=copy, env=env,
                              capture_output=True, text=True)  # fmt: skip

    check = run("snippets.render", "--check")
    assert check.returncode == 1, check.stdout + check.stderr
    assert "render --check: 1 problem(s)" in check.stdout
    assert "stale    docs/notebooks/lecture.ipynb: differs from what the pages" in check.stdout
    assert run("snippets.render.notebooks", "--check").returncode == 1
    render_run = run("snippets.render", "--profile", "offline", "--device", "cpu", "--quiet")
    assert render_run.returncode == 0, render_run.stderr
    check = run("snippets.render", "--check")
    assert check.returncode == 0 and "examples and the notebooks are fresh" in check.stdout
    assert run("snippets.render.notebooks", "--check").returncode == 0
