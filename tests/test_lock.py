"""The lock (locks/), freshness apart from provenance, and a GPU runner's render on CPU CI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from snippets.render import lock
from snippets.render import manifest as mf
from snippets.render.examples import discover_examples

REPO = Path(__file__).resolve().parent.parent
NVIDIA = ("nvidia-", "triton", "cuda-")  # what only torch's CUDA build pulls in


def test_names_and_versions_are_read_as_pip_compares_them(tmp_path: Path):
    path = tmp_path / "lock.txt"
    path.write_text(
        "# header\nJinja2==3.1.6 \\\n    --hash=sha256:00\ntorch==2.13.0+cpu \\\n"
        "    --hash=sha256:11\n    # via x\nruamel.yaml==0.18.1 ; sys_platform == 'linux'\n"
    )
    assert lock.read_lock(path) == {
        "jinja2": "3.1.6", "torch": "2.13.0+cpu", "ruamel-yaml": "0.18.1"
    }  # fmt: skip
    assert lock.lock_entry(path, "torch") == "torch==2.13.0+cpu \\\n    --hash=sha256:11\n"
    assert lock.public_version("2.13.0+cu128") == lock.public_version("2.13.0") == "2.13.0"
    with pytest.raises(lock.LockError, match="does not name ruff"):
        lock.lock_entry(path, "ruff")


def test_the_committed_locks_are_made_from_todays_pyproject():
    for name in lock.LOCK_FILES:
        lock.check_lock_matches(lock.LOCK_DIR / name)  # raises when stale


def test_the_three_locks_agree_on_every_version_they_share():
    cpu = lock.read_lock(lock.LOCK_DIR / lock.CPU_LOCK)
    cuda = lock.read_lock(lock.LOCK_DIR / lock.CUDA_LOCK)
    docs = lock.read_lock(lock.LOCK_DIR / lock.DOCS_LOCK)
    assert cpu["torch"].endswith("+cpu") and "+" not in cuda["torch"]
    assert lock.public_version(cpu["torch"]) == cuda["torch"] == "2.13.0"
    differing = {n for n in set(cpu) | set(cuda) if cpu.get(n) != cuda.get(n)} - {"torch"}
    assert all(name.startswith(NVIDIA) for name in differing), sorted(differing)
    assert {n for n in cuda if n.startswith("nvidia-")}, "the CUDA lock has no CUDA libraries"
    assert {name: cpu[name] for name in docs} == docs  # the subset, at the same versions
    assert "torch" not in docs and "mkdocs-material" in docs
    # the tools the sessions bootstrap are locked too, with their hashes
    for tool in ("uv", "ruff", "setuptools"):
        assert "--hash=sha256:" in lock.lock_entry(lock.LOCK_DIR / lock.CPU_LOCK, tool)


def test_a_lock_older_than_pyproject_is_refused_with_the_command_that_relocks(tmp_path: Path):
    pyproject = tmp_path / "pyproject.toml"
    text = (REPO / "pyproject.toml").read_text()
    pyproject.write_text(text)
    lock.check_lock_matches(lock.LOCK_DIR / lock.CPU_LOCK, pyproject)
    pyproject.write_text(text.replace('"tqdm>=4.66",', '"tqdm>=4.66",\n    "rich>=13",'))
    with pytest.raises(lock.LockError) as raised:
        lock.check_lock_matches(lock.LOCK_DIR / lock.CPU_LOCK, pyproject)
    message = str(raised.value)
    assert "locks/linux-cpu.txt" in message and "`nox -s lock`" in message
    assert "\n" not in message
    # prose elsewhere in pyproject.toml does not count
    pyproject.write_text(text.replace('description = "', 'description = "Renamed: '))
    lock.check_lock_matches(lock.LOCK_DIR / lock.CPU_LOCK, pyproject)


def test_this_environment_is_the_locked_one():
    """What the sessions install is what the lock says (torch's build label aside)."""
    assert lock.environment_drift(lock.read_lock(lock.active_lock())) == []


def test_drift_names_the_packages_first_that_shape_outputs_and_both_fixes():
    locked = {"transformers": "5.24.0", "torch": "2.13.0+cpu", "idna": "3.10", "absent": "1"}
    installed = {"transformers": "5.25.0", "torch": "2.13.0+cu128", "idna": "3.11", "x": "9"}
    drift = lock.environment_drift(locked, installed)
    assert [(d.name, d.locked, d.installed) for d in drift] == [
        ("idna", "3.10", "3.11"),
        ("transformers", "5.24.0", "5.25.0"),
    ]  # torch's build label is not a version; what is absent or unlocked does not count
    message = lock.drift_message(drift, lock.LOCK_DIR / lock.CPU_LOCK)
    assert message.index("transformers 5.25.0 (locked 5.24.0)") < message.index("idna")
    assert "nox -s tests" in message and "\n" not in message
    assert message.endswith(
        "`nox -s drift -- --upgrade-package transformers==5.25.0 --upgrade-package idna==3.11`"
    )


def _fake_distribution(folder: Path, name: str, version: str) -> None:
    info = folder / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def test_check_with_a_newer_transformers_installed_says_so_in_one_line(tmp_path: Path):
    """What a fresh clone met when transformers 5.25.0 came out: one line naming it and both
    commands, not 36 stale examples. (The installed metadata is faked: a folder on
    ``PYTHONPATH`` ahead of site-packages holds a newer ``transformers`` dist-info.)"""
    newer = lock.read_lock(lock.active_lock())["transformers"].split(".")
    newer[1] = str(int(newer[1]) + 1)
    _fake_distribution(tmp_path, "transformers", ".".join(newer))
    result = subprocess.run(
        [sys.executable, "-m", "snippets.render", "--check"],
        cwd=REPO, capture_output=True, text=True, env={"PYTHONPATH": str(tmp_path), "PATH": ""},
    )  # fmt: skip
    assert result.returncode == 1
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert f"transformers {'.'.join(newer)} (locked " in lines[0]
    assert "nox -s drift" in lines[0] and "stale" not in lines[0]
    render = subprocess.run(
        [sys.executable, "-m", "snippets.render", "--only", "history-timeline"],
        cwd=REPO, capture_output=True, text=True, env={"PYTHONPATH": str(tmp_path), "PATH": ""},
    )  # fmt: skip
    assert render.returncode == 2 and "differs from the lock" in render.stderr


def test_a_lock_that_moves_makes_the_examples_of_its_libraries_stale(tmp_path: Path, monkeypatch):
    moved = tmp_path / "candidate.txt"
    text = (lock.LOCK_DIR / lock.CPU_LOCK).read_text()
    old = lock.read_lock(lock.LOCK_DIR / lock.CPU_LOCK)["matplotlib"]
    moved.write_text(text.replace(f"matplotlib=={old} ", "matplotlib==99.0.0 "))
    monkeypatch.setenv(lock.LOCK_VARIABLE, str(moved))
    problems, stale, _ = mf.check(discover_examples(), None)
    figures = {e.id for e in discover_examples() if "matplotlib" in e.libraries}
    assert {e.id for e in stale} == figures and figures
    assert all(f"matplotlib {old} -> 99.0.0" in p.reason for p in problems)


def _as_a_gpu_runner_writes_it(folder: Path) -> None:
    """Rewrite the manifest (and fragments) of a copy of docs/generated as ``render --profile
    hub --device cuda`` writes them on a GPU runner with torch's CUDA build: keys of the hub
    profile on cuda, provenance ``torch 2.13.0+cu128``, an H200 in the captions."""
    manifest = mf.Manifest.read(folder)
    settings = mf.RenderSettings("hub", "cuda")
    locked = mf.locked_versions()
    examples = {e.id: e for e in discover_examples()}
    for example_id, entry in manifest.entries.items():
        example = examples[example_id]
        parts = mf.key_parts(example, settings, locked)
        installed = {**mf.library_versions(), "torch": "2.13.0+cu128"}
        new = mf.Entry.create(example, parts, "cuda (NVIDIA H200)", dict(entry.outputs),
                              mf.provenance(example, installed), entry.warnings)  # fmt: skip
        name = f"{example_id}.md"
        (folder / name).write_text(mf.current_fragment(example, new, folder))
        new.outputs[name] = mf.sha256_file(folder / name)
        manifest.entries[example_id] = new
    manifest.write()


def test_a_gpu_runners_render_is_fresh_for_cpu_ci(tmp_path: Path):
    folder = tmp_path / "generated"
    shutil.copytree(mf.GENERATED_DIR, folder, ignore=shutil.ignore_patterns(".*"))
    _as_a_gpu_runner_writes_it(folder)
    data = json.loads((folder / mf.MANIFEST_NAME).read_text())["examples"]
    entry = data["tokenization-summary"]
    assert entry["provenance"]["versions"]["torch"] == "2.13.0+cu128"
    assert entry["key_parts"]["device"] == "cuda" and entry["key_parts"]["profile"] == "hub"
    assert "torch 2.13.0+cu128" in (folder / "tokenization-summary.md").read_text()
    problems, stale, refresh = mf.check(discover_examples(), None, folder)
    assert (problems, stale, refresh) == ([], [], [])
    # The tests that compare a render here with the committed files skip such entries.
    from tests.reproduce import reproducible_here

    assert not any(reproducible_here(e) for e in mf.Manifest.read(folder).entries.values())


def test_requirements_of_a_program_follow_the_lock():
    """The locked packages a program that imports transformers needs: its requirements, by the
    lock's "# via" notes, with their hashes; nothing else of the lock."""
    path = lock.LOCK_DIR / lock.CPU_LOCK
    text = lock.requirements_of(path, ["transformers"])
    names = {line.split("==")[0] for line in text.splitlines() if "==" in line}
    assert {"transformers", "tokenizers", "safetensors", "huggingface-hub", "numpy"} <= names
    assert not names & {"torch", "mkdocs", "pytest", "ruff"}
    assert text.count("--hash=sha256:") >= len(names)
    assert lock.required_by(path)["tokenizers"] == ("sentence-transformers", "transformers")
    with pytest.raises(lock.LockError, match="does not name leftpad"):
        lock.requirements_of(path, ["leftpad"])


# -- Installing the lock on a fresh machine, and after an interrupted install -----------------


def _fake_runner(env: Path, calls: list[list[str]]):
    """A ``run`` that records commands and does what the real ones leave behind: ``venv`` makes
    ``bin/python`` and a site-packages folder, a sync adds a package there."""

    def run(what: str, command: list[str]) -> None:
        calls.append(command)
        if command[1:3] == ["-m", "venv"]:
            (env / "bin").mkdir(parents=True)
            (env / "bin" / "python").touch()
            (env / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
        if command[1:3] == ["pip", "sync"]:
            (env / "lib" / "python3.11" / "site-packages" / f"package-{len(calls)}").touch()

    return run


def test_the_build_backend_is_installed_before_the_sync_that_builds_the_project(tmp_path: Path):
    """On an empty download cache uv built the project with the new venv's setuptools 65.5 (no
    bdist_wheel) before installing the lock's: the lock's setuptools now comes first, hashed."""
    commands = lock.install_commands("uv", Path("python"), lock.LOCK_DIR / lock.CPU_LOCK, tmp_path)
    (backend, sync) = commands
    assert backend[:3] == ["uv", "pip", "install"] and "--require-hashes" in backend
    entry = (tmp_path / "build-backend.txt").read_text()
    assert entry.startswith(
        f"setuptools=={lock.read_lock(lock.LOCK_DIR / lock.CPU_LOCK)['setuptools']} "
    )
    assert "--hash=sha256:" in entry
    assert sync[:3] == ["uv", "pip", "sync"] and "--no-build-isolation" in sync
    # uv leaves modules uncompiled unless told: every process would compile torch's again
    assert "--compile-bytecode" in sync
    assert (tmp_path / "requirements.txt").read_text().startswith(f"-e {lock.REPO_ROOT}\n")


def test_an_interrupted_set_up_is_made_again_and_an_interrupted_sync_reinstalls(tmp_path: Path):
    env, calls, said = tmp_path / "env", [], []
    run = _fake_runner(env, calls)
    lock_file = lock.LOCK_DIR / lock.DOCS_LOCK
    # a venv whose set-up stopped before uv was installed: no marker, so removed and made again
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").touch()
    (env / "half-written").touch()
    lock.bootstrap_environment(env, lambda: "python3.11", run, said.append)
    assert "has no record of a finished set-up" in said[0] and not (env / "half-written").exists()
    assert [c[1:3] for c in calls] == [["-m", "venv"], ["-m", "pip"]]
    # the first sync after the set-up is a plain one
    calls.clear()
    assert lock.sync_environment(env, lock_file, run, said.append)
    assert [c[1:3] for c in calls] == [["pip", "install"], ["pip", "sync"]]
    assert not any("--reinstall" in c for c in calls)
    # nothing changed since: nothing runs
    calls.clear()
    assert not lock.sync_environment(env, lock_file, run, said.append) and calls == []
    # an environment synced by an older recipe (before bytecode was compiled) is synced again,
    # a plain sync: nothing was interrupted
    stamp = env / lock.SYNCED
    stamp.write_text(stamp.read_text().replace(" --compile-bytecode", ""))
    calls.clear()
    assert lock.sync_environment(env, lock_file, run, said.append)
    assert len(calls) == 2 and not any("--reinstall" in c for c in calls)
    # a package added by hand moves site-packages: synced again (uv removes it)
    (env / "lib" / "python3.11" / "site-packages" / "extra").touch()
    assert lock.sync_environment(env, lock_file, run, said.append)

    # a sync that did not finish (Ctrl-C): the stamp is gone, so every package is reinstalled
    def interrupted(what: str, command: list[str]) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        lock.sync_environment(env, lock.LOCK_DIR / lock.CPU_LOCK, interrupted, said.append)
    calls.clear()
    assert lock.sync_environment(env, lock_file, run, said.append)
    assert said[-1].startswith("the last install into this environment did not finish")
    assert all("--reinstall" in c for c in calls) and len(calls) == 2
