"""The notebooks are the pages' code; they run top to bottom in a clone on the offline profile,
and without a clone, in an environment of nothing but the locked libraries, on the hub
profile's models (a simulated HuggingFace cache, no network)."""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from snippets.profiles import ROLES, checkpoint
from snippets.render import hub, lock, notebooks
from snippets.render.examples import discover_examples

REPO = Path(__file__).resolve().parent.parent
# The kernels compute with one thread, as the renderer runs examples (INFERENCE_THREADS): on a
# machine shared with other jobs, two threads of a 124M-parameter GPT-2 wait on each other
# (the homework notebook here: 31 s on one thread, 56 s on two, with the other core busy).
ONE_THREAD = {"OMP_NUM_THREADS": "1"}


def committed(name: str) -> nbformat.NotebookNode:
    """The committed notebook ``docs/notebooks/<name>.ipynb``."""
    return nbformat.read(notebooks.NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)


def test_notebooks_are_up_to_date():
    assert notebooks.main(["--check"]) == 0


def test_notebooks_hold_exactly_the_examples_of_their_pages():
    """Every output a page includes is in its notebook, in page order, and nothing else."""
    import re

    include = re.compile(r'^[ \t]*--8<-- "docs/generated/([\w-]+)\.md"$', re.MULTILINE)
    examples = {e.id: e.function for e in discover_examples()}
    for name in notebooks.TITLES:
        on_pages = []
        for page in notebooks.nav_pages():
            if notebooks.notebook_of(page) == name:
                on_pages += include.findall((REPO / "docs" / page).read_text())
        notebook = committed(name)
        assert notebooks.called_examples(notebook) == [examples[i] for i in on_pages], name
    assert notebooks.notebook_of("homework.md") == "homework"
    assert notebooks.notebook_of("attention.md") == "lecture"


def test_both_notebook_runs_cover_every_notebook():
    """The two tests that run the notebooks (slow) expect output of every notebook: a new one
    cannot go unrun."""
    assert set(OFFLINE_EXPECTED) == set(HUB_EXPECTED) == set(notebooks.TITLES)


def test_a_new_output_on_a_page_goes_into_the_notebook(tmp_path: Path):
    """Pages decide: including an output on a page adds its example to the notebook, and the
    code it needs that the page does not show comes first, copied from snippets/."""
    docs = tmp_path / "docs"
    shutil.copytree(REPO / "docs", docs, ignore=shutil.ignore_patterns("generated", "assets"))
    (tmp_path / "snippets").symlink_to(REPO / "snippets")  # what the pages include
    config = tmp_path / "mkdocs.yml"
    config.write_text((REPO / "mkdocs.yml").read_text())
    page = docs / "index.md"
    page.write_text(page.read_text() + '\n--8<-- "docs/generated/history-timeline.md"\n')
    built = notebooks.build("lecture", config)
    calls = notebooks.called_examples(built)
    assert calls[0] == "example_timeline" and calls.count("example_timeline") == 2
    sources = [c.source for c in built.cells if c.cell_type == "code"]
    first_call = sources.index("example_timeline()")
    helpers = sources[first_call - 1]
    assert helpers.startswith("# Needed by example_timeline: ")
    assert '(from the page "Transformers, briefly")' in helpers
    assert "MODELS = [" in helpers and "def example_timeline():" in helpers
    headings = [c.source for c in built.cells
                if c.cell_type == "markdown" and c.source.startswith("## ")]  # fmt: skip
    assert headings[:2] == ["## Introduction to Language Models", "## Modeling sequential data"]


