"""Notebook versions of the pages: the pages' own code, runnable where the student is.

``python -m snippets.render.notebooks`` writes ``docs/notebooks/lecture.ipynb`` (every page of
the navigation but the homework, in nav order) and ``docs/notebooks/homework.ipynb`` (the
homework page) with nbformat; ``--check`` only compares. A notebook holds, page by page, the
code the page shows (:mod:`snippets.render.page_code`, the same expansion the site makes) and,
where the page shows an example's output, a call of that example, after a cell that loads the
models it needs with the roles' own loaders (``snippets/profiles.py``). Whatever a call needs
that the pages have not shown by then (a loader shown on a later page, a role's training
function) comes first, in a cell of its own, copied from ``snippets/``. So a page and its
notebook cannot drift apart, and a notebook needs nothing of this repository:

* its first cell installs the libraries its code imports, at the versions of the lock
  (``locks/linux-cpu.txt``);
* its models come from the HuggingFace hub by id, at the revisions pinned in
  ``snippets/profiles.py``; a role without a hub model (the tiny GPT-2 that the lecture trains)
  is trained by the notebook into a folder, once;
* in a clone, ``LECTURE_PROFILE=offline`` (or the line ``PROFILE = ...`` of its second cell)
  loads the offline profile's local models instead, without network.

The "Open in Colab" link is built from ``extra.colab_repository`` and ``extra.colab_branch`` in
``mkdocs.yml``, the one place the repository is named, and only when it is set: there is no
default that would point at another repository.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snippets.codehash import PACKAGE, ModuleInfo, closure, package_modules
from snippets.profiles import ROLES, Role
from snippets.render import lock
from snippets.render.examples import Example, discover_examples
from snippets.render.manifest import REPO_ROOT, atomic_write
from snippets.render.page_code import (
    CONFIG,
    CodeBlock,
    OutputInclude,
    bound_names,
    nav_pages,
    page_items,
    read_config,
)

NOTEBOOK_DIR = REPO_ROOT / "docs" / "notebooks"
HOMEWORK_PAGE = "homework.md"
TITLES = {
    "lecture": "Introduction to Language Models: the lecture's code",
    "homework": "Introduction to Language Models: homework",
}
# The environment variable that picks the notebooks' model profile ("hub" unless set).
PROFILE_VARIABLE = "LECTURE_PROFILE"
_OUTPUT_INCLUDE = re.compile(r'^[ \t]*--8<-- "docs/generated/([\w-]+)\.md"[ \t]*$', re.MULTILINE)
_SECTION_MARKER = re.compile(r"^\s*# --8<-- \[(start|end):[\w-]+\]\s*$")


@dataclass(frozen=True)
class Page:
    """One page of the navigation: its title, and its code blocks and example outputs in page
    order."""

    file: str
    title: str
    items: tuple[CodeBlock | OutputInclude, ...]

    @property
    def example_ids(self) -> tuple[str, ...]:
        return tuple(i.example_id for i in self.items if isinstance(i, OutputInclude))


def included_examples(markdown: str) -> tuple[str, ...]:
    """The ids of the example outputs a page's Markdown includes, in page order."""
    return tuple(_OUTPUT_INCLUDE.findall(markdown))


def read_page(file: str, config_path: Path = CONFIG) -> Page:
    docs_dir = config_path.parent / read_config(config_path).get("docs_dir", "docs")
    text = (docs_dir / file).read_text(encoding="utf-8")
    title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), file)
    return Page(file, title, tuple(page_items(file, config_path)))


def notebook_of(page_file: str) -> str:
    """The notebook that holds a page's code: ``homework`` or ``lecture``."""
    return "homework" if page_file == HOMEWORK_PAGE else "lecture"


def notebook_pages(config_path: Path = CONFIG) -> dict[str, list[Page]]:
    """``{notebook name: [pages with code or outputs, in nav order]}``."""
    result: dict[str, list[Page]] = {name: [] for name in TITLES}
    for file in nav_pages(config_path):
        page = read_page(file, config_path)
        if page.items:
            result[notebook_of(file)].append(page)
    return result


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


