"""The lock: one committed, fully resolved environment that every session and CI install.

``pyproject.toml``'s ranges say which releases the lecture is meant to work with; the lock says
which ones run. Three files in ``locks/``, made together by ``nox -s lock`` (this module, which
runs ``uv pip compile``) from the same inputs, so they agree on every version they share:

``linux-cpu.txt``
    Everything the sessions need (the extras ``lecture``, ``docs``, ``test``, ``dev`` and the
    build backend), for Linux x86_64 and Python 3.11, with torch's CPU build (``+cpu``) and the
    sha256 of every file. What CI, the tests and a laptop install.
``linux-cuda.txt``
    The same versions with torch's default PyPI build (CUDA) and the NVIDIA libraries it needs:
    what a GPU runner installs. Its torch has no ``+cpu`` label; nothing else differs.
``docs.txt``
    The subset that builds the site from committed outputs (no torch), at the same versions.

Why ``uv pip compile``: it resolves for a named platform and Python without installing
anything (torch's CUDA build is resolved from its metadata, not downloaded: gigabytes), writes
pip's requirements format with hashes (which plain ``pip install --require-hashes`` installs,
and pip is what finds torch's CPU wheel through its own configuration), keeps existing pins
unless asked to upgrade, and takes constraints, so the CUDA and docs files follow the CPU one.

Each file's header records a digest of the inputs it was made from (``pyproject-digest``); a
lock older than ``pyproject.toml`` is refused with the command that re-locks.

Standard library only: the noxfile imports it before any environment exists, and
``render --check`` uses it without torch.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = REPO_ROOT / "pyproject.toml"
LOCK_DIR = REPO_ROOT / "locks"
CPU_LOCK = "linux-cpu.txt"
CUDA_LOCK = "linux-cuda.txt"
DOCS_LOCK = "docs.txt"
LOCK_FILES = (CPU_LOCK, CUDA_LOCK, DOCS_LOCK)
EXTRAS = ("lecture", "docs", "test", "dev")
PYTHON_VERSION = "3.11"
PLATFORM = "x86_64-manylinux_2_28"  # the tag of torch 2.13.0's Linux wheels
DIGEST_PREFIX = "# pyproject-digest: "
# Where torch's CPU builds are published (pip and uv look here when its host resolves).
TORCH_CPU_LINKS = "https://download.pytorch.org/whl/torch/"
RELOCK = "nox -s lock"
# The environment variable that names another lock (a drift run's candidate).
LOCK_VARIABLE = "LECTURE_LOCK"


class LockError(RuntimeError):
    """The lock cannot be used or made; the message names the file and the command to run."""


def canonical(name: str) -> str:
    """A distribution name as PEP 503 normalizes it (``Jinja2`` -> ``jinja2``, ``a_b`` ->
    ``a-b``), the form the lock files use."""
    return re.sub(r"[-_.]+", "-", name).lower()


def public_version(version: str) -> str:
    """``version`` without its local label (PEP 440): ``2.13.0+cpu`` -> ``2.13.0``. torch's
    label names its build (CPU, CUDA 12.8), not another release of the code."""
    return version.split("+", 1)[0]


def input_digest(pyproject: Path = PYPROJECT) -> str:
    """sha256 of what the lock is made from: the Python requirement, the dependencies, the
    extras and the build backend of ``pyproject.toml`` (not its other tables)."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    project = data.get("project", {})
    inputs = {
        "requires-python": project.get("requires-python"),
        "dependencies": project.get("dependencies", []),
        "optional-dependencies": project.get("optional-dependencies", {}),
        "build-system": data.get("build-system", {}).get("requires", []),
        "python": PYTHON_VERSION,
        "platform": PLATFORM,
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def active_lock() -> Path:
    """The lock this process answers to: ``$LECTURE_LOCK`` (a drift run's candidate), else
    ``locks/linux-cpu.txt``. Both lock files of a set hold the same versions but torch's label."""
    return Path(os.environ.get(LOCK_VARIABLE) or LOCK_DIR / CPU_LOCK)


# A lock entry's first line: ``name==version`` (an extra in brackets allowed), then `` \`` and
# its hashes on continuation lines; uv's ``# via ...`` notes follow it.
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


@dataclass(frozen=True)
class _Entry:
    """One package of a lock file."""

    version: str
    lines: list[str]  # its ``name==version`` line and the hash lines that continue it
    notes: list[str]  # the comment lines under it (``# via ...``)


def _entries(path: Path) -> dict[str, _Entry]:
    """``{canonical name: its entry}`` of a lock file, in the file's order.

    Raises:
        LockError: the file does not exist (names it and the command that makes it).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LockError(f"{_show(path)} does not exist: make it with `{RELOCK}`") from None
    entries: dict[str, _Entry] = {}
    current, continued = None, False
    for line in text.splitlines():
        match = _PIN.match(line)
        if match:
            current = _Entry(match[2], [line], [])
            entries[canonical(match[1])] = current
        elif current is not None and continued:
            current.lines.append(line)
        elif current is not None and line.lstrip().startswith("#"):
            current.notes.append(line)
        continued = line.rstrip().endswith("\\")
    return entries


def read_lock(path: Path) -> dict[str, str]:
    """``{canonical name: version}`` of every ``name==version`` line of a lock file.

    Raises:
        LockError: the file does not exist (names it and the command that makes it).
    """
    return {name: entry.version for name, entry in _entries(path).items()}


def lock_entry(path: Path, name: str) -> str:
    """The lines of one package in a lock file (its ``name==version`` line and its hashes), as
    a requirements file of its own: how the sessions install uv and ruff before the rest.

    Raises:
        LockError: the lock does not name the package.
    """
    entry = _entries(path).get(canonical(name))
    if entry is None:
        raise LockError(f"{_show(path)} does not name {name}: re-lock with `{RELOCK}`")
    return "\n".join(entry.lines) + "\n"


def _required_by(entries: dict[str, _Entry]) -> dict[str, tuple[str, ...]]:
    found = {}
    for name, entry in entries.items():
        by = set()
        for note in entry.notes:
            words = note.lstrip("# ").removeprefix("via").split()
            if words and canonical(words[0]) in entries and canonical(words[0]) != name:
                by.add(canonical(words[0]))
        found[name] = tuple(sorted(by))
    return found


def required_by(path: Path) -> dict[str, tuple[str, ...]]:
    """``{canonical name: the locked packages that require it}``, from the ``# via`` notes
    ``uv pip compile`` writes under each entry (this project's own extras are left out).

    Raises:
        LockError: the file does not exist.
    """
    return _required_by(_entries(path))


def requirements_of(path: Path, roots: list[str]) -> str:
    """A requirements file (with hashes) of the locked packages ``roots`` and of everything
    they need, at the lock's versions: the environment of a program that imports only them
    (a downloaded notebook).

    Raises:
        LockError: the lock does not name one of ``roots``.
    """
    entries = _entries(path)
    needs = _required_by(entries)
    wanted = {canonical(name) for name in roots}
    missing = sorted(wanted - set(needs))
    if missing:
        raise LockError(f"{_show(path)} does not name {', '.join(missing)}")
    grew = True
    while grew:  # add every package that a wanted package requires
        more = {name for name, by in needs.items() if wanted.intersection(by)} - wanted
        wanted |= more
        grew = bool(more)
    return "".join("\n".join(entries[name].lines) + "\n" for name in sorted(wanted))


def recorded_digest(path: Path) -> str | None:
    """The ``pyproject-digest`` in a lock file's header (None: it has none)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(DIGEST_PREFIX):
            return line.removeprefix(DIGEST_PREFIX).strip()
    return None


def check_lock_matches(path: Path, pyproject: Path = PYPROJECT) -> None:
    """Refuse a lock made from other inputs than today's ``pyproject.toml``.

    Raises:
        LockError: one line naming the file and the command that re-locks.
    """
    if not path.exists():
        raise LockError(f"{_show(path)} does not exist: make it with `{RELOCK}`")
    if recorded_digest(path) != input_digest(pyproject):
        raise LockError(
            f"{_show(path)} was made from another pyproject.toml (its dependencies, extras or "
            f"build backend changed since): re-lock with `{RELOCK}` and commit locks/"
        )


@dataclass(frozen=True)
class Drift:
    """One installed distribution whose version is not the locked one."""

    name: str
    locked: str
    installed: str

    def __str__(self) -> str:
        return f"{self.name} {self.installed} (locked {self.locked})"


def installed_versions() -> dict[str, str]:
    """``{canonical name: version}`` of every distribution importable in this environment."""
    versions: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            versions.setdefault(canonical(name), dist.version)
    return versions


def environment_drift(lock: dict[str, str], installed: dict[str, str] | None = None) -> list[Drift]:
    """The locked distributions installed here at another version (torch's build label does
    not count); what is not installed, and what the lock does not name, do not count either
    (the documentation environment holds a subset; a GPU runner adds NVIDIA libraries)."""
    installed = installed_versions() if installed is None else installed
    return [
        Drift(name, version, installed[name])
        for name, version in sorted(lock.items())
        if name in installed and public_version(installed[name]) != public_version(version)
    ]


# Named first when they differ: the libraries that shape the lecture's outputs.
FIRST = (
    "transformers",
    "torch",
    "tokenizers",
    "huggingface-hub",
    "safetensors",
    "numpy",
    "matplotlib",
    "bertviz",
)


def drift_message(drift: list[Drift], lock: Path) -> str:
    """One line: which packages differ from ``lock`` (the output-shaping libraries first) and
    the two commands that fix it (the drift run tries the installed versions of the first three,
    without their build labels)."""
    drift = sorted(
        drift, key=lambda d: (FIRST.index(d.name) if d.name in FIRST else len(FIRST), d.name)
    )
    shown = ", ".join(str(d) for d in drift[:6]) + (
        f" and {len(drift) - 6} more" * (len(drift) > 6)
    )
    try_them = " ".join(
        f"--upgrade-package {d.name}=={public_version(d.installed)}" for d in drift[:3]
    )
    return (
        f"the installed environment differs from the lock {_show(lock)}: {shown}. Install the "
        "lock (every nox session does: `nox -s tests`, `nox -s render`), or see what the "
        f"installed versions would change with `nox -s drift -- {try_them}`"
    )


def _show(path: Path) -> str:
    path = Path(path)
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


# --- Making the lock (uv) --------------------------------------------------------------------


# The project is installed editable by ``uv pip sync --no-build-isolation``: built with the
# environment's own setuptools, never one fetched unpinned at build time. A new venv holds
# Python's bundled setuptools (65.5 on 3.11: no ``bdist_wheel`` without ``wheel``), so the lock's
# own build backend, with its hash, is installed before the sync that builds the project. uv
# orders nothing by itself: with a warm download cache it happened to install the lock's
# setuptools first, with an empty one it built with 65.5 and failed.
BUILD_BACKEND = "setuptools"
BOOTSTRAPPED = ".lecture-bootstrapped"  # written once the venv and its uv are complete
# What the environment was last synced to, written when a sync finished (and removed before one
# starts): the lock's digest and the modification time of site-packages then. A missing stamp in
# a bootstrapped environment means the last sync did not finish (Ctrl-C, a lost connection):
# uv may have left a package half-written (a dist-info without METADATA was seen), which a plain
# sync does not notice, so the next sync reinstalls every package.
SYNCED = ".lecture-synced"
# uv, unlike pip, leaves Python files uncompiled; with no bytecode (or with
# PYTHONDONTWRITEBYTECODE set, as on this project's CI machines, so that none is ever written)
# every process compiles torch's and transformers' modules again: importing them took 8.9 s
# against 4.7 s with bytecode here, in each render, notebook kernel and test subprocess.
# Compiling the whole environment once costs about 24 s (2 cores). Part of the stamp, so that an
# environment synced without it is synced (and compiled) once more.
INSTALL_OPTIONS = ("--compile-bytecode",)


def bootstrap_environment(
    env: Path,
    interpreter: Callable[[], str],
    run: Callable[[str, list[str]], object],
    log: Callable[[str], object],
) -> Path:
    """Make ``env`` a virtual environment of ``interpreter()`` (asked only then) holding the
    lock's uv (hash checked), unless it is one already; return its Python.

    An environment whose making was interrupted (Ctrl-C, a lost connection) has no
    ``BOOTSTRAPPED`` marker: it is removed and made again, never used half-made. ``run(what,
    command)`` runs one step (and stops the caller when it fails); ``log`` says what happens.
    """
    python = env / "bin" / "python"
    if (env / BOOTSTRAPPED).exists() and python.exists():
        return python
    if env.exists():
        log(
            f"{_show(env)} has no record of a finished set-up (an interrupted install, or one "
            "made by an older version of this project): making it again"
        )
        shutil.rmtree(env)
    run("making the environment", [interpreter(), "-m", "venv", str(env)])
    with tempfile.TemporaryDirectory() as scratch:
        entry = Path(scratch) / "uv.txt"
        entry.write_text(lock_entry(LOCK_DIR / CPU_LOCK, "uv"))
        run("installing uv at the lock's version",
            [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--require-hashes",
             "--disable-pip-version-check", "-r", str(entry)])  # fmt: skip
    (env / SYNCED).write_text("bootstrapped, not synced yet\n")
    (env / BOOTSTRAPPED).write_text("venv and uv installed; the lock is synced by every session\n")
    return python


def _sync_state(env: Path, lock_file: Path) -> str:
    """What a finished sync of ``lock_file`` into ``env`` leaves: the lock's digest, the project's
    folder and site-packages' modification time (a package added or removed by hand moves it)."""
    digest = hashlib.sha256(lock_file.read_bytes() + str(REPO_ROOT).encode()).hexdigest()
    site = next((env / "lib").glob("python*/site-packages"), env)
    return f"{digest} {site.stat().st_mtime_ns} {' '.join(INSTALL_OPTIONS)}\n"


def sync_environment(
    env: Path,
    lock_file: Path,
    run: Callable[[str, list[str]], object],
    log: Callable[[str], object],
    uv: str | None = None,
) -> bool:
    """Make the bootstrapped environment ``env`` hold exactly ``lock_file`` and this project,
    editable (:func:`install_commands`), unless its ``SYNCED`` stamp shows it does already
    (nothing run: a few file reads). Returns whether it ran the install.

    After an unfinished sync (no stamp) every package is reinstalled, since uv does not repair a
    package it was interrupted writing. ``uv`` defaults to the environment's own.
    """
    stamp = env / SYNCED
    recorded = stamp.read_text() if stamp.exists() else None
    if recorded == _sync_state(env, lock_file):
        return False
    reinstall = recorded is None
    if reinstall:
        log("the last install into this environment did not finish: reinstalling every package")
    stamp.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        commands = install_commands(uv or str(env / "bin" / "uv"), env / "bin" / "python",
                                    lock_file, Path(scratch), reinstall)  # fmt: skip
        for command in commands:
            run("installing the lock and the project (editable)", command)
    stamp.write_text(_sync_state(env, lock_file))
    return True


def install_commands(
    uv: str, python: Path, lock_file: Path, scratch: Path, reinstall: bool = False
) -> list[list[str]]:
    """The commands that make ``python``'s environment hold exactly ``lock_file`` (hashes
    checked) and this project, editable; anything else is removed. First the lock's build
    backend (see ``BUILD_BACKEND``), then ``uv pip sync`` of the lock and the project, built
    without isolation by that backend (``--reinstall`` with ``reinstall``), every module compiled
    to bytecode (``INSTALL_OPTIONS``). Writes their
    requirements files into the folder ``scratch``. A CPU lock also finds torch's CPU build
    (:func:`torch_cpu_sources`).

    Raises:
        LockError: the lock does not name the build backend.
    """
    backend = scratch / "build-backend.txt"
    backend.write_text(lock_entry(lock_file, BUILD_BACKEND))
    wanted = scratch / "requirements.txt"
    wanted.write_text(f"-e {REPO_ROOT}\n-r {lock_file}\n")
    sources = torch_cpu_sources() if lock_file.name == CPU_LOCK else []
    again = ["--reinstall"] if reinstall else []
    return [
        [uv, "pip", "install", "--python", str(python), "--no-deps", "--require-hashes",
         "--quiet", *again, "-r", str(backend)],
        [uv, "pip", "sync", "--python", str(python), "--no-build-isolation", *INSTALL_OPTIONS,
         *sources, *again, str(wanted)],
    ]  # fmt: skip


def torch_cpu_sources() -> list[str]:
    """uv arguments where torch's CPU build can be found: the local folders of pip's own
    ``find-links`` setting (as on machines that keep the wheel on disk), and PyTorch's
    download page when its host name resolves."""
    args = []
    for folder in pip_find_links():
        args += ["--find-links", folder]
    if host_resolves(TORCH_CPU_LINKS):
        args += ["--find-links", TORCH_CPU_LINKS]
    return args


def pip_find_links() -> list[str]:
    """Local folders in pip's ``find-links`` setting (``PIP_FIND_LINKS``, then ``pip config``)."""
    value = os.environ.get("PIP_FIND_LINKS", "")
    if not value:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True
        )
        for line in result.stdout.splitlines():
            key, _, setting = line.partition("=")
            if key.endswith(".find-links"):
                value += " " + setting.strip("'\"")
    return [p for p in value.split() if Path(p).is_dir()]


def host_resolves(url: str) -> bool:
    """Whether the host name of ``url`` resolves (no network: answered in milliseconds)."""
    from urllib.parse import urlparse

    try:
        socket.getaddrinfo(urlparse(url).hostname, 443)
    except OSError:
        return False
    return True


def header(description: str, digest: str) -> str:
    return (
        f"# {description}\n"
        f"# Made by `{RELOCK}` (uv pip compile) from pyproject.toml; do not edit by hand.\n"
        f"{DIGEST_PREFIX}{digest}\n"
    )


def compile_locks(
    output: Path = LOCK_DIR,
    upgrade: bool = False,
    upgrade_packages: tuple[str, ...] = (),
    uv: str = "uv",
    pyproject: Path = PYPROJECT,
) -> list[Path]:
    """Write the three lock files into ``output`` with ``uv pip compile``.

    Existing pins in ``output`` are kept unless ``upgrade`` (every package: the newest releases
    the ranges allow) or ``upgrade_packages`` (``transformers`` or ``transformers==5.26.0``).
    The CPU lock is resolved first; the CUDA and docs locks are constrained to its versions.
    Each file is written whole or not at all.

    Raises:
        LockError: uv is missing, or cannot resolve (its message is included).
    """
    if shutil.which(uv) is None:
        raise LockError(f"uv is not installed: `{RELOCK}` installs it")
    output.mkdir(parents=True, exist_ok=True)
    digest = input_digest(pyproject)
    build = tomllib.loads(pyproject.read_text(encoding="utf-8"))["build-system"]["requires"]
    common = [
        "--python-version",
        PYTHON_VERSION,
        "--python-platform",
        PLATFORM,
        "--generate-hashes",
        "--no-header",
        "--quiet",
    ]
    upgrades = ["--upgrade"] if upgrade else []
    for package in upgrade_packages:
        upgrades += ["--upgrade-package", package]
    with tempfile.TemporaryDirectory(prefix="lock-") as scratch:
        work = Path(scratch)
        shutil.copy(pyproject, work / "pyproject.toml")
        (work / "build.in").write_text("\n".join(build) + "\n")
        extras = [arg for extra in EXTRAS for arg in ("--extra", extra)]
        cpu = work / CPU_LOCK
        if (output / CPU_LOCK).exists():
            shutil.copy(output / CPU_LOCK, cpu)  # existing pins are uv's preferences
        _uv(
            uv,
            [
                "pyproject.toml",
                "build.in",
                *extras,
                *common,
                *upgrades,
                *torch_cpu_sources(),
                "-o",
                CPU_LOCK,
            ],
            work,
        )
        pins = read_lock(cpu)
        if "+cpu" not in pins.get("torch", ""):
            raise LockError(
                f"uv resolved torch {pins.get('torch')}, not its CPU build: give pip's "
                "find-links a folder with torch's CPU wheel, or reach download.pytorch.org"
            )
        constraints = work / "constraints.txt"
        constraints.write_text(
            "".join(f"{name}=={version}\n" for name, version in pins.items() if name != "torch")
        )
        torch_pin = work / "torch.in"
        torch_pin.write_text(f"torch=={public_version(pins['torch'])}\n")
        _uv(
            uv,
            [
                "pyproject.toml",
                "build.in",
                *extras,
                *common,
                "-c",
                "constraints.txt",
                "-c",
                "torch.in",
                "-o",
                CUDA_LOCK,
            ],
            work,
        )
        _uv(
            uv,
            [
                "pyproject.toml",
                "build.in",  # the sessions install the project itself, editable
                "--extra",
                "docs",
                *common,
                "-c",
                "constraints.txt",
                "-o",
                DOCS_LOCK,
            ],
            work,
        )
        descriptions = {
            CPU_LOCK: "The lecture's environment, fully resolved: Linux x86_64, Python "
            f"{PYTHON_VERSION}, torch's CPU build.",
            CUDA_LOCK: "The same environment with torch's CUDA build (PyPI's default) and the "
            "NVIDIA libraries it needs: for GPU runners.",
            DOCS_LOCK: "What building the site from committed outputs needs (no torch; the "
            "project's build backend), at the "
            "versions of linux-cpu.txt.",
        }
        texts = {
            name: header(descriptions[name], digest) + (work / name).read_text()
            for name in LOCK_FILES
        }
    for name, text in texts.items():  # all three were resolved: now replace them
        temporary = output / f".{name}.tmp"
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, output / name)
    return [output / name for name in LOCK_FILES]