def test_colab_links_come_only_from_a_configured_repository(tmp_path: Path):
    """A configured repository gives Colab the notebook's path in THIS repository, and the
    notebook says how to clone it for the offline profile; the install cell is the same."""
    from snippets.render.mkdocs_hooks import notebook_banner

    config = tmp_path / "mkdocs.yml"
    configured = "extra:\n  colab_repository: someone/notes\n  colab_branch: lectures\n"
    config.write_text((REPO / "mkdocs.yml").read_text().replace("extra:\n", configured, 1))
    (tmp_path / "docs").symlink_to(REPO / "docs")
    (tmp_path / "snippets").symlink_to(REPO / "snippets")
    for name in notebooks.TITLES:
        link = notebooks.colab_link(name, config)
        prefix = "https://colab.research.google.com/github/someone/notes/blob/lectures/"
        assert link.startswith(prefix)
        assert (REPO / link.removeprefix(prefix)).is_file(), "the path of the notebook here"
        assert link.removeprefix(prefix) == f"docs/notebooks/{name}.ipynb"
        built = notebooks.build(name, config)
        assert f"[Open in Colab]({link})" in built.cells[0].source
        here = committed(name)
        assert built.cells[1].source == here.cells[1].source  # %pip install, pinned
        assert "git clone https://github.com/someone/notes, then pip install -e" in (
            built.cells[2].source
        )
    extra = notebooks.read_config(config)["extra"]
    link = notebooks.colab_link("homework", config)
    assert f'href="{link}"' in notebook_banner("homework", extra)


def test_without_a_configured_repository_there_is_no_colab_link(tmp_path: Path):
    from snippets.render.mkdocs_hooks import notebook_banner

    extra = notebooks.read_config(REPO / "mkdocs.yml").get("extra") or {}
    assert "colab_repository" not in extra, "no default that points at another repository"
    assert notebooks.colab_link("lecture") is None
    banner = notebook_banner("lecture", extra)
    assert "colab" not in banner.lower()
    assert 'href="notebooks/lecture.ipynb" download' in banner
    for name in notebooks.TITLES:
        text = (notebooks.NOTEBOOK_DIR / f"{name}.ipynb").read_text()
        assert "colab" not in text.lower() and "git clone" not in text
        assert "pip install -e '.[lecture]'" in text


def installed_by(notebook) -> dict[str, str]:
    """``{distribution: version}`` that a notebook's first code cell installs."""
    line = notebook.cells[1].source.splitlines()[-1]
    assert line.startswith("%pip install --quiet "), line
    return dict(pin.split("==") for pin in line.split()[3:])


def test_the_install_cell_pins_the_locked_libraries_the_code_imports():
    """Exactly the libraries the notebook's code imports (its functions' imports too), at the
    lock's versions (torch without its +cpu build label)."""
    pins = lock.read_lock(lock.LOCK_DIR / lock.CPU_LOCK)
    expected = {
        "lecture": {"bertviz", "matplotlib", "torch", "transformers"},
        "homework": {"bertviz", "matplotlib", "torch", "transformers"},
    }
    for name in notebooks.TITLES:
        notebook = committed(name)
        installed = installed_by(notebook)
        assert set(installed) == expected[name], name
        for distribution, version in installed.items():
            assert version == lock.public_version(pins[distribution])
        # The lock pins torch with its build label (2.13.0+cpu); pip installs it without.
        assert "+" not in installed["torch"] and pins["torch"].startswith(installed["torch"] + "+")
    with pytest.raises(KeyError, match="'leftpad', which no distribution of linux-cpu.txt"):
        notebooks.pinned_requirements(["leftpad"])


def test_the_notebooks_load_models_by_hub_id_at_pinned_revisions():
    """The second cell names every role's hub id and revision (or the folder a role without a
    hub model is trained into), and nothing of this repository is imported but on the offline
    profile."""
    for name in notebooks.TITLES:
        notebook = committed(name)
        models = notebook.cells[2].source
        assert 'PROFILE = os.environ.get("LECTURE_PROFILE", "hub")' in models
        roles = re.findall(r'^    "(\w+)": \(', models, re.MULTILINE)
        assert roles, name
        for role_name in roles:
            role = ROLES[role_name]
            if role.hub_id:
                assert f'"{role.hub_id}"' in models and f'"{role.hub_revision}"' in models
            else:
                assert f'"{role_name}": ("{role_name}", None)' in models
        code = [c.source for c in notebook.cells if c.cell_type == "code"]
        imports = [line.strip() for source in code for line in source.splitlines()
                   if re.match(r"\s*(from|import) snippets", line)]  # fmt: skip
        assert imports == ["from snippets.profiles import checkpoint as offline_checkpoint"]


