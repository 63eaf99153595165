"""The renderer: capture, failures, atomic writes, freshness check, no torch when frozen."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from snippets.render import manifest as mf
from snippets.render.compare import ACROSS_CPUS
from snippets.render.examples import Example, discover_examples
from snippets.render.runner import render
from tests.reproduce import compare_outputs, output_files, reproducible_here, same_entry

REPO = Path(__file__).resolve().parent.parent
SETTINGS = mf.RenderSettings("offline", "cpu")


FAKE_ALT = "One straight blue line rising from the lower left to the upper right."


def fake_example(function: str, caption: str = "A caption.", alt: str = FAKE_ALT) -> Example:
    return Example(
        id=f"fake-{function.removeprefix('example_').replace('_', '-')}",
        module="tests.fake_examples",
        function=function,
        path="tests/fake_examples.py",
        line=1,
        parameters=(),
        roles=(),
        caption=caption,
        alt=alt,
        code_hash="0" * 64,
    )


def test_failing_example_exits_nonzero_and_leaves_other_assets(tmp_path: Path):
    generated = tmp_path / "generated"
    shutil.copytree(REPO / "docs" / "generated", generated)
    before = {p.name: p.read_bytes() for p in generated.iterdir()}
    good, broken = fake_example("example_prints"), fake_example("example_raises")
    real = discover_examples()
    outcomes, _ = render(real + [good, broken], [good, broken], SETTINGS, generated, False)
    failed = [o for o in outcomes if o.status == "failed"]
    assert [o.example.id for o in failed] == ["fake-raises"]
    assert "fake-raises (tests/fake_examples.py:" in failed[0].error
    assert "ValueError: the example is broken" in failed[0].error
    # The good example was written, the broken one has no assets, the rest is untouched.
    assert (generated / "fake-prints.txt").read_text() == "hello from an example\n"
    assert not list(generated.glob("fake-raises.*"))
    for name, data in before.items():
        if name not in (mf.MANIFEST_NAME, mf.TIMINGS_NAME):
            assert (generated / name).read_bytes() == data, name
    manifest = mf.Manifest.read(generated)
    assert "fake-prints" in manifest.entries and "fake-raises" not in manifest.entries


def test_cli_reports_failure_with_id_file_and_line(monkeypatch, tmp_path, capsys):
    import snippets.render.__main__ as cli

    examples = [fake_example("example_prints"), fake_example("example_raises")]
    monkeypatch.setattr(cli, "discover_examples", lambda: examples)
    out = str(tmp_path / "generated")
    status = cli.main(["--profile", "offline", "--device", "cpu", "--quiet", "--output-dir", out])
    err = capsys.readouterr().err
    assert status == 1
    assert "FAILED fake-raises (tests/fake_examples.py:" in err
    assert "1 executed, 0 cached, 1 failed" in err
    assert cli.main(["--check", "--output-dir", out]) == 1  # the failed one is still missing


def test_figures_html_and_escaping(tmp_path: Path):
    generated = tmp_path / "generated"
    alt = "Look <here>: one straight line rising from the lower left to the upper right."
    examples = [fake_example("example_figure", alt=alt), fake_example("example_script")]
    outcomes, _ = render(examples, examples, SETTINGS, generated, False)
    assert all(o.status == "executed" for o in outcomes)
    png = (generated / "fake-figure.png").read_bytes()
    assert png.startswith(b"\x89PNG") and b"Software" not in png
    fragment = (generated / "fake-figure.md").read_text()
    assert 'src="generated/fake-figure.png"' in fragment
    assert 'alt="Look &lt;here&gt;: one straight' in fragment and "<here>" not in fragment
    script = (generated / "fake-script.md").read_text()
    # Untrusted model text stays inside a fence longer than any backtick run it contains.
    assert "\n````text\n" in script and "<script>alert(1)</script>" in script


def test_returned_data_becomes_json_and_a_data_island(tmp_path: Path):
    """A returned dict is ``<id>.json`` (with its manifest entry) and a JSON data island in the
    fragment that no string in it can close; data JSON cannot hold is a clear failure."""
    generated = tmp_path / "generated"
    examples = [fake_example("example_data"), fake_example("example_not_json")]
    outcomes, _ = render(examples, examples, SETTINGS, generated, False)
    assert [o.status for o in outcomes] == ["executed", "failed"]
    assert "fake-not-json (tests/fake_examples.py:1)" in outcomes[1].error
    assert "returned data that is not JSON" in outcomes[1].error
    data = {"tokens": ["</script><script>alert(1)</script>", "<!--", "a & b"], "logits": [1.5, -2]}
    assert json.loads((generated / "fake-data.json").read_text()) == data
    entry = mf.Manifest.read(generated).entries["fake-data"]
    assert set(entry.outputs) == {"fake-data.json", "fake-data.md"}
    fragment = (generated / "fake-data.md").read_text()
    island = re.search(
        r'<script type="application/json" id="data-fake-data" class="lecture-data">(.*?)</script>',
        fragment,
    )
    assert island and json.loads(island[1]) == data  # JSON reads \u003c back as <
    assert fragment.count("<script") == 1 and fragment.count("</script") == 1
    assert "<!--" not in fragment and "a & b" not in fragment
    problems, stale, refresh = mf.check(examples[:1], SETTINGS, generated)
    assert (stale, refresh) == ([], [])  # the fragment is rebuilt from the .json alone


def test_render_is_reproducible_byte_for_byte(tmp_path: Path):
    examples = [fake_example("example_figure"), fake_example("example_prints")]
    first, second = tmp_path / "a", tmp_path / "b"
    render(examples, examples, SETTINGS, first, False)
    render(examples, examples, SETTINGS, second, False)
    for path in first.iterdir():
        if path.name != mf.TIMINGS_NAME:
            assert path.read_bytes() == (second / path.name).read_bytes(), path.name


def test_check_passes_on_the_committed_assets():
    problems, stale, refresh = mf.check(discover_examples(), None)
    assert problems == [] and stale == [] and refresh == []


def test_check_names_stale_missing_and_orphaned(tmp_path: Path):
    generated = tmp_path / "generated"
    shutil.copytree(REPO / "docs" / "generated", generated)
    examples = discover_examples()
    changed = [replace(e, code_hash="f" * 64) if e.id == "tokenization-summary" else e
               for e in examples]  # fmt: skip
    (generated / "attention-grid.png").unlink()
    (generated / "leftover.txt").write_text("nobody made me")
    problems, stale, _ = mf.check(changed, None, generated)
    found = {(p.kind, p.name): p.reason for p in problems}
    assert "changed" in found[("stale", "tokenization-summary")]
    assert "attention-grid.png" in found[("missing", "attention-grid")]
    assert ("orphaned", "leftover.txt") in found
    assert {e.id for e in stale} == {"tokenization-summary", "attention-grid"}
    # A different profile or device makes every model-using example stale, and says why.
    problems, _, _ = mf.check(examples, mf.RenderSettings("hub", "cuda"), generated)
    reasons = {p.name: p.reason for p in problems}
    assert "profile 'offline' -> 'hub'" in reasons["architecture-printout"]
    assert "device 'cpu' -> 'cuda'" in reasons["architecture-printout"]


@pytest.mark.parametrize(
    "arguments",
    [
        ["--check"],
        ["--quiet", "--profile", "offline", "--device", "cpu"],
        ["--quiet", "--device", "cpu"],
    ],
    ids=["check", "no-op render", "no-op render, profile auto"],
)
def test_check_and_noop_render_import_neither_torch_nor_transformers(arguments, monkeypatch):
    """Freshness is decided before anything heavy is imported: ``--check``, and a render with
    nothing stale, import neither torch nor transformers (nor numpy)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # --profile auto: no hub here, and no waiting
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['snippets.render', *{arguments!r}]\n"
        "try:\n"
        "    runpy.run_module('snippets.render', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    status = e.code\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'numpy') if m in sys.modules)\n"
        "print(status, heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, check=True)  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == "0 []"


