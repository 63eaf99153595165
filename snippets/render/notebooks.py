"""Notebook versions of the pages, derived from what the pages include.

``python -m snippets.render.notebooks`` writes ``docs/notebooks/lecture.ipynb`` (every page of
the navigation but the homework, in nav order) and ``docs/notebooks/homework.ipynb`` (the
homework page) with nbformat; ``--check`` only compares. A page's examples are the rendered
outputs it includes (``--8<-- "docs/generated/<id>.md"``); the notebook repeats them in the same
order, each as the example's source followed by a call, after a cell that loads the models it
needs with the roles' own loaders (``snippets/profiles.py``). So a page and its notebook cannot
drift apart: adding an output to a page adds it to the notebook.

The "Open in Colab" link and the install cell are built from ``extra.colab_repository`` and
``extra.colab_branch`` in ``mkdocs.yml``, the one place the repository is named, and only when it
is set: there is no default that would point at another repository. Unset, the notebooks carry no
Colab link and their install cell installs the project from a clone.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from snippets.codehash import package_modules
from snippets.profiles import ROLES
from snippets.render.examples import Example, discover_examples
from snippets.render.manifest import REPO_ROOT, atomic_write

NOTEBOOK_DIR = REPO_ROOT / "docs" / "notebooks"
CONFIG = REPO_ROOT / "mkdocs.yml"
HOMEWORK_PAGE = "homework.md"
TITLES = {
    "lecture": "Introduction to Language Models: the lecture's code",
    "homework": "Introduction to Language Models: homework",
}
_OUTPUT_INCLUDE = re.compile(r'^--8<-- "docs/generated/([\w-]+)\.md"$', re.MULTILINE)


class _TagTolerantLoader(yaml.SafeLoader):
    pass


# mkdocs.yml may use !!python and !relative tags; read it without constructing them.
_TagTolerantLoader.add_multi_constructor("", lambda loader, suffix, node: None)


def read_config(config_path: Path = CONFIG) -> dict[str, Any]:
    return yaml.load(config_path.read_text(encoding="utf-8"), Loader=_TagTolerantLoader) or {}


def nav_pages(config_path: Path = CONFIG) -> list[str]:
    """The Markdown pages of the navigation, in reading order (``index.md``, ...)."""
    pages: list[str] = []

    def walk(items: Any) -> None:
        for item in items or []:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            if isinstance(value, list):
                walk(value)
            elif isinstance(value, str) and value.endswith(".md"):
                pages.append(value)

    walk(read_config(config_path).get("nav"))
    return pages


@dataclass(frozen=True)
class Page:
    """One page of the navigation and the example outputs it includes, in page order."""

    file: str
    title: str
    example_ids: tuple[str, ...]


def included_examples(markdown: str) -> tuple[str, ...]:
    """The ids of the example outputs a page's Markdown includes, in page order."""
    return tuple(_OUTPUT_INCLUDE.findall(markdown))


def read_page(file: str, docs_dir: Path) -> Page:
    text = (docs_dir / file).read_text(encoding="utf-8")
    title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), file)
    return Page(file, title, included_examples(text))


def notebook_of(page_file: str) -> str:
    """The notebook that holds a page's examples: ``homework`` or ``lecture``."""
    return "homework" if page_file == HOMEWORK_PAGE else "lecture"


def notebook_pages(config_path: Path = CONFIG) -> dict[str, list[Page]]:
    """``{notebook name: [pages with examples, in nav order]}``."""
    docs_dir = config_path.parent / read_config(config_path).get("docs_dir", "docs")
    result: dict[str, list[Page]] = {name: [] for name in TITLES}
    for file in nav_pages(config_path):
        page = read_page(file, docs_dir)
        if page.example_ids:
            result[notebook_of(file)].append(page)
    return result


def project_name(root: Path = REPO_ROOT) -> str:
    """This project's distribution name, as ``pyproject.toml`` declares it (``intro-to-llms``)."""
    import tomllib

    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"]


def repository(config_path: Path = CONFIG, extra: dict | None = None) -> tuple[str, str] | None:
    """``(owner/name, branch)`` of the GitHub repository set in mkdocs.yml (``extra.
    colab_repository``, ``extra.colab_branch``, default ``main``); ``None`` when none is set.
    ``extra``, when given, is used instead of reading mkdocs.yml (the build hook has it)."""
    if extra is None:
        extra = read_config(config_path).get("extra") or {}
    name = extra.get("colab_repository")
    return (name, extra.get("colab_branch") or "main") if name else None


def colab_link(name: str, config_path: Path = CONFIG, *, extra: dict | None = None) -> str | None:
    """The Colab URL of ``docs/notebooks/<name>.ipynb`` in the configured repository, or
    ``None`` when mkdocs.yml sets none (see :func:`repository`)."""
    where = repository(config_path, extra)
    if where is None:
        return None
    notebook = (NOTEBOOK_DIR / f"{name}.ipynb").relative_to(REPO_ROOT).as_posix()
    return f"https://colab.research.google.com/github/{where[0]}/blob/{where[1]}/{notebook}"


def install_line(config_path: Path = CONFIG) -> str:
    """The notebooks' install comment: this project with its ``lecture`` extra, from the
    configured repository, or from a clone when none is configured."""
    where = repository(config_path)
    if where is None:
        return (
            "# In a fresh environment, install the lecture's code first, from a clone of its\n"
            "# repository: pip install -e '.[lecture]'"
        )
    return (
        "# In Colab or a fresh environment, install the lecture's code first:\n"
        f"# !pip install '{project_name()}[lecture] @ "
        f"git+https://github.com/{where[0]}@{where[1]}'"
    )


