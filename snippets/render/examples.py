"""Static discovery of the lecture's examples (nothing is imported but the role registry).

An *example* is a top-level function ``example_<name>`` of a module ``snippets/<topic>.py``. Its
parameters are model roles of ``snippets/profiles.py`` (the renderer passes what the role's
loader returns) or ``device``. The first paragraph of its docstring is the caption under its
output; the alt text of a figure or view lives in ``docs/alt-text.toml``, keyed by example id.
"""

from __future__ import annotations

import ast
import inspect
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from snippets.codehash import (
    PACKAGE_DIR,
    function_hash,
    imported_libraries,
    package_modules,
    pinned_sources,
)
from snippets.profiles import ROLES

ALT_TEXT_FILE = PACKAGE_DIR.parent / "docs" / "alt-text.toml"
EXPECTED_WARNINGS_FILE = PACKAGE_DIR.parent / "docs" / "expected-warnings.toml"
# The shortest alt text that can say what a figure shows (a figure or view without one fails).
MIN_ALT_TEXT = 40
# Example parameters that are not model roles: the torch device string.
EXTRA_PARAMETERS = ("device",)


@dataclass(frozen=True)
class Example:
    """One example: a function ``example_*`` of a lecture module.

    Attributes:
        id: asset name, ``<topic>-<name>`` with hyphens (``tokenization-summary``).
        module: import path of its module (``snippets.tokenization``).
        function: function name (``example_summary``).
        path: source file, relative to the repository root.
        line: line of the ``def``.
        parameters: names of its parameters (model roles, or ``device``).
        roles: model roles it uses, sorted.
        caption: first paragraph of its docstring.
        alt: its entry of ``docs/alt-text.toml`` ("" when it has none).
        code_hash: :func:`~snippets.codehash.function_hash` of the function.
        libraries: the libraries its code imports (directly or through helpers), sorted.
        expected_warnings: its entry of ``docs/expected-warnings.toml``: a part of each
            warning it is expected to emit (and show in its output).
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
    libraries: tuple[str, ...] = ()
    expected_warnings: tuple[str, ...] = ()


class ExampleDefinitionError(ValueError):
    """An example function is malformed (unknown parameter, missing docstring)."""


def _caption(node: ast.FunctionDef) -> str:
    doc = inspect.cleandoc(ast.get_docstring(node) or "")
    paragraphs = [" ".join(p.split()) for p in doc.split("\n\n") if p.strip()]
    return paragraphs[0] if paragraphs else ""


def _read_toml(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ExampleDefinitionError(f"{path}: not valid TOML ({error})") from error


def read_alt_texts(path: Path = ALT_TEXT_FILE) -> dict[str, str]:
    """``{example id: alt text}`` from ``docs/alt-text.toml``.

    Raises:
        ExampleDefinitionError: the file is not valid TOML, or an entry has no ``alt`` string.
    """
    texts = {}
    for example_id, entry in _read_toml(path).items():
        if not isinstance(entry, dict) or not isinstance(entry.get("alt"), str):
            raise ExampleDefinitionError(
                f'{path}: [{example_id}] needs a line alt = "what the figure shows"'
            )
        texts[example_id] = " ".join(entry["alt"].split())
    return texts


def _warning_parts(path: Path, where: str, parts: object) -> tuple[str, ...]:
    if not (isinstance(parts, list) and parts and all(isinstance(p, str) and p for p in parts)):
        raise ExampleDefinitionError(
            f'{path}: [{where}] needs a line warnings = ["part of the warning", ...]'
        )
    return tuple(parts)


def read_expected_warnings(path: Path = EXPECTED_WARNINGS_FILE) -> dict[str, tuple[str, ...]]:
    """``{example id: (part of a warning, ...)}`` from ``docs/expected-warnings.toml``.

    Raises:
        ExampleDefinitionError: the file is not valid TOML, or an entry has no ``warnings``
            list of non-empty strings.
    """
    expected = {}
    for example_id, entry in _read_toml(path).items():
        if example_id == "load":
            continue  # the models' loads: read_expected_load_warnings
        parts = entry.get("warnings") if isinstance(entry, dict) else None
        expected[example_id] = _warning_parts(path, example_id, parts)
    return expected


def read_expected_load_warnings(
    path: Path = EXPECTED_WARNINGS_FILE,
) -> dict[tuple[str, str], tuple[str, ...]]:
    """``{(role, profile): (part of a warning, ...)}``: the ``[load.<role>.<profile>]`` tables
    of ``docs/expected-warnings.toml``, warnings that loading a model role emits.

    Raises:
        ExampleDefinitionError: as :func:`read_expected_warnings`, or an unknown role.
    """
    expected = {}
    for role_name, profiles in _read_toml(path).get("load", {}).items():
        if role_name not in ROLES:
            raise ExampleDefinitionError(f"{path}: [load.{role_name}]: no model role of that name")
        for profile, entry in profiles.items():
            where = f"load.{role_name}.{profile}"
            parts = entry.get("warnings") if isinstance(entry, dict) else None
            expected[(role_name, profile)] = _warning_parts(path, where, parts)
    return expected


def discover_examples(
    package_dir: Path = PACKAGE_DIR,
    alt_text_file: Path = ALT_TEXT_FILE,
    expected_warnings_file: Path = EXPECTED_WARNINGS_FILE,
) -> list[Example]:
    """All examples of the package, in file order.

    Raises:
        ExampleDefinitionError: an example has a parameter the renderer cannot fill or no
            docstring (naming the file and line), or two examples share an id.
    """
    alt_texts = read_alt_texts(alt_text_file)
    expected_warnings = read_expected_warnings(expected_warnings_file)
    with pinned_sources(package_dir):
        examples = _discover(package_dir, alt_texts, expected_warnings)
    duplicates = {i for i, n in Counter(e.id for e in examples).items() if n > 1}
    if duplicates:
        raise ExampleDefinitionError(f"duplicate example ids: {sorted(duplicates)}")
    return examples


def id_of(topic: str, function: str) -> str:
    """An example's id: its module's name, a hyphen, and its function's name without
    ``example_``, every underscore written as a hyphen (``snippets/tokenization.py``'s
    ``example_two_sentences`` -> ``tokenization-two-sentences``). Its files are
    ``docs/generated/<id>.*``, its alt text and warnings are declared under ``[<id>]``."""
    return f"{topic}-{function.removeprefix('example_')}".replace("_", "-")


def _discover(
    package_dir: Path, alt_texts: dict[str, str], expected_warnings: dict[str, tuple[str, ...]]
) -> list[Example]:
    root = package_dir.resolve().parent
    known = (*ROLES, *EXTRA_PARAMETERS)
    examples = []
    for info in package_modules(package_dir).values():
        topic = info.name.rsplit(".", 1)[1]
        for name, node in info.nodes.items():
            if not (isinstance(node, ast.FunctionDef) and name.startswith("example_")):
                continue
            where = f"{info.path.relative_to(root)}:{node.lineno}"
            params = tuple(arg.arg for arg in node.args.args)
            unknown = [p for p in params if p not in known]
            if unknown:
                raise ExampleDefinitionError(
                    f"{where}: example {name} has parameters {unknown} that the renderer "
                    f"cannot fill; name them after model roles of snippets/profiles.py "
                    f"({', '.join(sorted(ROLES))}) or use 'device'"
                )
            caption = _caption(node)
            if not caption:
                raise ExampleDefinitionError(
                    f"{where}: example {name} needs a docstring; its first paragraph is the "
                    "caption under the output on the page"
                )
            example_id = id_of(topic, name)
            examples.append(
                Example(
                    id=example_id,
                    module=info.name,
                    function=name,
                    path=str(info.path.relative_to(root)),
                    line=node.lineno,
                    parameters=params,
                    roles=tuple(sorted(p for p in params if p in ROLES)),
                    caption=caption,
                    alt=alt_texts.get(example_id, ""),
                    code_hash=function_hash(info.name, name, package_dir),
                    libraries=tuple(sorted(imported_libraries(info.name, name, package_dir))),
                    expected_warnings=expected_warnings.get(example_id, ()),
                )
            )
    return examples
