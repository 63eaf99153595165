"""The drift report: what newer library releases change in the lecture, before adopting them.

``python -m snippets.render.drift`` (``nox -s drift``) does, without touching ``docs/generated/``,
``docs/notebooks/`` or ``locks/``:

1. makes a *candidate lock* in a scratch folder (``.nox/drift/locks/``): the newest releases the
   ranges of ``pyproject.toml`` allow (default), some packages moved (``--upgrade-package
   transformers==5.26.0``), or the committed lock itself (``--locked``: a reproducibility check);
2. installs it into a scratch environment (``.nox/drift/env``; ``--locked`` uses the current one);
3. renders every example there into ``.nox/drift/generated/``, with the profile and device of the
   committed outputs, and runs the pages' doctests and the notebooks in that environment;
4. compares the new outputs with the committed ones (:mod:`snippets.render.compare`: each output
   is *identical*, *within tolerance* of the committed one, i.e. float noise of another CPU or
   thread count, or *changed*) and writes the report: ``dist/drift/index.html`` (a page a
   person reads: diffs, figures side by side, tracebacks) and ``dist/drift/summary.md`` (the
   same in short, a pull request's body).

Exit status: 0 when no output changed beyond tolerance and nothing failed, 1 when outputs
changed, 2 when something failed (an example, a doctest, a notebook, the lock or the install),
130 when interrupted.
``--accept`` then adopts the candidate: it writes the re-rendered outputs into ``docs/generated/``,
rewrites the notebooks and replaces ``locks/`` (in that order, the lock last); it refuses when
anything failed.
"""

from __future__ import annotations

import argparse
import datetime
import html
import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

from snippets.render import lock
from snippets.render import manifest as mf
from snippets.render.compare import ExampleDrift, compare_renders

REPO_ROOT = mf.REPO_ROOT
WORK_DIR = REPO_ROOT / ".nox" / "drift"
REPORT_DIR = REPO_ROOT / "dist" / "drift"
# What runs in the candidate environment besides the render: the pages' doctests (Sybil) and the
# notebooks, top to bottom.
TESTS = ("docs", "tests/test_notebooks.py", "-k", "column or test_notebooks_run")
# The statuses of an example whose outputs are the committed ones: the same bytes, or float noise
# within the tolerances (compare.ACROSS_CPUS); neither is a change worth adopting.
SAME = ("identical", "within tolerance")


class DriftError(RuntimeError):
    """A step of the drift run failed before anything could be compared; the message says
    which and what was kept."""


@dataclass
class Step:
    """One step of the run, for the report: its name, seconds and outcome."""

    name: str
    seconds: float
    ok: bool
    detail: str = ""


@dataclass
class Drift:
    """Everything the report says."""

    started: str
    mode: str  # "newest", "packages ..." or "locked"
    versions: list[tuple[str, str | None, str | None]]  # (package, old, new)
    examples: list[ExampleDrift] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    tests: dict[str, object] = field(default_factory=dict)  # counts and failures
    settings: mf.RenderSettings | None = None

    def count(self, status: str) -> int:
        return sum(e.status == status for e in self.examples)

    @property
    def failed(self) -> bool:
        return (
            self.count("failed") > 0
            or not all(step.ok for step in self.steps)
            or bool(self.tests.get("failures"))
        )

    @property
    def changed(self) -> bool:
        """An output changed beyond the tolerances (or an example is new, removed, failed)."""
        return any(e.status not in SAME for e in self.examples)

    @property
    def exit_status(self) -> int:
        return 2 if self.failed else 1 if self.changed else 0

    def verdict(self) -> str:
        total = len(self.examples)
        parts = [
            f"{self.count('changed')} changed",
            f"{self.count('identical')} identical",
            f"{self.count('within tolerance')} within tolerance",
            f"{self.count('failed')} failed",
        ]
        for status in ("new", "removed"):
            if self.count(status):
                parts.append(f"{self.count(status)} {status}")
        tests = self.tests
        doctests = (
            f"doctests and notebooks: {tests.get('passed', 0)} passed, "
            f"{len(tests.get('failures', []))} failed, {tests.get('skipped', 0)} skipped"
        )
        return f"{', '.join(parts)} of {total} examples; {doctests}"


def committed_settings(generated: Path = mf.GENERATED_DIR) -> mf.RenderSettings:
    """The one profile, device, seed and dtype of the committed outputs (what the candidate
    renders with).

    Raises:
        DriftError: the outputs were rendered with several (render them alike first).
    """
    found = {entry.settings for entry in mf.Manifest.read(generated).entries.values()}
    if len(found) != 1:
        raise DriftError(
            f"the committed outputs were rendered with {len(found)} different settings "
            f"({sorted(map(str, found))}): re-render them with one profile and device first"
        )
    return found.pop()