# --- What a notebook's code imports, and the install cell -------------------------------------


def imported_modules(sources: list[str]) -> list[str]:
    """The top-level names of the modules that ``sources`` import (anywhere, function bodies
    too), without the standard library and this repository's package, sorted."""
    found = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return sorted(found - set(sys.stdlib_module_names) - {PACKAGE})


def pinned_requirements(modules: list[str], lock_file: Path | None = None) -> list[str]:
    """``name==version`` of the distributions that provide ``modules``, at the lock's versions
    (without torch's build label, which names a build, not a release).

    Raises:
        KeyError: no locked distribution provides one of ``modules`` (it names the module).
    """
    from importlib.metadata import packages_distributions

    lock_file = lock_file or lock.active_lock()
    pins = lock.read_lock(lock_file)
    providers = packages_distributions()
    requirements = set()
    for module in modules:
        names = [lock.canonical(n) for n in providers.get(module, [])] or [lock.canonical(module)]
        locked = [name for name in names if name in pins]
        if not locked:
            raise KeyError(
                f"the notebooks import {module!r}, which no distribution of "
                f"{lock_file.name} provides: add it to pyproject.toml and run `nox -s lock`"
            )
        requirements.add(f"{locked[0]}=={lock.public_version(pins[locked[0]])}")
    return sorted(requirements)


def install_cell(requirements: list[str]) -> str:
    return (
        "# The lecture's libraries, at the versions these notes were made with\n"
        f"%pip install --quiet {' '.join(requirements)}"
    )


# --- The models -----------------------------------------------------------------------------


def _checkpoint_entry(role: Role) -> str:
    """One entry of the notebook's ``CHECKPOINTS``: the hub id and its pinned revision, or the
    folder that the notebook trains (a role without a hub model)."""
    if role.hub_id is None:
        return f'    "{role.name}": ("{role.name}", None),  # trained by this notebook, below'
    line = f'    "{role.name}": ("{role.hub_id}", "{role.hub_revision}"),'
    if len(line) <= 88:
        return line
    return f'    "{role.name}": (\n        "{role.hub_id}",\n        "{role.hub_revision}",\n    ),'


def models_cell(roles: list[str], config_path: Path = CONFIG) -> str:
    """The cell that says where the models come from: the profile, the device, the
    checkpoint of each role the notebook uses, and ``checkpoint(role)``."""
    where = repository(config_path)
    clone = (
        f"(git clone https://github.com/{where[0]}, then pip install -e '.[lecture]' in it)"
        if where
        else "(with pip install -e '.[lecture]' run in it)"
    )
    entries = "\n".join(_checkpoint_entry(ROLES[name]) for name in roles)
    return (
        "import os\n\n"
        '# Where the models come from. "hub": the lecture\'s models, from the HuggingFace hub\n'
        '# at the revisions these notes were made with (downloaded once). "offline": inside a\n'
        f"# clone of the notes' repository {clone},\n"
        "# its offline profile's local models, with no network. Set the environment variable\n"
        f"# {PROFILE_VARIABLE}=offline before starting Jupyter, or change the next line.\n"
        f'PROFILE = os.environ.get("{PROFILE_VARIABLE}", "hub")\n'
        'device = "cpu"  # "cuda" (or "mps") runs the models on a GPU\n'
        "CHECKPOINTS = {  # role: (hub id, pinned revision), or (folder, None)\n"
        f"{entries}\n"
        "}\n\n\n"
        "def checkpoint(role):\n"
        '    """(hub id or folder, revision) of the model that plays ``role``."""\n'
        '    if PROFILE == "offline":\n'
        "        from snippets.profiles import checkpoint as offline_checkpoint\n"
        '        return offline_checkpoint(role, "offline", device)\n'
        "    return CHECKPOINTS[role]"
    )