def test_atomic_write_never_leaves_partial_files(tmp_path: Path, monkeypatch):
    target = tmp_path / "asset.txt"
    mf.atomic_write(target, "old")

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(mf.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        mf.atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["asset.txt"]


def test_manifest_has_no_timestamps_or_absolute_paths():
    text = (REPO / "docs" / "generated" / mf.MANIFEST_NAME).read_text()
    assert str(REPO) not in text and "/tmp/" not in text
    manifest = json.loads(text)
    assert set(manifest) == {"format", "examples"}  # per-example profile, no global one
    for entry in manifest["examples"].values():
        assert set(entry) == {"id", "source", "function", "caption", "key", "key_parts",
                              "models", "device_name", "outputs", "provenance",
                              "warnings", "point"}  # fmt: skip
        assert entry["key"] == mf.cache_key(entry["key_parts"])


def test_each_model_is_loaded_once_per_render(monkeypatch, tmp_path: Path):
    import snippets.render.store

    calls = []

    def fake_load(role, profile, device):
        calls.append(role)
        return f"<{role}>"

    monkeypatch.setattr(snippets.render.store, "load", fake_load)
    examples = [
        replace(fake_example("example_prints"), id=f"fake-{i}", roles=("encoder",),
                parameters=("encoder",))
        for i in range(3)
    ]  # fmt: skip
    examples = [replace(e, function="example_takes_encoder") for e in examples]
    outcomes, store = render(examples, examples, SETTINGS, tmp_path / "generated", False)
    assert [o.status for o in outcomes] == ["executed"] * 3
    assert calls == ["encoder"] and store.load_counts == {"encoder": 1}
    assert (tmp_path / "generated" / "fake-2.txt").read_text() == "got <encoder>\n"


@pytest.mark.parametrize("content", ['{"examples": {', "[]", '{"format": 0, "examples": {}}'])
def test_damaged_manifest_is_one_clear_error(tmp_path: Path, content: str):
    (tmp_path / mf.MANIFEST_NAME).write_text(content)
    with pytest.raises(mf.ManifestError, match="manifest.json .*(re-render|restore)"):
        mf.check(discover_examples(), None, tmp_path)


@pytest.mark.slow
def test_attention_assets_do_not_depend_on_the_thread_count(
    full_render: Path, tmp_path: Path, monkeypatch
):
    """The attention examples rendered serially with 1 and with 2 torch threads: 1 thread gives
    the bytes of the session's full render (workers of one thread each: the same machine and
    settings, so byte for byte); 2 threads sum in another order, so the views agree within the
    tolerances across CPUs (weights rounded to 4 decimals move by at most 0.0001 or so); and
    both agree with the committed views within those tolerances."""
    import torch

    from snippets.render import runner

    examples = discover_examples()
    attention = [e for e in examples if e.id.startswith("attention-")]
    assert {"attention-head-view", "attention-model-view"} <= {e.id for e in attention}
    before = torch.get_num_threads()
    folders = {}
    try:
        for threads in (1, 2):
            monkeypatch.setattr(runner, "INFERENCE_THREADS", threads)
            folders[threads] = tmp_path / f"threads-{threads}"
            outcomes, _ = render(examples, attention, SETTINGS, folders[threads], False)
            assert torch.get_num_threads() == threads
            assert [o.example.id for o in outcomes if o.status == "failed"] == []
    finally:
        torch.set_num_threads(before)
    one, two = output_files(folders[1]), output_files(folders[2])
    assert sorted(one) == sorted(two)
    assert {f"{e.id}.html" for e in attention} & set(one) == {
        "attention-head-view.html",
        "attention-model-view.html",
    }
    assert [name for name in one if one[name] != (full_render / name).read_bytes()] == []
    across_threads = compare_outputs(folders[1], folders[2], sorted(one), ACROSS_CPUS)
    print("1 -> 2 threads, within tolerance:", *across_threads.within, sep="\n  ")
    assert across_threads.beyond == []
    # Against the committed files where they were rendered with these settings (a GPU
    # runner's are not: the renders above are their determinism check).
    entries, fresh = mf.Manifest.read().entries, mf.Manifest.read(folders[1]).entries
    here = [e.id for e in attention if reproducible_here(entries[e.id])]
    names = [name for i in here for name in entries[i].outputs]
    assert compare_outputs(mf.GENERATED_DIR, folders[1], names, ACROSS_CPUS).beyond == []
    assert [line for i in here for line in same_entry(entries[i], fresh[i])] == []


def test_a_figure_without_alt_text_fails_and_says_where_to_write_it(tmp_path: Path):
    example = fake_example("example_figure", alt="a line")
    outcomes, _ = render([example], [example], SETTINGS, tmp_path / "generated", False)
    assert outcomes[0].status == "failed"
    assert "MissingAltTextError" in outcomes[0].error
    assert '[fake-figure] alt = "what it shows"' in outcomes[0].error
    assert not list((tmp_path / "generated").glob("fake-figure.*"))


def test_workers_give_the_serial_outcomes_in_the_same_order(tmp_path: Path):
    """``jobs=2`` (forked workers): the same outcomes in the same order, failures with their
    file and line, and the same bytes as a serial render."""
    examples = [fake_example(f) for f in ("example_prints", "example_raises", "example_figure",
                                          "example_data", "example_not_json")]  # fmt: skip
    serial, _ = render(examples, examples, SETTINGS, tmp_path / "serial", False, jobs=1)
    forked, _ = render(examples, examples, SETTINGS, tmp_path / "forked", False, jobs=2)
    assert [(o.example.id, o.status) for o in forked] == [(o.example.id, o.status) for o in serial]
    assert [o.status for o in forked] == ["executed", "failed", "executed", "executed", "failed"]
    assert "fake-raises (tests/fake_examples.py:" in forked[1].error
    assert "ValueError: the example is broken" in forked[1].error
    names = sorted(p.name for p in (tmp_path / "serial").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "forked").iterdir())
    for name in names:
        if name not in (mf.TIMINGS_NAME, ".render.lock"):
            serial_bytes = (tmp_path / "serial" / name).read_bytes()
            assert serial_bytes == (tmp_path / "forked" / name).read_bytes(), name


