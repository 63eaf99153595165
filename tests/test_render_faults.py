"""The renderer under faults and hostile input: a killed render, output text that looks like
Markdown syntax, oversized attention views, figures that cannot draw their labels, leftovers."""

from __future__ import annotations

import fcntl
import html
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from snippets.render import manifest as mf
from snippets.render import render_lock
from snippets.render.runner import render
from tests.browser_check import wait_until
from tests.test_render import SETTINGS, fake_example

REPO = Path(__file__).resolve().parent.parent


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (ended, not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


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
        wait_until(lambda: len(list(marks.iterdir())) == 2 or parent.poll() is not None, 120,
                   "the two workers to start their examples", interval=0.1)  # fmt: skip
        assert parent.poll() is None, parent.stderr.read().decode()[-2000:]
        workers = [int(p.name) for p in marks.iterdir()]
        assert parent.pid not in workers and all(map(_alive, workers))
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        wait_until(lambda: not any(map(_alive, workers)), 10,
                   f"workers {workers} to end with their render", interval=0.1)  # fmt: skip
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
    seconds = [int(line.rsplit("waited ", 1)[1].split()[0]) for line in waiting]
    assert seconds[0] == 0 and seconds[1] >= 1 and seconds == sorted(seconds)
    assert re.search(r"render: the other render finished; waited [1-9]\d* s", err), err


def test_a_process_forked_while_the_lock_is_held_does_not_hold_it(tmp_path: Path):
    """The descriptor of a held render lock is closed in a forked child (and close-on-exec):
    the lock's holders, as a waiting render sees them, are the render alone."""
    path = tmp_path / render_lock.LOCK_NAME
    with render_lock.render_lock(tmp_path) as held:
        assert held
        reader, writer = os.pipe()
        ready_reader, ready_writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child says it runs (its fork hooks have run), waits until the
            os.close(writer)  # parent has looked, then ends
            os.write(ready_writer, b"r")
            os.read(reader, 1)
            os._exit(0)
        os.close(reader)
        os.close(ready_writer)
        try:
            assert os.read(ready_reader, 1) == b"r"
            holders = render_lock.lock_holders(path)  # all but this process
        finally:
            os.close(writer)
            os.close(ready_reader)
            os.waitpid(pid, 0)
    assert holders == []


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
    problems, _, _ = mf.check(cli.discover_examples(), None, out)
    assert [(p.kind, p.name) for p in problems] == [("orphaned", leftover.name)]
    assert cli.main(["--check", "--output-dir", str(out)]) == 1
    assert f"orphaned {leftover.name}: {mf.LEFTOVER_REASON}" in capsys.readouterr().out
    arguments = ["--profile", "offline", "--device", "cpu", "--quiet", "--output-dir", str(out)]
    with render_lock.render_lock(out):  # another render is running: its files stay
        assert cli.main(arguments) == 0
    assert leftover.exists()
    assert cli.main(arguments) == 0
    err = capsys.readouterr().err
    count = len(cli.discover_examples())
    assert not list(out.glob(".*.tmp")) and f"render: 0 executed, {count} cached, 0 failed" in err
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


def test_an_output_on_a_page_but_not_rendered_yet_is_what_render_makes(tmp_path: Path):
    """A page includes an output of a known example whose file is missing (a new example, or
    one deleted): ``--check`` lists it as missing, ``render`` makes it (byte-identical to the
    committed one), and only the site's build calls the include wrong."""
    from snippets.render.hub import copy_working_tree

    copy = tmp_path / "repo"
    copy_working_tree(copy)
    output = copy / "docs" / "generated" / "history-timeline.md"
    committed = output.read_text(encoding="utf-8")
    output.unlink()

    def same_but_the_cpu(fresh: str) -> bool:
        """The fragment is the committed one but for the device's CPU class in its provenance
        line, which names the machine (the committed one may come from another CPU)."""
        was = mf.Manifest.read(mf.GENERATED_DIR).entries["history-timeline"].device_name
        now = mf.Manifest.read(output.parent).entries["history-timeline"].device_name
        return fresh == committed.replace(html.escape(was), html.escape(now))

    env = {**os.environ, "LECTURE_CACHE": str(tmp_path / "cache")}

    def run(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "snippets.render", *arguments], cwd=copy,
                              env=env, capture_output=True, text=True)  # fmt: skip

    check = run("--check")
    assert check.returncode == 1, check.stdout + check.stderr
    assert "missing  history-timeline: asset missing" in check.stdout
    rendered = run("--profile", "offline", "--device", "cpu", "--quiet")
    assert rendered.returncode == 0, rendered.stderr
    assert "render: 1 executed" in rendered.stderr
    assert same_but_the_cpu(output.read_text(encoding="utf-8"))
    output.unlink()
    problem = subprocess.run(
        [sys.executable, "-c", "from snippets.render.includes import site_include_problems as p;"
         " print(p())"], cwd=copy, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "history-timeline has not been rendered yet: run `nox -s render`" in problem


def site_markdown(base: Path):
    """A Markdown converter with the site's extensions as mkdocs.yml configures them (includes
    resolved in ``base``), and abbreviations and emoji, which a later page may turn on."""
    import markdown

    from snippets.render.notebooks import read_config

    names, configs = [], {}
    for item in read_config()["markdown_extensions"]:
        name, config = next(iter(item.items())) if isinstance(item, dict) else (item, None)
        names.append(name)
        configs[name] = dict(config or {})
    configs["pymdownx.snippets"]["base_path"] = [str(base)]
    assert configs["pymdownx.snippets"]["check_paths"] is True
    names += ["abbr", "pymdownx.emoji"]
    return markdown.Markdown(extensions=names, extension_configs=configs)


def test_output_text_is_never_expanded_by_a_markdown_extension(tmp_path: Path):
    """Printed lines that are include lines (a file, a block of file names, section markers, a
    path outside the repository), maths, an attribute list, an abbreviation, emoji: the page
    shows exactly what was printed, the ``.txt`` asset holds it unchanged, and returned data
    reaches the page's JSON island unchanged."""
    import json

    from bs4 import BeautifulSoup

    from tests.fake_examples import MARKDOWN_SYNTAX

    generated = tmp_path / "docs" / "generated"
    (tmp_path / "pyproject.toml").write_text("DECOY: this file must not be included\n")
    examples = [fake_example("example_prints_markdown_syntax"),
                fake_example("example_returns_markdown_syntax")]  # fmt: skip
    outcomes, _ = render(examples, examples, SETTINGS, generated, False)
    assert [o.status for o in outcomes] == ["executed", "executed"]
    printed = "\n".join(MARKDOWN_SYNTAX) + "\n"
    assert (generated / "fake-prints-markdown-syntax.txt").read_text() == printed
    page = "".join(f'# Page\n\n--8<-- "docs/generated/{e.id}.md"\n\n' for e in examples)
    page += "Some HTML.\n"  # where the abbreviation would apply
    html = site_markdown(tmp_path).convert(page)
    assert "DECOY" not in html and "injected" not in html.replace("{: .injected #injected }", "")
    soup = BeautifulSoup(html, "html.parser")
    shown = soup.select_one("#output-fake-prints-markdown-syntax pre").get_text()
    assert shown == printed
    assert not soup.select("abbr, .arithmatex, img.emoji, .emojione, [class='injected']")
    island = soup.select_one("script#data-fake-returns-markdown-syntax")
    assert json.loads(island.string) == {"lines": MARKDOWN_SYNTAX}


def test_escaped_include_lines_are_found_with_the_extensions_own_patterns():
    from snippets.render.outputs import escape_snippet_lines

    assert escape_snippet_lines('--8<-- "a.md"\n  --8<--\nx ;--8<-- [end:s] y\nplain') == (
        ';--8<-- "a.md"\n  ;--8<--\nx ;;--8<-- [end:s] y\nplain'
    )
    assert escape_snippet_lines("--8<-- 'a.md' trailing words") == "--8<-- 'a.md' trailing words"


def test_an_attention_view_over_the_budget_fails_its_example_saying_what_to_shorten(
    tmp_path: Path,
):
    from snippets.render.mkdocs_hooks import view_sizes
    from snippets.render.views import MAX_VIEW_BYTES

    generated = tmp_path / "generated"
    examples = [fake_example("example_short_head_view"), fake_example("example_long_head_view")]
    outcomes, _ = render(examples, examples, SETTINGS, generated, False)
    assert [o.status for o in outcomes] == ["executed", "failed"]
    error = outcomes[1].error
    assert error.startswith("fake-long-head-view (tests/fake_examples.py:1): ViewTooLargeError: "
                            "its attention view is 1.")  # fmt: skip
    assert "MB (2 layer(s) x 2 head(s) x 200 x 200 tokens of attention weights); a page " in error
    assert f"embeds at most {MAX_VIEW_BYTES / 1e6:.1f} MB: shorten the text" in error
    fits = int(error.split("about ")[1].split(" tokens fit")[0])
    assert 100 < fits < 200
    assert "include_layers=[...] and include_heads=[...]" in error
    assert not list(generated.glob("fake-long-head-view.*"))
    size = (generated / "fake-short-head-view.html").stat().st_size
    assert 400_000 < size < MAX_VIEW_BYTES
    lines = view_sizes(mf.Manifest.read(generated))
    assert f"- `fake-short-head-view.html`: {size / 1e6:.2f} MB, " in lines[-1]
    assert lines[-1].endswith(f"{size / MAX_VIEW_BYTES:.0%} of the budget")


def test_figure_labels_in_other_scripts_draw_and_a_missing_glyph_fails(tmp_path: Path):
    """Chinese and an emoji draw (Droid Sans Fallback and DejaVu Sans, no "missing glyph"
    warning anywhere); a glyph no figure font has fails its example with matplotlib's warning,
    raised while the figure was saved and caught like the example's own."""
    import warnings

    from snippets.render.outputs import use_figure_fonts

    if "Droid Sans Fallback" not in use_figure_fonts() and not os.environ.get(
        "LECTURE_REQUIRE_BROWSER"
    ):
        pytest.skip("no Droid Sans Fallback here: apt-get install fonts-droid-fallback")
    generated = tmp_path / "generated"
    examples = [fake_example("example_figure_in_other_scripts"),
                fake_example("example_figure_with_a_glyph_no_font_has")]  # fmt: skip
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        outcomes, _ = render(examples, examples, SETTINGS, generated, False)
    assert [str(w.message) for w in escaped] == []  # nothing got past the capture
    assert [o.status for o in outcomes] == ["executed", "failed"]
    assert (generated / "fake-figure-in-other-scripts.png").read_bytes().startswith(b"\x89PNG")
    assert not (generated / "fake-figure-in-other-scripts.txt").exists()  # no warning shown
    error = outcomes[1].error
    assert "UnexpectedWarningError: it emitted ['UserWarning: Glyph 129760 (\\\\N{MELTING " in error
    fonts = error.split("missing from font(s) ")[1].split(".'")[0]  # in either order
    assert sorted(fonts.split(", ")) == ["DejaVu Sans", "Droid Sans Fallback"]
    assert not list(generated.glob("fake-figure-with-a-glyph-no-font-has.*"))