def _run(
    step: str, command: list[str], env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)
) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if result.returncode not in ok:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise DriftError(f"{step} failed (exit {result.returncode}):\n{tail}")
    return result


def candidate_lock(work: Path, mode: str, packages: list[str]) -> Path:
    """Write the candidate lock files into ``work/locks`` and return that folder.

    Raises:
        DriftError: uv cannot resolve (no network, a version that does not exist).
    """
    folder = work / "locks"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(lock.LOCK_DIR, folder)
    if mode == "locked":
        return folder
    try:
        lock.compile_locks(
            folder, upgrade=mode == "newest", upgrade_packages=tuple(packages), uv=_uv()
        )
    except lock.LockError as error:
        raise DriftError(f"making the candidate lock failed: {error}") from None
    return folder


def _uv() -> str:
    beside = Path(sys.executable).parent / "uv"
    return str(beside) if beside.exists() else "uv"


def candidate_environment(work: Path, locks: Path, reuse: bool) -> Path:
    """The Python of an environment that holds exactly the candidate lock: this one when
    ``reuse`` (the candidate is the committed lock, installed here), else ``work/env``, made
    and synced with uv.

    Raises:
        DriftError: the environment cannot be made or installed (names the step).
    """
    if reuse:
        return Path(sys.executable)
    python = lock.bootstrap_environment(work / "env", lambda: sys.executable, run=_run, log=print)
    lock.sync_environment(work / "env", locks / lock.CPU_LOCK, run=_run, log=print, uv=_uv())
    return python


def environment_for(python: Path, locks: Path) -> dict[str, str]:
    """Variables that run the lecture with ``python`` against the candidate lock."""
    return {
        **os.environ,
        "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(python.parent.parent),
        lock.LOCK_VARIABLE: str(locks / lock.CPU_LOCK),
    }


def render_candidate(
    work: Path, python: Path, env: dict[str, str], settings: mf.RenderSettings
) -> tuple[Path, dict]:
    """Render every example into ``work/generated`` (emptied first); returns the folder and
    the render's report (``{id: {status, error, traceback, warnings}}``)."""
    generated, report = work / "generated", work / "render-report.json"
    shutil.rmtree(generated, ignore_errors=True)
    report.unlink(missing_ok=True)
    result = _run(
        "the render",
        [
            str(python),
            "-m",
            "snippets.render",
            "--force",
            "--quiet",
            "--profile",
            settings.profile,
            "--device",
            settings.device,
            "--seed",
            str(settings.seed),
            "--dtype",
            settings.dtype,
            "--output-dir",
            str(generated),
            "--report",
            str(report),
        ],
        env=env,
        ok=(0, 1),
    )
    if not report.exists():
        raise DriftError(f"the render wrote no report:\n{result.stderr[-2000:]}")
    return generated, json.loads(report.read_text(encoding="utf-8"))


def run_tests(work: Path, python: Path, env: dict[str, str]) -> dict[str, object]:
    """The pages' doctests and the notebooks in the candidate environment; their counts and
    each failure's name and message (from pytest's JUnit XML)."""
    junit = work / "pytest.xml"
    junit.unlink(missing_ok=True)
    _run(
        "pytest",
        [
            str(python),
            "-m",
            "pytest",
            *TESTS,
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={junit}",
        ],
        env=env,
        ok=(0, 1),
    )
    if not junit.exists():
        raise DriftError("pytest wrote no JUnit report")
    passed, skipped, failures = 0, 0, []
    for case in ElementTree.parse(junit).iter("testcase"):
        problem = case.find("failure")
        problem = problem if problem is not None else case.find("error")
        if problem is not None:
            name = f"{case.get('classname')}::{case.get('name')}"
            failures.append(
                {
                    "name": name,
                    "message": (problem.get("message") or "")[:500],
                    "text": (problem.text or "")[-4000:],
                }
            )
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    return {"passed": passed, "skipped": skipped, "failures": failures}