def _uv(uv: str, args: list[str], cwd: Path) -> None:
    """``uv pip compile`` in ``cwd``, where the inputs lie (their names appear in the lock's
    ``# via`` lines: plain names, not temporary paths)."""
    result = subprocess.run([uv, "pip", "compile", *args], capture_output=True, text=True, cwd=cwd)
    if result.returncode != 0:
        raise LockError(f"uv pip compile failed:\n{result.stderr.strip()}")


def compare(old: dict[str, str], new: dict[str, str]) -> list[tuple[str, str | None, str | None]]:
    """``(name, old version, new version)`` of every package that differs (None: absent)."""
    return [
        (name, old.get(name), new.get(name))
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m snippets.render.lock",
        description="Make locks/ from pyproject.toml with uv (what `nox -s lock` runs), or "
        "check that it is current.",
    )
    add = parser.add_argument
    add("--check", action="store_true", help="only check that every lock matches pyproject.toml")
    add("--upgrade", action="store_true", help="every package to the newest the ranges allow")
    add(
        "--upgrade-package",
        action="append",
        default=[],
        metavar="SPEC",
        help="move one package (name, or name==version); repeatable",
    )
    add("--output-dir", type=Path, default=LOCK_DIR, help="where the lock files go (locks/)")
    args = parser.parse_args(argv)
    try:
        if args.check:
            for name in LOCK_FILES:
                check_lock_matches(args.output_dir / name)
            print(f"lock: {_show(args.output_dir)} matches pyproject.toml")
            return 0
        before = (
            read_lock(args.output_dir / CPU_LOCK) if (args.output_dir / CPU_LOCK).exists() else {}
        )
        compile_locks(args.output_dir, args.upgrade, tuple(args.upgrade_package))
    except LockError as error:
        print(f"lock: {error}", file=sys.stderr)
        return 2
    changes = compare(before, read_lock(args.output_dir / CPU_LOCK))
    print(
        f"lock: wrote {', '.join(LOCK_FILES)} in {_show(args.output_dir)}; "
        f"{len(changes)} package(s) changed"
    )
    for name, old, new in changes:
        print(f"  {name}: {old or '-'} -> {new or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
