"""Command line: ``python -m snippets.render [--check] [--profile P] [--device D] [--only ID]``.

Exit status: 0 when every asset is fresh (``--check``) or every executed example succeeded;
1 when ``--check`` finds stale, missing or orphaned assets, or an example failed; 2 when the
render could not start (bad device, unreachable profile, malformed example, an example whose
declared point is not the one it was rendered for); 130 when it was interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from snippets.render import lock
from snippets.render import manifest as mf
from snippets.render.examples import ExampleDefinitionError, discover_examples
from snippets.render.workers import JobsError, check_jobs, default_jobs, parse_jobs


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m snippets.render",
        description=__doc__.replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="execute nothing; exit 1 and list stale/missing/orphaned assets",
    )
    parser.add_argument(
        "--profile",
        default=None,
        choices=["auto", "hub", "offline"],
        help="model profile (default: auto when rendering; with --check, the "
        "profile each asset was rendered with)",
    )
    parser.add_argument(
        "--device",
        default=None,
        choices=["auto", "cpu", "cuda", "mps"],
        help="device (default: auto; with --check, the recorded one)",
    )
    parser.add_argument(
        "--dtype",
        default="float32",
        choices=["float32", "bfloat16", "float16"],
        help="model dtype (only worth changing on a GPU)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=mf.DEFAULT_SEED,
        help=f"seed of Python, NumPy and torch before each example (default {mf.DEFAULT_SEED})",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="ID",
        help="render only these example ids (repeatable)",
    )
    parser.add_argument(
        "--jobs",
        default=None,
        type=jobs_argument,
        metavar="N",
        help="processes that execute examples (default: auto, the usable cores up to 4 on "
        "the CPU under Python 3.11; 1 on a GPU and from Python 3.12)",
    )
    parser.add_argument("--force", action="store_true", help="re-render even fresh examples")
    parser.add_argument(
        "--draft",
        action="store_true",
        help="render into dist/draft/ (never docs/generated/), always, without requiring alt "
        "text: to look at a new figure before describing it (use with --only ID)",
    )
    parser.add_argument("--list", action="store_true", help="list the examples and exit")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="FILE",
        help="write each executed or failed example's status, error, traceback and warnings "
        "as JSON to FILE (what the drift report reads)",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=mf.GENERATED_DIR,
        help="where the assets and manifest live (default: docs/generated; dist/draft with "
        "--draft)",
    )
    args = parser.parse_args(argv)
    if args.draft:
        args.force = True
        if args.output_dir == mf.GENERATED_DIR:
            args.output_dir = DRAFT_DIR
    return args


DRAFT_DIR = mf.REPO_ROOT / "dist" / "draft"


def jobs_argument(text: str) -> int | None:
    """``--jobs`` for argparse: None for auto, else the count (a bad value is a usage error)."""
    try:
        return parse_jobs(text)
    except JobsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def summary(statuses: list[str], unselected_stale: int) -> str:
    """``render: 3 executed, 30 cached, 1 failed[, 3 stale but not selected (--only)]`` from
    each example's status (an example not executed counts as cached unless it is stale)."""
    executed, failed = statuses.count("executed"), statuses.count("failed")
    cached = len(statuses) - executed - failed - unselected_stale
    text = f"render: {executed} executed, {cached} cached, {failed} failed"
    if unselected_stale:
        text += f", {unselected_stale} stale but not selected (--only)"
    return text


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        examples = discover_examples()
    except ExampleDefinitionError as error:
        print(f"render: {error}", file=sys.stderr)
        return 2
    if args.only:
        unknown = set(args.only) - {e.id for e in examples}
        if unknown:
            print(f"render: unknown example ids {sorted(unknown)}; see --list", file=sys.stderr)
            return 2
    if args.list:
        for example in examples:
            roles = ",".join(example.roles) or "-"
            print(f"{example.id:40} {example.path}:{example.line}  roles={roles}")
        return 0

    drift = environment_problem()
    if drift:
        print(f"render{' --check' * args.check}: {drift}", file=sys.stderr)
        return 1 if args.check else 2
    from snippets.render.includes import site_include_problems

    # An output not rendered yet is what a render makes, and what --check reports as missing.
    site = is_site_output(args.output_dir)
    wrong = site_include_problems(examples, require_rendered=False) if site else []
    if wrong:
        for problem in wrong:  # the pages and notebooks cannot be made; nothing is run
            print(f"render{' --check' * args.check}: {problem}", file=sys.stderr)
        return 2
    if args.check:
        settings = None
        if args.profile not in (None, "auto") and args.device not in (None, "auto"):
            settings = mf.RenderSettings(args.profile, args.device, args.seed, args.dtype)
        try:
            problems, _, _ = mf.check(examples, settings, args.output_dir)
        except mf.ManifestError as error:
            print(f"render --check: {error}", file=sys.stderr)
            return 2
        problems += notebook_problems(args.output_dir)
        if not problems:
            notebooks = " and the notebooks" if is_site_output(args.output_dir) else ""
            print(f"render --check: all {len(examples)} examples{notebooks} are fresh")
            return 0
        print(f"render --check: {len(problems)} problem(s); run `nox -s render` to fix:")
        for problem in problems:
            print(f"  {problem}")
        return 1

    # Rendering: only now are torch and transformers imported.
    from snippets.profiles import ModelUnavailableError
    from snippets.render.resolve import RenderError, resolve_device, resolve_profile
    from snippets.render.runner import check_writable, render, tidy_without_rendering

    try:
        profile, why = resolve_profile(args.profile or "auto")
        device = resolve_device(args.device or "auto")
        jobs = default_jobs(device) if args.jobs is None else args.jobs
        check_jobs(jobs, device)
        check_writable(args.output_dir)
    except (RenderError, JobsError) as error:
        print(f"render: {error}", file=sys.stderr)
        return 2
    print(
        f"render: profile {profile} ({why}); device {device}; seed {args.seed}; "
        f"dtype {args.dtype}; jobs {jobs}",
        file=sys.stderr,
    )
    settings = mf.RenderSettings(profile, device, args.seed, args.dtype)
    selected = [e for e in examples if not args.only or e.id in args.only]
    try:
        problems, stale, refresh = mf.check(examples, settings, args.output_dir)
    except mf.ManifestError as error:
        if not (args.force and not args.only):
            print(f"render: {error}", file=sys.stderr)
            return 2
        # --force re-renders every example: the unreadable manifest is replaced, not read.
        print(f"render: {error}; --force starts a new one", file=sys.stderr)
        mf.Manifest({}, args.output_dir).write()
        problems, stale, refresh = mf.check(examples, settings, args.output_dir)
    moved = [p for p in problems if p.kind == "point" and p.name in {e.id for e in selected}]
    if moved and not args.force:
        for problem in moved:  # an output with another point needs another id
            print(f"render: {problem.name}: {problem.reason}", file=sys.stderr)
        return 2
    to_render = selected if args.force else [e for e in stale if e in selected]
    refresh = [e for e in refresh if e in selected and e not in to_render]
    if refresh:
        mf.refresh_fragments(refresh, args.output_dir)
        print(f"render: rewrote {len(refresh)} page fragment(s), executed nothing for them",
              file=sys.stderr)  # fmt: skip
    orphans = any(p.kind == "orphaned" and p.name in mf.Manifest.read(args.output_dir).entries
                  for p in problems)  # fmt: skip
    # (a draft's folder starts empty: what it does not select is not "stale")
    unselected_stale = 0 if args.draft else sum(e not in selected for e in stale)
    if not to_render and not orphans:  # nothing to execute: torch is never imported
        removed = tidy_without_rendering(args.output_dir)
        if removed:
            print(f"render: removed {len(removed)} unfinished write(s) of an interrupted render: "
                  f"{', '.join(removed)}", file=sys.stderr)  # fmt: skip
        print(summary(["cached"] * len(examples), unselected_stale), file=sys.stderr)
        write_notebooks(args.output_dir)
        return 0
    try:
        outcomes, store = render(
            examples,
            to_render,
            settings,
            args.output_dir,
            progress=not args.quiet,
            jobs=jobs,
            require_alt=not args.draft,
        )
    except ModelUnavailableError as error:
        print(f"render: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("render: interrupted; the examples that finished are written and recorded, "
              "run it again to execute the rest", file=sys.stderr)  # fmt: skip
        return 130
    print(summary([o.status for o in outcomes], unselected_stale), file=sys.stderr)
    if store.import_seconds is not None:
        print(f"  imports  {store.import_seconds:7.2f} s  (libraries and lecture modules)",
              file=sys.stderr)  # fmt: skip
    for role, seconds in store.load_seconds.items():
        print(f"  model    {seconds:7.2f} s  {role} (load, or train a stand-in)", file=sys.stderr)
        for warning in store.load_warnings.get(role, []):  # declared: the render goes on
            print(f"           warned (declared): {warning.splitlines()[0]}", file=sys.stderr)
    for outcome in sorted(outcomes, key=lambda o: -o.duration):
        if outcome.status == "executed":
            print(
                f"  {outcome.status:8} {outcome.duration:7.2f} s  {outcome.example.id}",
                file=sys.stderr,
            )
    for outcome in outcomes:
        if outcome.status == "failed":
            print(f"render: FAILED {outcome.error}", file=sys.stderr)
    if args.report:
        write_report(args.report, outcomes)
    if args.draft:
        for outcome in outcomes:
            if outcome.status == "executed":
                drawn = sorted(args.output_dir.glob(f"{outcome.example.id}.*"))
                names = ", ".join(str(p) for p in drawn if p.suffix in (".png", ".html", ".txt"))
                print(f"render: draft of {outcome.example.id}: {names}", file=sys.stderr)
    write_notebooks(args.output_dir)
    return 1 if any(o.status == "failed" for o in outcomes) else 0