def loading_code(role: Role) -> str:
    """The lines that load a role (after its loader, and its training function and inputs,
    are defined)."""
    device = ", device=device" if role.loader_takes_device else ""
    load = f'{role.name} = {role.loader.__name__}(*checkpoint("{role.name}"){device})'
    if role.hub_id is not None:
        return load
    if role.train is None:
        raise KeyError(
            f"role {role.name!r} has no hub model and no train function in "
            "snippets/profiles.py: a notebook outside a clone cannot make it"
        )
    inputs = "".join(f", {name}" for name in role.train_inputs)
    takes_device = "device" in inspect.signature(role.train).parameters
    train_device = ", device=device" if takes_device else ""
    return (
        f"# {role.name} has no hub model: the notes train it (a minute or two on a laptop's\n"
        "# CPU), once, into a folder; the offline profile has it made already\n"
        f'if PROFILE == "hub" and not os.path.exists("{role.name}/config.json"):\n'
        f'    {role.train.__name__}("{role.name}"{inputs}{train_device})\n'
        f"{load}"
    )


# --- Which names the notebook has defined so far ----------------------------------------------

Symbol = tuple[str, str]  # (module, top-level name)


def _import_line(node: ast.Import | ast.ImportFrom, alias: ast.alias) -> str:
    """One import statement for one name (``from pathlib import Path``)."""
    if isinstance(node, ast.Import):
        return ast.unparse(ast.Import(names=[alias]))
    return ast.unparse(ast.ImportFrom(module=node.module, names=[alias], level=node.level))


class Scope:
    """The global names a notebook's cells have bound so far, each with the code that bound it
    (its syntax tree, or its import statement): a name is defined when it is bound by the same
    code as the package's symbol of that name (``PROMPT`` of ``snippets/generation.py`` stands
    for the identical ``PROMPT`` of ``snippets/training.py``)."""

    def __init__(self, modules: dict[str, ModuleInfo]) -> None:
        self.modules = modules
        self.bound: dict[str, str] = {}

    def record(self, source: str) -> None:
        """Bind the names of the top-level statements of ``source`` (a cell's code)."""
        for node in ast.parse(source).body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                for alias in node.names:
                    name = (alias.asname or alias.name).split(".")[0]
                    self.bound[name] = _import_line(node, alias)
            else:
                for name in bound_names(node):
                    self.bound[name] = ast.dump(node)

    def missing(self, symbols: set[Symbol]) -> list[Symbol]:
        """The symbols of ``symbols`` that the cells have not defined yet, each after what it
        refers to."""
        needed = [
            (module, name) for module, name in symbols
            if self.bound.get(name) != ast.dump(self.modules[module].nodes[name])
        ]  # fmt: skip
        depth = {s: len(closure(*s)) for s in needed}
        return sorted(needed, key=lambda s: (depth[s], s[0], self.modules[s[0]].nodes[s[1]].lineno))

    def source_of(self, symbols: list[Symbol]) -> str:
        """The code that defines ``symbols`` (in this order), copied from their modules, after
        the imports of their modules that they use and the cells have not made."""
        imports, bodies = [], []
        for module, name in symbols:
            info = self.modules[module]
            uses = {n.id for n in ast.walk(info.nodes[name]) if isinstance(n, ast.Name)}
            for node in info.top_imports:
                if isinstance(node, ast.ImportFrom) and (
                    node.level or (node.module or "").split(".")[0] == PACKAGE
                ):
                    continue  # the package's own names come as symbols
                for alias in node.names:
                    bound = (alias.asname or alias.name).split(".")[0]
                    line = _import_line(node, alias)
                    if bound in uses and self.bound.get(bound) != line and line not in imports:
                        imports.append(line)
            text = "".join(
                line
                for line in info.sources[name].splitlines(keepends=True)
                if not _SECTION_MARKER.match(line)
            )
            bodies.append(text.rstrip("\n"))
        return "\n".join(imports) + ("\n\n" if imports else "") + "\n\n\n".join(bodies)