def test_workers_share_the_models_loaded_once(monkeypatch, tmp_path: Path):
    """With workers, each role is loaded once, before they fork; a role that fails to load
    fails its examples (named), and the others run."""
    import snippets.render.store

    calls = []

    def fake_load(role, profile, device):
        calls.append(role)
        if role == "classifier":
            raise OSError("no classifier here")
        return f"<{role}>"

    monkeypatch.setattr(snippets.render.store, "load", fake_load)
    takes = replace(fake_example("example_takes_encoder"), roles=("encoder",),
                    parameters=("encoder",))  # fmt: skip
    examples = [replace(takes, id=f"fake-{i}") for i in range(4)]
    examples.append(replace(takes, id="fake-classifier", roles=("classifier",)))
    outcomes, store = render(examples, examples, SETTINGS, tmp_path / "generated", False, jobs=2)
    assert [o.status for o in outcomes] == ["executed"] * 4 + ["failed"]
    assert "fake-classifier" in outcomes[4].error and "no classifier here" in outcomes[4].error
    assert calls == ["encoder", "classifier"] and store.load_counts == {"encoder": 1}
    assert (tmp_path / "generated" / "fake-3.txt").read_text() == "got <encoder>\n"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--jobs", "0"], "--jobs '0': give a number of processes, 1 or more, or auto"),
        (["--jobs", "two"], "--jobs 'two': give a number"),
        (["--jobs", "\u00b9"], "give a number"),  # a superscript one: a digit, not ASCII
        (["--check", "--jobs", "-1"], "give a number"),
        (["--jobs", "2", "--device", "cuda"], "does not survive a fork"),
    ],
)
def test_bad_jobs_are_refused_before_anything_runs(arguments, message, monkeypatch, capsys):
    import snippets.render.__main__ as cli
    import snippets.render.resolve

    monkeypatch.setattr(snippets.render.resolve, "resolve_device", lambda requested: requested)
    try:
        status = cli.main(["--profile", "offline", "--device", "cpu", *arguments])
    except SystemExit as usage_error:  # argparse: a malformed value, in every mode
        status = usage_error.code
    assert status == 2 and message in capsys.readouterr().err