def run(
    mode: str, packages: list[str], work: Path | None = None, report_dir: Path = REPORT_DIR
) -> tuple[Drift, Path, Path, Path]:
    """The drift run (steps 1-4 above); returns the findings, the candidate locks, outputs and
    environment's Python.

    Raises:
        DriftError: a step failed before anything could be compared.
    """
    work = work or WORK_DIR
    work.mkdir(parents=True, exist_ok=True)
    settings = committed_settings()
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    label = (
        "locked"
        if mode == "locked"
        else "newest"
        if mode == "newest"
        else f"packages {' '.join(packages)}"
    )
    steps: list[Step] = []

    def timed(name, function, *args):
        start = time.perf_counter()
        try:
            value = function(*args)
        except DriftError as error:  # the report says which step failed, and how
            steps.append(Step(name, round(time.perf_counter() - start, 1), False, str(error)))
            error.drift = Drift(started, label, [], [], steps, {}, None)
            raise
        steps.append(Step(name, round(time.perf_counter() - start, 1), True))
        print(f"drift: {name}: {steps[-1].seconds} s", file=sys.stderr)
        return value

    locks = timed("candidate lock", candidate_lock, work, mode, packages)
    old = lock.read_lock(lock.LOCK_DIR / lock.CPU_LOCK)
    new = lock.read_lock(locks / lock.CPU_LOCK)
    reuse = new == old and not lock.environment_drift(old)
    python = timed("candidate environment", candidate_environment, work, locks, reuse)
    env = environment_for(python, locks)
    generated, render_report = timed("render", render_candidate, work, python, env, settings)
    tests = timed("doctests and notebooks", run_tests, work, python, env)
    failures = {i: r for i, r in render_report.items() if r["status"] == "failed"}
    assets = report_dir.with_name(report_dir.name + ".tmp") / "assets"
    shutil.rmtree(assets.parent, ignore_errors=True)
    examples = timed("comparison", compare_renders, mf.GENERATED_DIR, generated, failures, assets)
    drift = Drift(started, label, lock.compare(old, new), examples, steps, tests, settings)
    return drift, locks, generated, python


# --- The report ------------------------------------------------------------------------------


def summary_markdown(drift: Drift, limit: int = 60_000) -> str:
    """The report in short, Markdown: a pull request's body (at most ``limit`` characters)."""
    lines = [f"## Drift report ({drift.mode}, {drift.started})", "", f"**{drift.verdict()}.**", ""]
    if drift.versions:
        lines += ["| package | locked | candidate |", "|---|---|---|"]
        lines += [f"| {n} | {o or '-'} | {v or '-'} |" for n, o, v in drift.versions]
    else:
        lines.append("The candidate lock is the committed one.")
    for status, title in (
        ("failed", "Failed"),
        ("changed", "Changed"),
        ("new", "New"),
        ("removed", "Removed"),
        ("within tolerance", "Within tolerance (float noise, not adopted on its own)"),
    ):
        chosen = [e for e in drift.examples if e.status == status]
        if chosen:
            lines += ["", f"### {title} ({len(chosen)})", ""]
            for example in chosen:
                what = (
                    example.error.splitlines()[0]
                    if example.error
                    else "; ".join(f"`{c.name}`: {c.summary}" for c in example.changes)
                )
                warned = _warning_note(example)
                lines.append(f"- `{example.id}`: {what}{warned}")
    for failure in drift.tests.get("failures", []):
        first = (failure["message"] or "failed").splitlines()[0]
        lines.append(f"- test `{failure['name']}`: {first}")
    failed_steps = [s for s in drift.steps if not s.ok]
    for step in failed_steps:
        lines.append(f"- step {step.name} failed: {step.detail.splitlines()[0]}")
    lines += ["", "Steps: " + ", ".join(f"{s.name} {s.seconds} s" for s in drift.steps) + "."]
    text = "\n".join(lines) + "\n"
    return text if len(text) <= limit else text[: limit - 60] + "\n\n(cut; see the full report)\n"


def _warning_note(example: ExampleDrift) -> str:
    notes = []
    if example.warnings_appeared:
        notes.append(f"warnings appeared: {example.warnings_appeared}")
    if example.warnings_vanished:
        notes.append(f"warnings vanished: {example.warnings_vanished}")
    return f" ({'; '.join(notes)})" if notes else ""


_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem;
       color: #1b1b1b; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .2rem .6rem; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; font-size: 13px; }