def test_a_role_without_a_hub_model_is_trained_by_a_valid_call():
    """The notebook's training line calls the role's train function with arguments its
    signature accepts (the fresh-environment run below finds the folder made already)."""
    notebook = committed("lecture")
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    for role in (r for r in ROLES.values() if r.hub_id is None):
        call = re.search(rf"^    ({role.train.__name__}\(.*\))$", code, re.MULTILINE)
        assert call, role.name
        node = ast.parse(call[1], mode="eval").body
        arguments = [f"<{type(a).__name__}>" for a in node.args]
        keywords = {k.arg: None for k in node.keywords}
        inspect.signature(role.train).bind(*arguments, **keywords)
        assert [a.id for a in node.args[1:]] == list(role.train_inputs)


def test_notebook_headings_have_words():
    """mkdocs-jupyter drops headings made of inline code only, leaving empty contents entries."""
    for name in notebooks.TITLES:
        for cell in notebooks.build(name).cells:
            if cell.cell_type != "markdown":
                continue
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    words = re.sub(r"`[^`]*`", "", line.lstrip("#"))
                    assert re.search(r"[A-Za-z]{2}", words), f"{name}: heading {line!r}"


# What each notebook prints when it runs in a clone on the offline profile.
OFFLINE_EXPECTED = {
    "homework": ["'The kitten found the cake' ->", "normalized entropy per layer",
                 "chat, greedy: 'The capital of France is Paris.'"],
    "lecture": ["Token ids: [31053, 741, 273, 11, 3387", "Linear(in_features=768, "
                "out_features=50257, bias=False)", "'label': 'POSITIVE'"],
}  # fmt: skip


def run_side_by_side(clients: dict[str, NotebookClient]) -> None:
    """Execute the notebooks at once, each in its own kernel process (one thread each, so two
    cores run two notebooks in about the time of the longer one); a failure names its notebook.

    Raises:
        AssertionError: naming every notebook whose execution failed, with nbclient's error.
    """

    async def run_all() -> list:
        return await asyncio.gather(
            *(client.async_execute() for client in clients.values()), return_exceptions=True
        )

    results = dict(zip(clients, asyncio.run(run_all()), strict=True))
    failed = {name: result for name, result in results.items() if isinstance(result, Exception)}
    assert not failed, "\n\n".join(
        f"{name}.ipynb failed:\n{error}" for name, error in failed.items()
    )


@pytest.mark.slow
def test_notebooks_run_in_a_clone_offline(monkeypatch):
    """In a clone, LECTURE_PROFILE=offline: the offline profile's models, no network (pip
    finds the install cell's libraries installed)."""
    monkeypatch.setenv("LECTURE_PROFILE", "offline")
    for variable, value in ONE_THREAD.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    notebooks_run = {name: committed(name) for name in OFFLINE_EXPECTED}
    run_side_by_side({
        name: NotebookClient(notebook, timeout=900, kernel_name="python3",
                             resources={"metadata": {"path": str(REPO)}})
        for name, notebook in notebooks_run.items()
    })  # fmt: skip
    for name, notebook in notebooks_run.items():
        assert_ran(notebook, OFFLINE_EXPECTED[name], name)


def outputs_text(notebook) -> str:
    text = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", output
            text.append(output.get("text", "") or str(output.get("data", {}).get("text/plain", "")))
    return "\n".join(text)