def test_jobs_default_to_the_cores_on_the_cpu_and_to_one_on_a_gpu(monkeypatch):
    from snippets.render import workers

    monkeypatch.setattr(workers.sys, "version_info", (3, 11, 7))
    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda pid: set(range(16)))
    assert workers.default_jobs("cpu") == workers.MAX_JOBS
    assert workers.default_jobs("cuda") == workers.default_jobs("mps") == 1
    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda pid: {0})
    assert workers.default_jobs("cpu") == 1
    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda pid: set(range(16)))
    monkeypatch.setattr(workers.sys, "version_info", (3, 12, 0))
    assert workers.default_jobs("cpu") == 1  # fork warns in a threaded process from 3.12


def test_a_dying_worker_fails_only_the_example_that_killed_it(tmp_path: Path, capsys):
    """An example that ends its worker's process (``os._exit``, as a crash in native code
    would) fails with how the process ended; the examples the broken pool left unfinished run
    again, each in a process of its own, and succeed; ``sys.exit`` in an example is that
    example's failure."""
    names = ("example_prints", "example_exits", "example_dies", "example_figure", "example_data")
    examples = [fake_example(f) for f in names]
    outcomes, _ = render(examples, examples, SETTINGS, tmp_path / "generated", False, jobs=2)
    status = {o.example.id: o for o in outcomes}
    assert [status[e.id].status for e in examples] == [
        "executed",
        "failed",
        "failed",
        "executed",
        "executed",
    ]
    assert "SystemExit: stopped by the example" in status["fake-exits"].error
    assert status["fake-dies"].error.startswith(
        "fake-dies (tests/fake_examples.py:1): its process ended before it returned, exit status 3"
    )
    assert not list((tmp_path / "generated").glob("fake-dies.*"))
    assert (tmp_path / "generated" / "fake-prints.txt").read_text() == "hello from an example\n"
    assert "render: a worker process died; running the " in capsys.readouterr().err


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_stops_the_render_and_keeps_what_finished(jobs, monkeypatch, tmp_path, capsys):
    """SIGINT stops the render at once (the queued 20-second examples neither run nor are
    waited for), says what was kept in one line, and exits 130."""
    import time

    import snippets.render.__main__ as cli

    sleepers = [replace(fake_example("example_sleeps"), id=f"fake-sleeps-{i}") for i in range(4)]
    examples = [fake_example("example_prints"), fake_example("example_interrupted"), *sleepers]
    monkeypatch.setattr(cli, "discover_examples", lambda: examples)
    out = tmp_path / "generated"
    arguments = ["--profile", "offline", "--device", "cpu", "--quiet", "--jobs", jobs]
    start = time.perf_counter()
    status = cli.main([*arguments, "--output-dir", str(out)])
    assert status == 130
    assert time.perf_counter() - start < 15  # not 20 s per queued example
    assert "render: interrupted; the examples that finished are written" in capsys.readouterr().err
    assert not list(out.glob(".*.tmp")) and not list(out.glob("fake-sleeps-*"))
    if jobs == "1":  # in order: the first one finished before the interruption
        assert "fake-prints" in mf.Manifest.read(out).entries
        assert (out / "fake-prints.txt").read_text() == "hello from an example\n"
    import multiprocessing
    import threading

    # Every worker reaped, and no thread of the pool left that could still be reaping one.
    assert multiprocessing.active_children() == []
    pool_threads = [t for t in threading.enumerate()
                    if type(t).__module__.startswith("concurrent.futures")]  # fmt: skip
    assert pool_threads == []


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_example_raising_keyboard_interrupt_itself_is_its_own_failure(jobs, tmp_path):
    examples = [fake_example("example_raises_keyboard_interrupt"), fake_example("example_prints")]
    outcomes, _ = render(examples, examples, SETTINGS, tmp_path / "generated", False, jobs=jobs)
    assert [o.status for o in outcomes] == ["failed", "executed"]
    assert "fake-raises-keyboard-interrupt (tests/fake_examples.py:" in outcomes[0].error
    assert "KeyboardInterrupt" in outcomes[0].error


