"""Hashing the code of the ``snippets`` package, statically (standard library only).

Everything here reads source files with :mod:`ast`; nothing is imported, so freshness can be
decided without torch or transformers installed. It sits below both the lecture's offline
checkpoints (a trained stand-in's folder is named by the hash of its training code) and the
renderer (an example's cache key hashes its code).

The *code hash* of a top-level function covers its own source and, transitively, the source of
every function, class and constant of the ``snippets`` package that it refers to (by name in the
same module, through ``from snippets.x import y`` / ``from .x import y``, or as
``module.attribute``). A change to a helper therefore changes exactly the hashes of the
functions whose closure contains it; prose changes change nothing.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

PACKAGE = "snippets"
PACKAGE_DIR = Path(__file__).resolve().parent

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
    # module-level import statements
    top_imports: list[ast.AST] = field(default_factory=list)


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
    pinned = _PINNED.get(package_dir)
    if pinned is not None:
        return pinned
    files = _module_files(package_dir.resolve())
    stamp = tuple((name, path.stat().st_mtime_ns, path.stat().st_size)
                  for name, path in files.items())  # fmt: skip
    return _parse_package(tuple(files.items()), stamp)


_PINNED: dict[Path, dict[str, ModuleInfo]] = {}


@contextlib.contextmanager
def pinned_sources(package_dir: Path = PACKAGE_DIR) -> Iterator[dict[str, ModuleInfo]]:
    """Within the block, :func:`package_modules` looks at the package's files once.

    Outside a block every call lists and stats the files, so an edited file is seen at once; a
    run that hashes many examples (discovery, ``render --check``) pins them instead, which keeps
    its cost from growing with the number of files times the number of examples. Blocks nest.
    """
    if package_dir in _PINNED:
        yield _PINNED[package_dir]
        return
    _PINNED[package_dir] = package_modules(package_dir)
    try:
        yield _PINNED[package_dir]
    finally:
        del _PINNED[package_dir]


@cache
def _parse_package(
    files: tuple[tuple[str, Path], ...], stamp: tuple
) -> dict[str, ModuleInfo]:
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
            if isinstance(node, ast.Import | ast.ImportFrom):
                info.top_imports.append(node)
            if isinstance(node, ast.Import):
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
        raise KeyError(
            f"{module}:{name} is not a top-level name of the snippets package"
        )
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
    """sha256 (hex) of the syntax tree (``ast.dump``: code and docstrings, not layout or
    comments) of ``module.name`` and of everything it depends on."""
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
        # The syntax tree, not the text: reformatting and comments change no output.
        digest.update(ast.dump(modules[mod].nodes[sym]).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def imported_libraries(
    module: str, name: str, package_dir: Path = PACKAGE_DIR
) -> set[str]:
    """Top-level names of the libraries outside the package that ``module.name`` imports,
    itself or through any package symbol it depends on (``matplotlib``, ``torch``, ...).

    Module-level imports of a module in the closure count too: a helper may rely on them.
    """
    modules = package_modules(package_dir)
    found: set[str] = set()
    for mod, sym in closure(module, name, package_dir):
        info = modules[mod]
        for node in (info.nodes[sym], *info.top_imports):
            for child in ast.walk(node):
                if isinstance(child, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in child.names)
                elif (
                    isinstance(child, ast.ImportFrom)
                    and child.module
                    and not child.level
                ):
                    found.add(child.module.split(".")[0])
    return {
        name
        for name in found
        if name != PACKAGE and name not in sys.stdlib_module_names
    }