def assert_ran(notebook, expected: list[str], name: str) -> None:
    """No cell failed, every fragment of ``expected`` was printed, a figure was shown."""
    joined = outputs_text(notebook)
    for fragment in expected:
        assert fragment in joined, f"{name}.ipynb did not print {fragment!r}"
    figures = [
        o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert figures, f"{name}.ipynb: the notebook's figures were not displayed"


@pytest.fixture(scope="module")
def fresh_kernel(tmp_path_factory) -> str:
    """A Jupyter kernel in a new virtual environment that holds the libraries the notebooks'
    install cells name, with what they require, and ipykernel (to run a kernel), at the lock's
    versions, installed from uv's cache (what it lacks fetched, hash-checked); not this
    project. Its kernel runs on the hub profile against the simulated HuggingFace cache with
    ``HF_HUB_OFFLINE=1``, and pip may not reach an index. Returns the kernel's name (its spec
    is on ``JUPYTER_PATH``)."""
    root = tmp_path_factory.mktemp("fresh")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)  # with pip
    roots = {"ipykernel"}
    for name in notebooks.TITLES:
        roots |= set(installed_by(committed(name)))
    requirements = root / "requirements.txt"
    requirements.write_text(lock.requirements_of(lock.active_lock(), sorted(roots)))
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
    python = str(venv / "bin" / "python")
    install = [uv, "pip", "install", "--quiet", "--python", python, "--no-deps",
               "--require-hashes", *lock.torch_cpu_sources(), "-r", str(requirements)]  # fmt: skip
    # From uv's cache, with no network, when it holds every wheel. It may not: a package that
    # `nox -s docs` installed from another (or a since-cleaned) cache is in the environment
    # but not in this cache (pyzmq was, for a new user). Then uv fetches what is missing,
    # hash-checked as the lock says; the kernel itself still runs with no index and no hub.
    offline = subprocess.run([*install, "--offline"], capture_output=True, text=True)
    if offline.returncode != 0:
        print(f"uv's cache lacks some of the notebooks' wheels, fetching them:\n{offline.stderr}")
        subprocess.run(install, check=True)
    probe = subprocess.run([venv / "bin" / "python", "-c", "import snippets"], cwd=root,
                           capture_output=True, text=True)  # fmt: skip
    assert "No module named 'snippets'" in probe.stderr, "this project leaked into the venv"
    spec = root / "kernels" / "lecture-fresh"
    spec.mkdir(parents=True)
    spec.joinpath("kernel.json").write_text(json.dumps({
        "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f",
                 "{connection_file}"],
        "display_name": "Python 3 (the locked libraries only)", "language": "python",
        "env": {
            "HF_HOME": str(hub.simulated_cache()), "HF_HUB_OFFLINE": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1", "PIP_NO_INDEX": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1", "LECTURE_PROFILE": "hub",
            "PYTHONPATH": "", "VIRTUAL_ENV": str(venv), **ONE_THREAD,
        },
    }))  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(root))
        yield "lecture-fresh"


# What each notebook prints when it runs alone, on the hub models (random weights of the real
# sizes: no text of theirs can be expected).
HUB_EXPECTED = {
    "homework": ["decoder (134.5 M parameters): 30 layers x 9 heads", "12 layers x 12 heads"],
    "lecture": ["Token ids: [31053, 741, 273, 11, 3387", "all 12 blocks",
                "Linear(in_features=768, out_features=50257, bias=False)",
                "training: 100 steps", "'label': '"],
}  # fmt: skip


@pytest.mark.slow
def test_notebooks_run_without_a_clone_on_the_hub_models(fresh_kernel, tmp_path):
    """Downloaded alone: run in a folder of its own by a kernel of the fresh environment, each
    notebook loads GPT-2, BERT, DistilBERT and SmolLM2 by hub id at their pinned revisions
    (random weights of the real sizes, from the simulated cache). The tiny GPT-2 it would train
    (a minute or two) is put in its folder first, as the offline profile made it with the same
    code."""
    notebooks_run, clients = {}, {}
    for name in HUB_EXPECTED:
        folder = tmp_path / name
        folder.mkdir()
        for role in (role for role in ROLES.values() if role.hub_id is None):
            (folder / role.name).symlink_to(checkpoint(role.name, "offline").name_or_path)
        notebook = committed(name)
        notebooks_run[name] = notebook
        clients[name] = NotebookClient(notebook, timeout=900, kernel_name=fresh_kernel,
                                       resources={"metadata": {"path": str(folder)}})  # fmt: skip
    run_side_by_side(clients)
    for name, notebook in notebooks_run.items():
        assert_ran(notebook, HUB_EXPECTED[name], name)


def test_a_second_check_with_unchanged_inputs_builds_nothing(monkeypatch, tmp_path):
    from snippets.render import notebooks

    monkeypatch.setenv("LECTURE_CACHE", str(tmp_path))  # no stamp yet
    assert notebooks.main(["--check"]) == 0  # builds both and records their inputs' digest
    assert (tmp_path / "notebooks-fresh.txt").read_text() == notebooks.inputs_digest()

    def fail(name, config_path=None, pages_of=None):
        raise AssertionError("built although nothing changed")

    monkeypatch.setattr(notebooks, "build", fail)
    assert notebooks.main(["--check"]) == 0
    (tmp_path / "notebooks-fresh.txt").write_text("another digest")
    with pytest.raises(AssertionError, match="built although"):
        notebooks.main(["--check"])