@pytest.mark.parametrize("jobs", [1, 2])
def test_what_an_example_leaves_behind_or_cannot_show_fails_it(jobs, tmp_path):
    """A thread left running (its prints would land in other examples' outputs), a returned
    object a page cannot show, more text than a page should show: each fails its example with
    what to do; stderr is part of the output, in order."""
    names = ("example_leaves_a_thread", "example_returns_an_object", "example_prints_too_much",
             "example_writes_stderr", "example_prints")  # fmt: skip
    examples = [fake_example(f) for f in names]
    generated = tmp_path / "generated"
    outcomes, _ = render(examples, examples, SETTINGS, generated, False, jobs=jobs)
    by_id = {o.example.id: o for o in outcomes}
    assert [o.status for o in outcomes] == ["failed"] * 3 + ["executed"] * 2
    thread = by_id["fake-leaves-a-thread"].error
    assert "SideEffectError: it left 1 thread(s) running (ticker)" in thread
    assert "Join them before returning" in thread
    returned = by_id["fake-returns-an-object"].error
    assert "TypeError: it returned builtins.object, which a page cannot show" in returned
    assert (
        "printed 200,001 characters; a page shows at most 100,000"
        in by_id["fake-prints-too-much"].error
    )
    assert (generated / "fake-writes-stderr.txt").read_text() == (
        "to stdout\nto stderr\nstdout again\n"
    )
    assert (generated / "fake-prints.txt").read_text() == "hello from an example\n"


