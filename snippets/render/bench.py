"""Benchmark of the render pipeline, measured side by side in one run (``nox -s bench``).

Works on a copy of the working tree (the files git tracks or does not ignore) in a temporary
folder, with an empty model cache, so nothing of the working tree changes:

1. cold render of the offline profile (no outputs, no cached models: includes training the
   stand-ins, reported apart);
2. warm render, nothing changed (must execute nothing);
3. render after changing one example (must execute exactly that one);
4. plain ``mkdocs build`` of the same site;
5. the frozen docs build: ``render --check`` then ``mkdocs build`` (what ``nox -R -s docs`` does
   when nothing is stale), and its ratio to 4.

Peak memory is the maximum resident set size of each step's process (``os.wait4``).
Prints a Markdown table and writes ``dist/bench.json``.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from snippets.render.hub import copy_working_tree
from snippets.render.manifest import REPO_ROOT, atomic_write


def run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``command``; return (seconds, peak RSS in MB, combined output).

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
    return seconds, usage.ru_maxrss / 1024, output


def executed_count(output: str) -> int:
    match = re.search(r"render: (\d+) executed", output)
    return int(match[1]) if match else 0


def benchmark() -> dict:
    """Run the five measurements; returns them as a dict (seconds, MB, counts)."""
    python = sys.executable
    mkdocs = [python, "-m", "mkdocs", "build", "--strict", "--quiet"]
    render = [python, "-m", "snippets.render", "--profile", "offline", "--device", "cpu"]
    results: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "steps": {}}
    with tempfile.TemporaryDirectory(prefix="lecture-bench-") as tmp:
        work = Path(tmp) / "repo"
        copy_working_tree(work)
        env = {
            **os.environ,
            "LECTURE_CACHE": str(Path(tmp) / "cache"),
            "PYTHONPATH": str(work),
            "NO_MKDOCS_2_WARNING": "1",
        }
        generated = work / "docs" / "generated"
        for path in generated.iterdir():
            path.unlink()

        def step(name: str, command: list[str]) -> str:
            seconds, peak, output = run(command, work, env)
            results["steps"][name] = {
                "seconds": round(seconds, 2),
                "peak_mb": round(peak),
                "executed": executed_count(output),
            }
            print(f"{name:28} {seconds:8.2f} s  {peak:7.0f} MB", file=sys.stderr)
            return output

        step("cold render", [*render, "--quiet"])
        committed = REPO_ROOT / "docs" / "generated"
        names = sorted(p.name for p in generated.iterdir() if p.name != "timings.json")
        differing = [n for n in names if not (committed / n).exists()
                     or (committed / n).read_bytes() != (generated / n).read_bytes()]  # fmt: skip
        results["reproducible"] = {"files": len(names), "differing_from_committed": differing}
        timings = json.loads((generated / "timings.json").read_text())
        results["model_loads_s"] = timings["model_loads"]
        results["examples_s"] = round(sum(timings["examples"].values()), 2)
        step("warm render", [*render, "--quiet"])
        example = work / "snippets" / "tokenization.py"
        example.write_text(
            example.read_text().replace("n_vocab_samples: int = 10", "n_vocab_samples: int = 12")
        )
        step("render, one example changed", [*render, "--quiet"])
        step("mkdocs build", [*mkdocs, "-d", str(Path(tmp) / "site-a")])
        start = time.perf_counter()
        run([python, "-m", "snippets.render", "--check"], work, env)
        run([*mkdocs, "-d", str(Path(tmp) / "site-b")], work, env)
        frozen = time.perf_counter() - start
        results["steps"]["frozen docs build"] = {"seconds": round(frozen, 2)}
        results["frozen_over_mkdocs"] = round(
            frozen / results["steps"]["mkdocs build"]["seconds"], 3
        )
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
    manifest = mf.Manifest.read()
    settings = mf.RenderSettings("offline", "cpu")
    versions = mf.library_versions()
    label = "cpu (synthetic)"
    for example in discover_examples():
        if not example.module.endswith(".synthetic"):
            continue
        captured = Captured(text=f"example {example.id}\n")
        outputs = {}
        files = {f"{example.id}.txt": captured.text,
                 f"{example.id}.md": fragment(example, captured, "offline", label)}  # fmt: skip
        for name, text in files.items():
            (mf.GENERATED_DIR / name).write_text(text, encoding="utf-8")
            outputs[name] = mf.sha256_file(mf.GENERATED_DIR / name)
        parts = mf.key_parts(example, settings, versions)
        manifest.entries[example.id] = mf.Entry.create(example, parts, label, outputs)
    manifest.write()


def markdown_table(results: dict) -> str:
    lines = ["| step | seconds | peak memory | examples executed |", "|---|---:|---:|---:|"]
    for name, step in results["steps"].items():
        peak = f"{step['peak_mb']} MB" if "peak_mb" in step else ""
        executed = step.get("executed", "")
        lines.append(f"| {name} | {step['seconds']:.2f} | {peak} | {executed} |")
    loads = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(results["model_loads_s"].items()))
    lines.append("")
    same = results["reproducible"]
    lines.append(
        f"The cold render's {same['files']} files (assets and manifest) compared with the "
        f"committed ones: {len(same['differing_from_committed'])} differ "
        f"{same['differing_from_committed'] or ''}."
    )
    lines.append(
        f"Cold render: model loads and stand-in training {loads}; the examples "
        f"themselves {results['examples_s']:.1f} s. Frozen docs build / plain mkdocs "
        f"build = {results['frozen_over_mkdocs']:.2f}. Machine: {results['machine']}."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    measured = benchmark()
    out = REPO_ROOT / "dist" / "bench.json"
    atomic_write(out, json.dumps(measured, indent=2) + "\n")
    print(markdown_table(measured))
