"""The project's commands. ``nox -l`` lists them; ``nox -s NAME -- ARGS`` passes ARGS through.

Sessions reuse their virtual environment; ``nox -R -s NAME`` also skips the install step.
"""

from __future__ import annotations

import subprocess

import nox

nox.needs_version = ">=2024.10.9"
nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"

PYTHON = "3.11"
LECTURE = ".[lecture]"
DOCS = ".[docs]"
TEST = ".[lecture,docs,test]"
RUFF = "ruff==0.17.6"


def _last_check_ok(session: nox.Session) -> bool:
    """True when ``render --check`` finds nothing stale; it imports neither torch nor
    transformers, so a frozen checkout builds with the documentation tools alone.

    Stops the session when the check cannot run (a damaged manifest, a malformed example)."""
    output = session.run(
        "python", "-m", "snippets.render", "--check", success_codes=[0, 1, 2], silent=True,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    text = output if isinstance(output, str) else ""
    if "are fresh" in text:
        return True
    if "problem(s)" not in text:
        session.error(text.strip() or "render --check failed")
    session.log(text.strip())
    return False


def _lecture_installed(session: nox.Session) -> bool:
    output = session.run(
        "python", "-c",
        "import importlib.util as u; print(all(u.find_spec(m) for m in "
        "('torch', 'transformers', 'bertviz')))",
        silent=True,
    )  # fmt: skip
    return isinstance(output, str) and output.strip().endswith("True")


@nox.session(python=PYTHON, reuse_venv=True)
def docs(session: nox.Session) -> None:
    """Render the examples that are stale, then build the site into site/ (the main job)."""
    session.install("-e", DOCS)
    if not _last_check_ok(session):
        session.install("-e", LECTURE)  # skipped under -R (--no-install)
        if not _lecture_installed(session):
            session.error(
                "Some outputs are stale and re-rendering them needs torch and transformers, "
                "which this environment lacks (`-R` skips installs): run `nox -s docs` "
                "without -R, or `nox -s render`."
            )
        session.run("python", "-m", "snippets.render", *session.posargs)
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session(python=PYTHON, reuse_venv=True)
def pdf(session: nox.Session) -> None:
    """Build the site, then print its print page to dist/intro-to-llms.pdf (needs Chromium)."""
    session.install("-e", DOCS)
    if not _last_check_ok(session):
        session.install("-e", LECTURE)
        session.run("python", "-m", "snippets.render")
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})
    session.run("python", "-m", "snippets.render.pdf", "site", "dist/intro-to-llms.pdf")


@nox.session(python=PYTHON, reuse_venv=True)
def render(session: nox.Session) -> None:
    """Run the examples and write docs/generated/ (-- --check, --profile, --device, --only)."""
    session.install("-e", LECTURE)
    session.run("python", "-m", "snippets.render", *session.posargs)  # and the notebooks


@nox.session(python=PYTHON, reuse_venv=True)
def hub(session: nox.Session) -> None:
    """Render every example with the hub profile in a copy and check it (-- --hf-home H)."""
    session.install("-e", ".[lecture,docs]")
    session.run("python", "-m", "snippets.render.hub", "check", *session.posargs)


@nox.session(python=PYTHON, reuse_venv=True)
def tests(session: nox.Session) -> None:
    """Lint, unit tests, Sybil over the pages, render --check, and mkdocs build --strict."""
    session.install("-e", TEST, RUFF)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("python", "-m", "snippets.render", "--check")
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON, reuse_venv=True)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check (pass -- --fix to fix what can be fixed)."""
    session.install(RUFF)
    if "--fix" in session.posargs:
        session.run("ruff", "check", "--fix", ".")
        session.run("ruff", "format", ".")
    else:
        session.run("ruff", "check", ".")
        session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON, reuse_venv=True)
def serve(session: nox.Session) -> None:
    """Serve the site with live reload on http://127.0.0.1:8000 (frozen assets)."""
    session.install("-e", DOCS)
    session.run("mkdocs", "serve", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session(python=PYTHON, reuse_venv=True)
def bench(session: nox.Session) -> None:
    """Benchmark renders, stand-in training, threads, no-op vs --check, frozen vs plain mkdocs."""
    session.install("-e", ".[lecture,docs]")
    session.run("python", "-m", "snippets.render.bench")