def test_an_output_folder_that_cannot_be_written_stops_before_anything_runs(tmp_path, capsys):
    import snippets.render.__main__ as cli

    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    status = cli.main(["--profile", "offline", "--device", "cpu", "--output-dir", str(a_file)])
    err = capsys.readouterr().err
    assert status == 2
    assert f"render: cannot write the outputs to {a_file}" in err
    assert "give --output-dir a folder you can write" in err and "Traceback" not in err


def test_examples_left_out_by_only_are_not_counted_as_cached(monkeypatch, tmp_path, capsys):
    import snippets.render.__main__ as cli

    examples = [fake_example("example_prints"), fake_example("example_data")]
    monkeypatch.setattr(cli, "discover_examples", lambda: examples)
    arguments = ["--profile", "offline", "--device", "cpu", "--quiet", "--only", "fake-prints"]
    assert cli.main([*arguments, "--output-dir", str(tmp_path / "generated")]) == 0
    err = capsys.readouterr().err
    assert "render: 1 executed, 0 cached, 0 failed, 1 stale but not selected (--only)" in err


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_example_that_changes_a_shared_model_fails_and_the_next_get_it_fresh(jobs, tmp_path):
    """Changing the shared tokenizer or model (train mode, a weight in place, through ``.data``
    or by a new parameter) fails the example, naming the role and the change, also when it
    then raises; the examples after it get a freshly loaded one."""

    def takes(function: str) -> Example:
        return replace(fake_example(function), roles=("trained_gpt2",),
                       parameters=("trained_gpt2",))  # fmt: skip

    reader = takes("example_reads_the_shared_model")
    changers = ["example_flips_the_padding_side", "example_trains_the_shared_model",
                "example_edits_weights_behind_autograd", "example_replaces_a_parameter",
                "example_changes_then_fails", "example_hooks_the_shared_model",
                "example_patches_forward", "example_lowercases_in_the_tokenizer"]  # fmt: skip
    examples = [replace(reader, id="fake-reads-first")]
    for function in changers:
        examples += [takes(function), replace(reader, id=f"fake-reads-after-{function[8:]}")]
    generated = tmp_path / "generated"
    outcomes, _ = render(examples, examples, SETTINGS, generated, False, jobs=jobs)
    by_id = {o.example.id: o for o in outcomes}
    assert [o.status for o in outcomes] == ["executed"] + ["failed", "executed"] * 8
    padding = by_id["fake-flips-the-padding-side"].error
    assert "SideEffectError: it changed what it shares" in padding
    assert re.search(r"trained_gpt2: \[1\]\.tokenizer\.padding_side: '(left|right)' -> '", padding)
    training = by_id["fake-trains-the-shared-model"].error
    assert "[0].model.modules in training mode: 0 -> " in training
    assert "[0].model.in-place changes to weights" in training
    assert "[0].model.sum of the weights" in by_id["fake-edits-weights-behind-autograd"].error
    assert "[0].model.tensor storage addresses: changed" in by_id["fake-replaces-a-parameter"].error
    assert (
        "[0].model.hooks (not transformers' own): [] -> ['lm_head._forward_hooks: "
        in by_id["fake-hooks-the-shared-model"].error
    )
    assert (
        "methods set on instances: [] -> ['model.forward']" in by_id["fake-patches-forward"].error
    )
    assert "[1].tokenizer.backend normalizer" in by_id["fake-lowercases-in-the-tokenizer"].error
    both = by_id["fake-changes-then-fails"].error
    assert "ValueError: failed after changing the tokenizer It also changed what it shares" in both
    assert "tokenizer.truncation_side" in both
    first = (generated / "fake-reads-first.txt").read_text()
    assert first.split()[1] == "False"  # eval mode
    for example in examples[2::2]:
        assert (generated / f"{example.id}.txt").read_text() == first, example.id