def loading_line(role_name: str) -> tuple[str, str]:
    """``(import line, assignment)`` that loads a role with its own loader in a notebook."""
    loader = ROLES[role_name].loader
    takes_device = ROLES[role_name].loader_takes_device
    device = ", device=device" if takes_device else ""
    where = f'checkpoint("{role_name}", PROFILE{", device" if takes_device else ""})'
    return (
        f"from {loader.__module__} import {loader.__name__}",
        f"{role_name} = {loader.__name__}(*{where}{device})",
    )


def build(name: str, config_path: Path = CONFIG) -> Any:
    """The notebook ``name`` (``lecture`` or ``homework``).

    Raises:
        KeyError: a page includes the output of an example that does not exist.
    """
    import nbformat

    modules = package_modules()
    examples: dict[str, Example] = {e.id: e for e in discover_examples()}
    colab = colab_link(name, config_path)
    cells = [
        nbformat.v4.new_markdown_cell(
            f"# {TITLES[name]}\n\n"
            + (f"[Open in Colab]({colab}). " if colab else "")
            + "Generated from the pages of the lecture notes and the `snippets/` package by "
            "`python -m snippets.render.notebooks`; do not edit by hand."
        ),
        nbformat.v4.new_code_cell(
            install_line(config_path) + "\n"
            "from snippets.profiles import checkpoint\n\n"
            'PROFILE = "offline"  # "hub": the lecture\'s original models, from the hub\n'
            'device = "cpu"'
        ),
    ]
    loaded: set[str] = set()
    imported: set[str] = set()
    for page in notebook_pages(config_path)[name]:
        cells.append(nbformat.v4.new_markdown_cell(f"## {page.title}"))
        for example_id in page.example_ids:
            if example_id not in examples:
                raise KeyError(f"docs/{page.file} includes {example_id}, which no example makes")
            example = examples[example_id]
            setup = []
            if example.module not in imported:
                setup.append(f"from {example.module} import *  # the helpers of its module")
                imported.add(example.module)
            for role_name in example.roles:
                if role_name not in loaded:
                    setup.extend(loading_line(role_name))
                    loaded.add(role_name)
            if setup:
                cells.append(nbformat.v4.new_code_cell("\n".join(setup)))
            source = modules[example.module].sources[example.function].rstrip()
            cells.append(nbformat.v4.new_code_cell(source))
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


def called_examples(notebook: Any) -> list[str]:
    """The example functions a notebook calls, in order (``example_summary``, ...)."""
    calls = []
    for cell in notebook.cells:
        match = re.fullmatch(r"(example_\w+)\([\w, ]*\)", cell.source.strip())
        if cell.cell_type == "code" and match:
            calls.append(match[1])
    return calls


def text_of(notebook: Any) -> str:
    import nbformat

    return nbformat.writes(notebook) + "\n"


def inputs_digest() -> str:
    """sha256 of everything the notebooks are built from: the pages and ``mkdocs.yml`` (which
    examples, in which order), the package's code (the examples, loaders, roles and this
    builder), ``pyproject.toml`` (the install line) and the notebooks as they are on disk."""
    import hashlib

    files = [CONFIG, REPO_ROOT / "pyproject.toml", *sorted(CONFIG.parent.glob("docs/*.md"))]
    files += sorted((REPO_ROOT / "snippets").rglob("*.py"))
    files += [NOTEBOOK_DIR / f"{name}.ipynb" for name in TITLES]
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"missing")
    return digest.hexdigest()


def _stamp() -> Path:
    from snippets.offline import cache_dir

    return cache_dir() / "notebooks-fresh.txt"


def stale_notebooks() -> list[Path]:
    """The notebooks on disk that differ from what the pages and examples give now (what
    ``python -m snippets.render --check`` reports); writes nothing. Nothing is built when the
    digest of their inputs is the one the last run that found them fresh recorded.

    Raises:
        KeyError: a page includes the output of an example that does not exist.
    """
    stamp = _stamp()
    if stamp.exists() and stamp.read_text(encoding="utf-8") == inputs_digest():
        return []
    stale = []
    for name in TITLES:
        path = NOTEBOOK_DIR / f"{name}.ipynb"
        if not path.exists() or path.read_text(encoding="utf-8") != text_of(build(name)):
            stale.append(path)
    return stale


def main(argv: list[str] | None = None) -> int:
    """Write the stale notebooks (``--check``: only say which are stale, exit 1).

    A run that found both notebooks fresh records the digest of their inputs
    (:func:`inputs_digest`, in the cache folder); the next run with the same digest knows
    without building them (building takes nbformat and about 0.2 s)."""
    parser = argparse.ArgumentParser(prog="python -m snippets.render.notebooks")
    parser.add_argument("--check", action="store_true", help="exit 1 if a notebook is stale")
    args = parser.parse_args(argv)
    digest = inputs_digest()
    stamp = _stamp()
    if stamp.exists() and stamp.read_text(encoding="utf-8") == digest:
        print(f"notebooks: {len(TITLES)} fresh (their inputs are unchanged)")
        return 0
    stale = []
    for name in TITLES:
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
    if not stale or not args.check:  # the notebooks on disk are now what the inputs give
        stamp.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(stamp, inputs_digest())
    print(f"notebooks: {'checked' if args.check else 'written'}: {len(TITLES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