# --- The notebook ---------------------------------------------------------------------------


def _shown_on(pages_of: dict[str, list[Page]]) -> dict[str, str]:
    """``{syntax tree of a top-level statement: the first page that shows it}``."""
    shown: dict[str, str] = {}
    for pages in pages_of.values():
        for page in pages:
            for block in (i for i in page.items if isinstance(i, CodeBlock)):
                for node in ast.parse(block.code).body:
                    shown.setdefault(ast.dump(node), f'the page "{page.title}"')
    return shown


class _Builder:
    """Accumulates the cells of one notebook."""

    def __init__(self, pages_of: dict[str, list[Page]]) -> None:
        self.modules = package_modules()
        self.scope = Scope(self.modules)
        self.shown_on = _shown_on(pages_of)
        self.cells: list[tuple[str, str]] = []  # (cell type, source)
        self.loaded: list[str] = []

    def code(self, source: str) -> None:
        self.cells.append(("code", source))
        self.scope.record(source)

    def define(self, symbols: set[Symbol], why: str) -> None:
        """A cell with what ``symbols`` need and the cells have not defined yet."""
        needed: set[Symbol] = set()
        for symbol in symbols:
            needed |= closure(*symbol)
        missing = self.scope.missing(needed)
        if not missing:
            return
        where = []
        for module, name in missing:
            tree = ast.dump(self.modules[module].nodes[name])
            place = self.shown_on.get(tree) or f"{module.replace('.', '/')}.py"
            if place not in where:
                where.append(place)
        names = ", ".join(name for _, name in missing)
        comment = f"# {why}: {names} (from {'; '.join(where)})"
        self.code(f"{comment}\n{self.scope.source_of(missing)}")

    def load(self, role_name: str) -> None:
        if role_name in self.loaded:
            return
        role = ROLES[role_name]
        functions = [role.loader]
        if role.hub_id is None:
            for name in role.train_inputs:
                self.load(name)
            functions += [role.train] if role.train is not None else []
        symbols = {(f.__module__, f.__name__) for f in functions}
        self.define(symbols, f"Needed to load {role_name}")
        self.code(loading_code(role))
        self.loaded.append(role_name)

    def example(self, example: Example) -> None:
        for role_name in example.roles:
            self.load(role_name)
        self.define({(example.module, example.function)}, f"Needed by {example.function}")
        self.cells.append(("code", f"{example.function}({', '.join(example.parameters)})"))