@pytest.mark.parametrize("jobs", [1, 2])
def test_process_settings_an_example_changes_fail_it_and_are_put_back(jobs, tmp_path):
    """Print options, default dtype, grad mode, rcParams, environment, working directory,
    logging switched off, the Ctrl-C handler: an example that changes them fails naming each,
    and the example after it sees them as before."""
    reader = fake_example("example_prints_process_settings")
    examples = [replace(reader, id="fake-prints-first"),
                fake_example("example_changes_process_settings"), reader]  # fmt: skip
    generated = tmp_path / "generated"
    outcomes, _ = render(examples, examples, SETTINGS, generated, False, jobs=jobs)
    assert [o.status for o in outcomes] == ["executed", "failed", "executed"]
    error = outcomes[1].error
    settings = ["working directory", "environment variables: LECTURE_TEST_VARIABLE",
                "logging.disable level: 0 -> 30", "Ctrl-C (SIGINT) handler",
                "torch default dtype: torch.float32 -> torch.float64",
                "torch grad mode: True -> False", "torch print options: precision",
                "numpy print options: precision", "matplotlib rcParams: font.size"]  # fmt: skip
    for setting in settings:
        assert setting in error, setting
    first = (generated / "fake-prints-first.txt").read_text()
    assert (generated / "fake-prints-process-settings.txt").read_text() == first
    assert "tensor([1.2346]) torch.float32 True" in first


def test_data_with_keys_json_would_merge_or_too_much_of_it_fails(tmp_path):
    examples = [fake_example("example_data_with_int_keys"), fake_example("example_too_much_data")]
    outcomes, _ = render(examples, examples, SETTINGS, tmp_path / "generated", False)
    assert [o.status for o in outcomes] == ["failed", "failed"]
    assert "the key 1 is a int, not a str" in outcomes[0].error
    too_much = outcomes[1].error
    assert too_much.startswith("fake-too-much-data (tests/fake_examples.py:1): ValueError: it ")
    assert "returned 201,003 characters of JSON; a page embeds at most 100,000" in too_much


def test_a_draft_render_draws_a_figure_before_its_alt_text(monkeypatch, tmp_path, capsys):
    """`--draft` draws into its own folder without alt text, to look at before describing it;
    a real render of the same example still refuses it."""
    import snippets.render.__main__ as cli

    example = fake_example("example_figure", alt="")
    monkeypatch.setattr(cli, "discover_examples", lambda: [example])
    common = ["--profile", "offline", "--device", "cpu", "--quiet", "--jobs", "1"]
    assert cli.main(["--draft", *common, "--output-dir", str(tmp_path / "draft")]) == 0
    assert (tmp_path / "draft" / "fake-figure.png").read_bytes().startswith(b"\x89PNG")
    assert f"draft of fake-figure: {tmp_path / 'draft' / 'fake-figure.png'}" in (
        capsys.readouterr().err
    )
    assert cli.main([*common, "--output-dir", str(tmp_path / "real")]) == 1
    assert "MissingAltTextError" in capsys.readouterr().err
    assert not (tmp_path / "real" / "fake-figure.png").exists()
    # the draft's leniency is an argument of that render, not left behind in the process
    assert cli.main(["--draft", *common, "--output-dir", str(tmp_path / "draft")]) == 0
    settings = mf.RenderSettings("offline", "cpu", 1234, "float32")
    outcomes, _ = render([example], [example], settings, tmp_path / "direct", progress=False)
    assert outcomes[0].status == "failed" and "MissingAltTextError" in outcomes[0].error


def test_roles_of_one_checkpoint_and_loader_share_one_model_and_are_dropped_together():
    """Offline, ``generator`` and ``instruct_generator`` are both SmolLM2's folder through
    ``load_generator``: one load, one object; an example that changes it drops both, and the
    next example gets a fresh one."""
    from snippets.render.store import ModelStore

    store = ModelStore("offline", "cpu")
    generator = store.get("generator")
    assert store.get("instruct_generator") is generator
    assert store.load_counts == {"generator": 1}
    assert store.get("trained_gpt2") is not generator  # another checkpoint: its own load
    side = generator.tokenizer.padding_side
    generator.tokenizer.padding_side = "right" if side == "left" else "left"
    changed = store.changed_roles(["instruct_generator"])
    assert (
        list(changed) == ["instruct_generator"]
        and "padding_side" in changed["instruct_generator"][0]
    )
    fresh = store.get("generator")
    assert fresh is not generator and fresh.tokenizer.padding_side == side
    assert store.get("instruct_generator") is fresh
    assert store.load_counts["generator"] == 2 and store.changed_roles(["generator"]) == {}
