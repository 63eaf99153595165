"""Notebook versions of the lecture and of the homework, generated from ``snippets/``.

``python -m snippets.render.notebooks`` writes ``docs/notebooks/lecture.ipynb`` and
``docs/notebooks/homework.ipynb`` with nbformat; ``--check`` only compares. The notebooks are
never edited by hand: each code cell is the source of an example function (or an import of the
helpers of its module) followed by a call, so the notebook runs the same code as the site.
The "Open in Colab" link is built from ``extra.colab_repository`` and ``extra.colab_branch`` in
``mkdocs.yml``, the one place the repository is named.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

from snippets.render.codehash import PARAMETER_ROLES, discover_examples, package_modules
from snippets.render.manifest import REPO_ROOT, atomic_write

NOTEBOOK_DIR = REPO_ROOT / "docs" / "notebooks"

# Which modules go into which notebook, in reading order.
NOTEBOOKS = {
    "lecture": {
        "title": "Introduction to Language Models: the lecture's code",
        "modules": ["sequences", "history", "generation", "training", "tokenization",
                    "embeddings", "architecture", "attention", "classification", "saving"],
        "skip": {"generation-batch-of-prompts", "generation-settings-table",
                 "generation-temperature"},
    },
    "homework": {
        "title": "Introduction to Language Models: homework",
        "modules": ["generation", "homework"],
        "only": {"generation-batch-of-prompts", "generation-settings-table",
                 "generation-temperature", "homework-two-sizes"},
    },
}  # fmt: skip


def colab_link(name: str, config_path: Path = REPO_ROOT / "mkdocs.yml") -> str:
    """The Colab URL of ``docs/notebooks/<name>.ipynb`` in the repository set in mkdocs.yml.

    Raises:
        KeyError: ``extra.colab_repository`` is missing from mkdocs.yml.
    """
    # mkdocs.yml may use !!python tags (plugins); read it without constructing them.
    config = yaml.load(config_path.read_text(encoding="utf-8"), Loader=_TagTolerantLoader)
    extra = config.get("extra", {})
    if "colab_repository" not in extra:
        raise KeyError(f"{config_path}: set extra.colab_repository (owner/name on GitHub)")
    branch = extra.get("colab_branch", "main")
    return (f"https://colab.research.google.com/github/{extra['colab_repository']}/blob/"
            f"{branch}/docs/notebooks/{name}.ipynb")  # fmt: skip


class _TagTolerantLoader(yaml.SafeLoader):
    pass


_TagTolerantLoader.add_multi_constructor("", lambda loader, suffix, node: None)


def build(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` (a key of :data:`NOTEBOOKS`)."""
    spec = NOTEBOOKS[name]
    modules = package_modules()
    examples = discover_examples()
    cells = [
        nbformat.v4.new_markdown_cell(
            f"# {spec['title']}\n\n"
            f"[Open in Colab]({colab_link(name)}). Generated from the `snippets/` package of the "
            "lecture notes by `python -m snippets.render.notebooks`; do not edit by hand."
        ),
        nbformat.v4.new_code_cell(
            "# In Colab or a fresh environment, install the lecture's code first:\n"
            "# !pip install 'intro-to-llms[lecture] @ git+https://github.com/"
            + colab_link(name).split("/github/")[1].split("/blob/")[0]
            + "'\n"
            "from snippets.models import load_role\n\n"
            'PROFILE = "offline"  # "hub" loads the lecture\'s original models from the hub\n'
            'device = "cpu"'
        ),
    ]
    loaded: set[str] = set()
    for topic in spec["modules"]:
        info = modules[f"snippets.{topic}"]
        chosen = [
            e for e in examples
            if e.module == info.name and e.id not in spec.get("skip", set())
            and ("only" not in spec or e.id in spec["only"])
        ]  # fmt: skip
        if not chosen:
            continue
        docstring = (info.tree.body[0].value.value if info.tree.body else "").strip()
        cells.append(nbformat.v4.new_markdown_cell(f"## `snippets/{topic}.py`\n\n{docstring}"))
        cells.append(nbformat.v4.new_code_cell(f"from snippets.{topic} import *  # its helpers"))
        for example in chosen:
            setup = []
            for parameter in example.parameters:
                role = PARAMETER_ROLES[parameter]
                if role is not None and parameter not in loaded:
                    setup.append(f'{parameter} = load_role("{role}", PROFILE, device)')
                    loaded.add(parameter)
            if setup:
                cells.append(nbformat.v4.new_code_cell("\n".join(setup)))
            cells.append(nbformat.v4.new_code_cell(info.sources[example.function].rstrip()))
            cells.append(
                nbformat.v4.new_code_cell(f"{example.function}({', '.join(example.parameters)})")
            )
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3", "display_name": "Python 3", "language": "python",
    }  # fmt: skip
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"{name}-{index:03d}"  # stable ids: the same code gives the same file
    return notebook


def text_of(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m snippets.render.notebooks")
    parser.add_argument("--check", action="store_true", help="exit 1 if a notebook is stale")
    args = parser.parse_args(argv)
    stale = []
    for name in NOTEBOOKS:
        path = NOTEBOOK_DIR / f"{name}.ipynb"
        text = text_of(build(name))
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path.relative_to(REPO_ROOT))
        if not args.check:
            atomic_write(path, text)
    if args.check and stale:
        print(f"stale notebooks: {', '.join(map(str, stale))}; run python -m "
              "snippets.render.notebooks")  # fmt: skip
        return 1
    print(f"notebooks: {'checked' if args.check else 'written'}: {len(NOTEBOOKS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
