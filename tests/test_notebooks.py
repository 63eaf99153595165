"""The notebooks are generated from snippets/ and run top to bottom on the offline profile."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from snippets.render import notebooks
from snippets.render.examples import discover_examples

REPO = Path(__file__).resolve().parent.parent


def test_notebooks_are_up_to_date():
    assert notebooks.main(["--check"]) == 0


def test_notebooks_hold_exactly_the_examples_of_their_pages():
    """Every output a page includes is in its notebook, in page order, and nothing else."""
    import re

    include = re.compile(r'^--8<-- "docs/generated/([\w-]+)\.md"$', re.MULTILINE)
    examples = {e.id: e.function for e in discover_examples()}
    for name in notebooks.TITLES:
        on_pages = []
        for page in notebooks.nav_pages():
            if notebooks.notebook_of(page) == name:
                on_pages += include.findall((REPO / "docs" / page).read_text())
        notebook = nbformat.read(notebooks.NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
        assert notebooks.called_examples(notebook) == [examples[i] for i in on_pages], name
    assert notebooks.notebook_of("homework.md") == "homework"
    assert notebooks.notebook_of("attention.md") == "lecture"


def test_a_new_output_on_a_page_goes_into_the_notebook(tmp_path: Path):
    """Pages decide: including an output on a page adds its example to the notebook."""
    import shutil

    docs = tmp_path / "docs"
    shutil.copytree(REPO / "docs", docs, ignore=shutil.ignore_patterns("generated", "assets"))
    config = tmp_path / "mkdocs.yml"
    config.write_text((REPO / "mkdocs.yml").read_text())
    page = docs / "index.md"
    page.write_text(page.read_text() + '\n--8<-- "docs/generated/history-timeline.md"\n')
    calls = notebooks.called_examples(notebooks.build("lecture", config))
    assert calls[0] == "example_timeline" and calls.count("example_timeline") == 2
    headings = [c.source for c in notebooks.build("lecture", config).cells
                if c.cell_type == "markdown" and c.source.startswith("## ")]  # fmt: skip
    assert headings[:2] == ["## Introduction to Language Models", "## Modeling sequential data"]


def test_colab_links_and_install_cell_come_only_from_a_configured_repository(tmp_path: Path):
    """A configured repository gives Colab the notebook's path in THIS repository and an install
    cell that installs this project (pyproject's name, lecture extra) from that repository."""
    import tomllib

    from snippets.render.mkdocs_hooks import notebook_banner

    config = tmp_path / "mkdocs.yml"
    configured = "extra:\n  colab_repository: someone/notes\n  colab_branch: lectures\n"
    config.write_text((REPO / "mkdocs.yml").read_text().replace("extra:\n", configured, 1))
    (tmp_path / "docs").symlink_to(REPO / "docs")
    for name in notebooks.TITLES:
        link = notebooks.colab_link(name, config)
        prefix = "https://colab.research.google.com/github/someone/notes/blob/lectures/"
        assert link.startswith(prefix)
        assert (REPO / link.removeprefix(prefix)).is_file(), "the path of the notebook here"
        assert link.removeprefix(prefix) == f"docs/notebooks/{name}.ipynb"
        built = notebooks.build(name, config)
        assert f"[Open in Colab]({link})" in built.cells[0].source
        project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"]
        assert project == "intro-to-llms"
        assert (
            f"# !pip install '{project}[lecture] @ git+https://github.com/someone/notes@lectures'"
            in built.cells[1].source
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
        assert "colab" not in text.lower() and "git+https" not in text
        assert "pip install -e '.[lecture]'" in text


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


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("homework", ["'The kitten found the cake' ->", "entropy per layer (bits)",
                      "chat, greedy: 'The capital of France is Paris.'"]),
        ("lecture", ["Token ids: [31053, 741, 273, 11, 3387", "Linear(in_features=768, "
                     "out_features=50257, bias=False)", "'label': 'POSITIVE'"]),
    ],
)  # fmt: skip
def test_notebook_runs_top_to_bottom(name: str, expected: list[str]):
    notebook = nbformat.read(notebooks.NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(REPO)}})  # fmt: skip
    client.execute()
    text = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", output
            text.append(output.get("text", "") or str(output.get("data", {}).get("text/plain", "")))
    joined = "\n".join(text)
    for fragment in expected:
        assert fragment in joined
    figures = [
        o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert figures, "the notebook's figures were not displayed"


def test_a_second_check_with_unchanged_inputs_builds_nothing(monkeypatch, tmp_path):
    from snippets.render import notebooks

    monkeypatch.setenv("LECTURE_CACHE", str(tmp_path))  # no stamp yet
    assert notebooks.main(["--check"]) == 0  # builds both and records their inputs' digest
    assert (tmp_path / "notebooks-fresh.txt").read_text() == notebooks.inputs_digest()

    def fail(name, config_path=None):
        raise AssertionError("built although nothing changed")

    monkeypatch.setattr(notebooks, "build", fail)
    assert notebooks.main(["--check"]) == 0
    (tmp_path / "notebooks-fresh.txt").write_text("another digest")
    with pytest.raises(AssertionError, match="built although"):
        notebooks.main(["--check"])