def write_report(path: Path, outcomes: list) -> None:
    """``{example id: {status, duration, error, traceback, warnings}}`` of what was executed."""
    import json

    report = {
        o.example.id: {"status": o.status, "duration": round(o.duration, 2), "error": o.error,
                       "traceback": o.traceback, "warnings": o.warnings}
        for o in outcomes if o.status != "cached"
    }  # fmt: skip
    mf.atomic_write(path, json.dumps(report, indent=1, ensure_ascii=False) + "\n")


def environment_problem() -> str:
    """One line when this environment cannot render what the lock promises: the lock is
    missing or older than ``pyproject.toml``, or installed packages differ from it (empty when
    all is well)."""
    try:
        path = lock.active_lock()
        if lock.PYPROJECT.is_file():
            lock.check_lock_matches(path)  # a lock older than pyproject.toml
        drift = lock.environment_drift(lock.read_lock(path))
    except lock.LockError as error:
        return str(error)
    return lock.drift_message(drift, path) if drift else ""


def is_site_output(output_dir: Path) -> bool:
    """Whether ``output_dir`` is the site's ``docs/generated/`` (whose pages the notebooks
    follow), not a folder of its own (``--output-dir``)."""
    return output_dir.resolve() == mf.GENERATED_DIR.resolve()