def build(
    name: str, config_path: Path = CONFIG, pages_of: dict[str, list[Page]] | None = None
) -> Any:
    """The notebook ``name`` (``lecture`` or ``homework``).

    Args:
        pages_of: :func:`notebook_pages` of ``config_path``, when the caller has read them.

    Raises:
        KeyError: a page includes the output of an example that does not exist, or the code
            imports a library the lock does not hold.
    """
    import nbformat

    pages_of = notebook_pages(config_path) if pages_of is None else pages_of
    examples: dict[str, Example] = {e.id: e for e in discover_examples()}
    builder = _Builder(pages_of)
    for page in pages_of[name]:
        builder.cells.append(("markdown", f"## {page.title}"))
        solution = ""
        for item in page.items:
            if item.solution and item.solution != solution:  # a folded solution begins
                builder.cells.append(("markdown", f"### {item.solution}"))
            solution = item.solution
            if isinstance(item, CodeBlock):
                builder.code(item.code.rstrip("\n"))
                continue
            if item.example_id not in examples:
                raise KeyError(
                    f"docs/{page.file} includes {item.example_id}, which no example makes"
                )
            builder.example(examples[item.example_id])
    code_cells = [source for kind, source in builder.cells if kind == "code"]
    requirements = pinned_requirements(imported_modules(code_cells))
    colab = colab_link(name, config_path)
    introduction = (
        f"# {TITLES[name]}\n\n"
        + (f"[Open in Colab]({colab}). " if colab else "")
        + "The code of the lecture notes' pages, page by page, with the models loaded where "
        "they are first needed. It runs wherever the libraries of the first cell install: "
        "the models come from the HuggingFace hub, at pinned revisions. In a clone of the "
        f"notes' repository, `{PROFILE_VARIABLE}=offline` runs it on the offline profile "
        "instead, with no network (see the second cell).\n\n"
        "Generated from the pages and the `snippets/` package by "
        "`python -m snippets.render.notebooks`; do not edit by hand."
    )
    cells = [
        nbformat.v4.new_markdown_cell(introduction),
        nbformat.v4.new_code_cell(install_cell(requirements)),
        nbformat.v4.new_code_cell(models_cell(builder.loaded, config_path)),
    ]
    for kind, source in builder.cells:
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        cells.append(make(source))
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
    code and examples, in which order), the package's code (the examples, loaders, roles and
    this builder), the lock (the install cell's versions) and the notebooks as they are on
    disk."""
    import hashlib

    files = [CONFIG, lock.active_lock(), *sorted(CONFIG.parent.glob("docs/*.md"))]
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


def _known_fresh(digest: str) -> bool:
    """Whether ``digest`` (:func:`inputs_digest`) is the one the last run that found the
    notebooks fresh recorded: then they are, and nothing needs building."""
    stamp = _stamp()
    return stamp.exists() and stamp.read_text(encoding="utf-8") == digest


def _record_fresh(digest: str) -> None:
    stamp = _stamp()
    stamp.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(stamp, digest)


def _differing(digest: str) -> dict[Path, str]:
    """``{notebook path: the text the pages and examples give now}`` of the notebooks on disk
    that differ from it (the pages are read once for both); records ``digest`` when none does.

    Raises:
        KeyError: a page includes the output of an example that does not exist.
    """
    pages_of = notebook_pages()
    differing = {}
    for name in TITLES:
        path = NOTEBOOK_DIR / f"{name}.ipynb"
        text = text_of(build(name, pages_of=pages_of))
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            differing[path] = text
    if not differing:
        _record_fresh(digest)
    return differing


def stale_notebooks() -> list[Path]:
    """The notebooks on disk that differ from what the pages and examples give now (what
    ``python -m snippets.render --check`` reports); writes no notebook.

    Raises:
        KeyError: a page includes the output of an example that does not exist.
    """
    digest = inputs_digest()
    return [] if _known_fresh(digest) else list(_differing(digest))


def main(argv: list[str] | None = None) -> int:
    """Write the stale notebooks (``--check``: only say which are stale, exit 1).

    A run that found both notebooks fresh, or wrote them, records the digest of their inputs
    (:func:`inputs_digest`, in the cache folder); the next run with the same digest knows
    without building them."""
    parser = argparse.ArgumentParser(prog="python -m snippets.render.notebooks")
    parser.add_argument("--check", action="store_true", help="exit 1 if a notebook is stale")
    args = parser.parse_args(argv)
    digest = inputs_digest()
    if _known_fresh(digest):
        print(f"notebooks: {len(TITLES)} fresh (their inputs are unchanged)")
        return 0
    stale = _differing(digest)
    if args.check and stale:
        names = ", ".join(str(path.relative_to(REPO_ROOT)) for path in stale)
        print(f"stale notebooks: {names}; run python -m snippets.render.notebooks")
        return 1
    if not stale:
        print(f"notebooks: {len(TITLES)} fresh")
        return 0
    for path, text in stale.items():
        atomic_write(path, text)
    _record_fresh(inputs_digest())  # the notebooks on disk (part of the inputs) are now fresh
    names = ", ".join(str(path.relative_to(REPO_ROOT)) for path in stale)
    print(f"notebooks: wrote {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
