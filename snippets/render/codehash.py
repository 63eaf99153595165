"""Static discovery of examples and hashing of the code they depend on.

Everything here reads source files with :mod:`ast`; nothing is imported, so freshness can be
decided without torch or transformers installed.

An *example* is a top-level function ``example_<name>`` in a module ``snippets/<topic>.py``.
Its *code hash* covers its own source and, transitively, the source of every function, class and
constant of the ``snippets`` package that it refers to (by name in the same module, through
``from snippets.x import y`` / ``from .x import y``, or as ``module.attribute``). A change to a
helper therefore re-renders exactly the examples whose closure contains it; prose changes
re-render nothing.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

PACKAGE = "snippets"
PACKAGE_DIR = Path(__file__).resolve().parent.parent

# Example parameters the renderer fills, and the model role each one stands for
# (roles: snippets/profiles.py). ``device`` is the torch device string.
PARAMETER_ROLES: dict[str, str | None] = {
    "gpt2_tokenizer": "bpe_tokenizer",
    "gpt2_config": "gpt2_config",
    "generator": "generator",
    "trained_gpt2": "trained_gpt2",
    "encoder": "encoder",
    "classifier": "classifier",
    "saved_model_source": "saved_model",
    "device": None,
}

Symbol = tuple[str, str]  # (module name, top-level name)


@dataclass
class ModuleInfo:
    """Top-level symbols of one module: name -> source text and referenced symbols."""

    name: str
    path: Path
    tree: ast.Module
    text: str
    sources: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, ast.AST] = field(default_factory=dict)
    imports: dict[str, Symbol] = field(default_factory=dict)  # alias -> (module, name)
    module_aliases: dict[str, str] = field(default_factory=dict)  # alias -> module


def _module_files(package_dir: Path) -> dict[str, Path]:
    files = {}
    for path in sorted(package_dir.glob("*.py")):
        if path.name != "__init__.py":
            files[f"{PACKAGE}.{path.stem}"] = path
    return files


def _resolve_from(module: str, node: ast.ImportFrom) -> str | None:
    if node.level:  # relative import inside the package
        return f"{PACKAGE}.{node.module}" if node.module else PACKAGE
    return node.module


def package_modules(package_dir: Path = PACKAGE_DIR) -> dict[str, ModuleInfo]:
    """Parse every ``snippets/*.py`` module (the lecture's code), once per process.

    Args:
        package_dir: the package folder (another one in tests; modules keep the name
            ``snippets.<file stem>``).
    """
    files = _module_files(package_dir.resolve())
    stamp = tuple((name, path.stat().st_mtime_ns, path.stat().st_size)
                  for name, path in files.items())  # fmt: skip
    return _parse_package(tuple(files.items()), stamp)


@cache
def _parse_package(files: tuple[tuple[str, Path], ...], stamp: tuple) -> dict[str, ModuleInfo]:
    """Parse ``files``; ``stamp`` (modification times and sizes) invalidates the cache."""
    modules = {}
    for name, path in files:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, filename=str(path))
        lines = text.splitlines(keepends=True)
        info = ModuleInfo(name, path, tree, text)
        for node in tree.body:
            targets: list[str] = []
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                targets = [node.name]
            elif isinstance(node, ast.Assign):
                targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                targets = [node.target.id]
            elif isinstance(node, ast.ImportFrom):
                source = _resolve_from(name, node)
                if source and source.startswith(PACKAGE):
                    for alias in node.names:
                        info.imports[alias.asname or alias.name] = (source, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith(PACKAGE + "."):
                        info.module_aliases[alias.asname or alias.name] = alias.name
            for target in targets:
                # Whole lines of the top-level statement (ast.get_source_segment is slow here).
                info.sources[target] = "".join(lines[node.lineno - 1 : node.end_lineno])
                info.nodes[target] = node
        modules[name] = info
    return modules


def _references(info: ModuleInfo, node: ast.AST) -> set[Symbol]:
    """Symbols of the package that ``node`` mentions."""
    found: set[Symbol] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            if child.id in info.sources:
                found.add((info.name, child.id))
            elif child.id in info.imports:
                found.add(info.imports[child.id])
        elif isinstance(child, ast.Attribute) and isinstance(child.value, ast.Name):
            module = info.module_aliases.get(child.value.id)
            if module:
                found.add((module, child.attr))
        elif isinstance(child, ast.ImportFrom):  # imports inside a function body
            source = _resolve_from(info.name, child)
            if source and source.startswith(PACKAGE):
                found.update((source, alias.name) for alias in child.names)
    return found


def closure(module: str, name: str, package_dir: Path = PACKAGE_DIR) -> set[Symbol]:
    """Every package symbol that ``module.name`` depends on, itself included.

    Raises:
        KeyError: the module or the name does not exist in the package.
    """
    modules = package_modules(package_dir)
    if module not in modules or name not in modules[module].sources:
        raise KeyError(f"{module}:{name} is not a top-level name of the snippets package")
    seen: set[Symbol] = set()
    todo = [(module, name)]
    while todo:
        symbol = todo.pop()
        if symbol in seen:
            continue
        mod = modules.get(symbol[0])
        if mod is None or symbol[1] not in mod.sources:
            if mod is not None and symbol[1] in mod.imports:  # re-exported name
                todo.append(mod.imports[symbol[1]])
            continue
        seen.add(symbol)
        todo.extend(_references(mod, mod.nodes[symbol[1]]))
    return seen


def function_hash(module: str, name: str, package_dir: Path = PACKAGE_DIR) -> str:
    """sha256 (hex) of the source of ``module.name`` and of everything it depends on."""
    modules = package_modules(package_dir)
    key = (id(modules), module, name)
    if key not in _HASHES:
        _HASHES[key] = _function_hash(modules, module, name, package_dir)
    return _HASHES[key]


_HASHES: dict[tuple[int, str, str], str] = {}


def _function_hash(modules: dict, module: str, name: str, package_dir: Path) -> str:
    digest = hashlib.sha256()
    for mod, sym in sorted(closure(module, name, package_dir)):
        digest.update(f"{mod}:{sym}\n".encode())
        digest.update(modules[mod].sources[sym].encode())
        digest.update(b"\n")
    return digest.hexdigest()


@dataclass(frozen=True)
class Example:
    """One example: a function ``example_*`` of a lecture module.

    Attributes:
        id: asset name, ``<topic>-<name>`` with hyphens (``tokenization-summary``).
        module: import path of its module (``snippets.tokenization``).
        function: function name (``example_summary``).
        path: source file, relative to the repository root.
        line: line of the ``def``.
        parameters: names of its parameters (filled by the renderer, see PARAMETER_ROLES).
        roles: model roles it uses, sorted.
        caption: first paragraph of its docstring.
        alt: the docstring's ``Alt text:`` paragraph, for figures ("" when absent).
        code_hash: :func:`function_hash` of the function.
    """

    id: str
    module: str
    function: str
    path: str
    line: int
    parameters: tuple[str, ...]
    roles: tuple[str, ...]
    caption: str
    alt: str
    code_hash: str


class ExampleDefinitionError(ValueError):
    """An example function is malformed (unknown parameter, missing docstring)."""


def _docstring_parts(node: ast.FunctionDef) -> tuple[str, str]:
    doc = inspect.cleandoc(ast.get_docstring(node) or "")
    paragraphs = [" ".join(p.split()) for p in doc.split("\n\n") if p.strip()]
    caption = paragraphs[0] if paragraphs else ""
    alt = next(
        (p.removeprefix("Alt text:").strip() for p in paragraphs if p.startswith("Alt text:")), ""
    )
    return caption, alt


def discover_examples(package_dir: Path = PACKAGE_DIR) -> list[Example]:
    """All examples of the package, in file order.

    Raises:
        ExampleDefinitionError: an example has a parameter the renderer cannot fill or no
            docstring, naming the file and line.
    """
    root = package_dir.resolve().parent
    examples = []
    for info in package_modules(package_dir).values():
        topic = info.name.rsplit(".", 1)[1]
        for name, node in info.nodes.items():
            if not (isinstance(node, ast.FunctionDef) and name.startswith("example_")):
                continue
            where = f"{info.path.relative_to(root)}:{node.lineno}"
            params = tuple(arg.arg for arg in node.args.args)
            unknown = [p for p in params if p not in PARAMETER_ROLES]
            if unknown:
                raise ExampleDefinitionError(
                    f"{where}: example {name} has parameters {unknown} that the renderer "
                    f"cannot fill; use some of {sorted(PARAMETER_ROLES)}"
                )
            caption, alt = _docstring_parts(node)
            if not caption:
                raise ExampleDefinitionError(
                    f"{where}: example {name} needs a docstring; its first paragraph is the "
                    "caption under the output on the page"
                )
            roles = sorted({PARAMETER_ROLES[p] for p in params} - {None})
            example_id = f"{topic}-{name.removeprefix('example_')}".replace("_", "-")
            examples.append(
                Example(
                    id=example_id,
                    module=info.name,
                    function=name,
                    path=str(info.path.relative_to(root)),
                    line=node.lineno,
                    parameters=params,
                    roles=tuple(roles),
                    caption=caption,
                    alt=alt,
                    code_hash=function_hash(info.name, name, package_dir),
                )
            )
    ids = [e.id for e in examples]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ExampleDefinitionError(f"duplicate example ids: {sorted(duplicates)}")
    return examples