def notebook_problems(output_dir: Path) -> list[mf.Problem]:
    """What ``--check`` says of the notebooks: one problem per stale notebook, when the check is
    of the site's outputs (the notebooks are made from the pages and the site's examples)."""
    if not is_site_output(output_dir):
        return []
    from snippets.render import notebooks

    reason = ("differs from what the pages and the examples give now (an output added, moved or "
              "removed, or their code changed); the render rewrites it")  # fmt: skip
    try:
        stale = notebooks.stale_notebooks()
    except KeyError as error:  # a page includes the output of an example that does not exist
        folder = str(notebooks.NOTEBOOK_DIR.relative_to(mf.REPO_ROOT))
        return [mf.Problem("stale", folder, f"cannot be made: {error.args[0]}")]
    problems = [mf.Problem("stale", str(path.relative_to(mf.REPO_ROOT)), reason)
                for path in stale]  # fmt: skip
    for leftover in mf.leftovers(notebooks.NOTEBOOK_DIR):
        name = str(leftover.relative_to(mf.REPO_ROOT))
        problems.append(mf.Problem("orphaned", name, mf.LEFTOVER_REASON))
    return problems


def write_notebooks(output_dir: Path) -> None:
    """The notebooks follow the pages and the examples: rewrite the stale ones too (when the
    render wrote the site's outputs)."""
    if is_site_output(output_dir):
        from snippets.render import notebooks
        from snippets.render.render_lock import render_lock

        with render_lock(output_dir):  # one render at a time writes them, too
            mf.remove_leftovers(notebooks.NOTEBOOK_DIR)
            notebooks.main([])


if __name__ == "__main__":
    sys.exit(main())