.failed { color: #a00000; } .changed { color: #8a5a00; } .identical, .within { color: #1f6f2b; }
.figures { display: flex; gap: .5rem; flex-wrap: wrap; } .figures figure { margin: 0; }
.figures img { max-width: 22rem; border: 1px solid #ccc; }
ins { background: #e6ffec; text-decoration: none; } del { background: #ffebe9; }
"""


def _diff_html(diff: str) -> str:
    rows = []
    for line in diff.splitlines():
        escaped = html.escape(line)
        if line.startswith("+") and not line.startswith("+++"):
            escaped = f"<ins>{escaped}</ins>"
        elif line.startswith("-") and not line.startswith("---"):
            escaped = f"<del>{escaped}</del>"
        rows.append(escaped)
    return "<pre>" + "\n".join(rows) + "</pre>"


def report_html(drift: Drift) -> str:
    """The report as one page (every name and text from the outputs escaped)."""
    e = html.escape
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Drift report {e(drift.started)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Drift report: {e(drift.mode)}</h1>",
        f"<p>{e(drift.started)}. <strong>{e(drift.verdict())}</strong>.</p>",
    ]
    if drift.settings:
        s = drift.settings
        parts.append(
            f"<p>Rendered with profile {e(s.profile)}, device {e(s.device)}, seed "
            f"{s.seed}, dtype {e(s.dtype)}, as the committed outputs were.</p>"
        )
    parts.append("<h2>Package versions</h2>")
    if drift.versions:
        parts.append("<table><tr><th>package</th><th>locked</th><th>candidate</th></tr>")
        parts += [
            f"<tr><td>{e(n)}</td><td>{e(o or '-')}</td><td>{e(v or '-')}</td></tr>"
            for n, o, v in drift.versions
        ]
        parts.append("</table>")
    else:
        parts.append("<p>The candidate lock is the committed one.</p>")
    parts.append("<h2>Steps</h2><table><tr><th>step</th><th>seconds</th><th>result</th></tr>")
    parts += [
        f"<tr><td>{e(s.name)}</td><td>{s.seconds}</td><td>{'ok' if s.ok else 'failed'}</td></tr>"
        for s in drift.steps
    ]
    parts.append("</table>")
    for step in drift.steps:
        if step.detail:
            parts.append(f"<pre>{e(step.detail)}</pre>")
    tests = drift.tests
    parts.append(
        f"<h2>Doctests and notebooks</h2><p>{tests.get('passed', 0)} passed, "
        f"{len(tests.get('failures', []))} failed, {tests.get('skipped', 0)} skipped."
        "</p>"
    )
    for failure in tests.get("failures", []):
        parts.append(f"<h3 class='failed'>{e(failure['name'])}</h3><pre>{e(failure['text'])}</pre>")
    order = {"failed": 0, "changed": 1, "new": 2, "removed": 3, "within tolerance": 4}
    parts.append("<h2>Examples</h2>")
    for example in sorted(drift.examples, key=lambda x: (order.get(x.status, 5), x.id)):
        if example.status == "identical":
            continue
        parts.append(
            f"<h3 id='{e(example.id)}'><code>{e(example.id)}</code>: "
            f"<span class='{example.status.split()[0]}'>{example.status}</span></h3>"
        )
        if example.error:
            parts.append(f"<p>{e(example.error)}</p><pre>{e(example.traceback)}</pre>")
        for label, found in (
            ("appeared", example.warnings_appeared),
            ("vanished", example.warnings_vanished),
        ):
            if found:
                items = "".join(f"<li>{e(w)}</li>" for w in found)
                parts.append(f"<p>Warnings that {label}:</p><ul>{items}</ul>")
        for change in example.changes:
            parts.append(
                f"<p><code>{e(change.name)}</code> ({e(change.kind)}): {e(change.summary)}</p>"
            )
            if change.diff:
                parts.append(_diff_html(change.diff))
            if change.images:
                cells = "".join(
                    f"<figure><img src='assets/{e(name)}' alt='{e(what)} of "
                    f"{e(change.name)}'><figcaption>{e(what)}</figcaption></figure>"
                    for name, what in zip(
                        change.images,
                        ("committed", "candidate", "changed pixels in red"),
                        strict=True,
                    )
                )
                parts.append(f"<div class='figures'>{cells}</div>")
    identical = [x.id for x in drift.examples if x.status == "identical"]
    if identical:
        parts.append(
            f"<p>Identical ({len(identical)}): "
            + ", ".join(f"<code>{e(i)}</code>" for i in identical)
            + ".</p>"
        )
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_report(drift: Drift, report_dir: Path = REPORT_DIR) -> None:
    """Write ``index.html``, ``summary.md`` and ``drift.json`` (and the figures' images, already
    in the staging folder) into ``report_dir``, replacing the last report whole."""
    staging = report_dir.with_name(report_dir.name + ".tmp")
    staging.mkdir(parents=True, exist_ok=True)
    (staging / "index.html").write_text(report_html(drift), encoding="utf-8")
    (staging / "summary.md").write_text(summary_markdown(drift), encoding="utf-8")
    data = {
        "verdict": drift.verdict(),
        "exit_status": drift.exit_status,
        "mode": drift.mode,
        "versions": drift.versions,
        "tests": drift.tests,
        "steps": [s.__dict__ for s in drift.steps],
        "examples": [
            e.__dict__ | {"changes": [c.__dict__ for c in e.changes]} for e in drift.examples
        ],
    }
    (staging / "drift.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
    shutil.rmtree(report_dir, ignore_errors=True)
    os.replace(staging, report_dir)


# --- Adopting the candidate ------------------------------------------------------------------


def accept(drift: Drift, locks: Path, generated: Path, python: Path) -> None:
    """Adopt the candidate: its outputs into ``docs/generated/`` (each file atomically, the
    manifest last, files no example writes any more removed), the notebooks rewritten, then
    its lock files into ``locks/``; holding the render lock, so no render writes in between.

    Raises:
        DriftError: something failed in the run (nothing is adopted), or rewriting the
            notebooks failed (the outputs are adopted, the lock is not: the message says so).
    """
    from snippets.render.render_lock import render_lock

    if drift.failed:
        raise DriftError("refusing to accept: something failed (see the report); nothing adopted")
    target = mf.GENERATED_DIR
    new = mf.Manifest.read(generated)
    owned = mf.owned_files(new.entries)
    with render_lock(target):
        for name in sorted(owned - {mf.MANIFEST_NAME}):
            mf.atomic_write(target / name, (generated / name).read_bytes())
        for path in target.iterdir():
            if path.is_file() and not path.name.startswith(".") and path.name not in owned:
                path.unlink()
        mf.atomic_write(target / mf.MANIFEST_NAME, (generated / mf.MANIFEST_NAME).read_bytes())
        env = environment_for(python, locks)
        try:
            _run("rewriting the notebooks", [str(python), "-m", "snippets.render.notebooks"],
                 env=env)  # fmt: skip
        except DriftError as error:
            error.adopted = True
            raise
    for name in lock.LOCK_FILES:
        mf.atomic_write(lock.LOCK_DIR / name, (locks / name).read_bytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m snippets.render.drift",
        description=__doc__.split("\n\n")[0] + " Writes dist/drift/index.html and summary.md; "
        "exit 0 (no output changed), 1 (outputs changed), 2 (something failed).",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--locked",
        action="store_true",
        help="use the committed lock (a reproducibility check: identical or within tolerance)",
    )
    group.add_argument(
        "--upgrade-package",
        action="append",
        default=[],
        metavar="SPEC",
        help="move only these packages (name or name==version); repeatable",
    )
    parser.add_argument(
        "--accept",
        action="store_true",
        help="adopt the candidate lock and its outputs (refused if anything failed)",
    )
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=REPORT_DIR,
        help="where the report goes (default: dist/drift)",
    )
    args = parser.parse_args(argv)
    mode = "locked" if args.locked else "packages" if args.upgrade_package else "newest"
    untouched = "docs/generated/, docs/notebooks/ and locks/ are untouched"
    try:
        drift, locks, generated, python = run(
            mode, args.upgrade_package, report_dir=args.report_dir
        )
        write_report(drift, args.report_dir)
        print(f"drift: {drift.verdict()}", file=sys.stderr)
        print(f"drift: report in {args.report_dir / 'index.html'} and summary.md", file=sys.stderr)
        # the candidate lock is the committed one and no output changed: re-adopting the same
        # render would only churn timings.json (and the weekly job's pull request)
        nothing_new = drift.exit_status == 0 and not drift.versions
        if args.accept and not nothing_new:
            accept(drift, locks, generated, python)
            print(
                "drift: accepted: docs/generated/, docs/notebooks/ and locks/ now hold the "
                "candidate; install it with any nox session, then commit",
                file=sys.stderr,
            )
        elif args.accept:
            print("drift: nothing to adopt: the candidate lock is the committed one and no "
                  "output changed", file=sys.stderr)  # fmt: skip
        return drift.exit_status
    except DriftError as error:
        if getattr(error, "adopted", False):
            untouched = ("docs/generated/ holds the candidate's outputs, locks/ is unchanged: "
                         "`git checkout docs/generated docs/notebooks` undoes it")  # fmt: skip
        print(f"drift: {error}\ndrift: {untouched}", file=sys.stderr)
        failed = getattr(error, "drift", None)
        if failed is not None:  # the report of this run says what failed, not the last one's
            write_report(failed, args.report_dir)
            print(f"drift: report in {args.report_dir / 'index.html'}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"drift: interrupted; {untouched} (scratch work in {WORK_DIR})", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
