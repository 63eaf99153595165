"""Static discovery of the lecture's examples (nothing is imported but the role registry).

An *example* is a top-level function ``example_<name>`` of a module ``snippets/<topic>.py``. Its
parameters are model roles of ``snippets/profiles.py`` (the renderer passes what the role's
loader returns) or ``device``. The first paragraph of its docstring is the caption under its
output; the alt text of a figure or view lives in ``docs/alt-text.toml``, keyed by example id.

Every example declares in ``docs/model-choices.toml`` what its output shows, its *point*
(:data:`POINTS`), and why its models fit it. The rule they keep: an output that shows what a
pretrained model predicts, writes or attends to comes from a pretrained model (a real one under
both profiles); a model that this lecture trains (:meth:`~snippets.profiles.Role.trained_here`)
shows training, or a mechanism that any weights show, and its caption says which. Discovery
refuses an example that breaks it.
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
MODEL_CHOICES_FILE = PACKAGE_DIR.parent / "docs" / "model-choices.toml"
# What an example's output shows: its *point*, declared in docs/model-choices.toml.
POINTS = {
    "pretrained": "what a pretrained model predicts, writes or attends to",
    "training": "what training does to a model",
    "mechanism": "a mechanism that any weights show",
    "no weights": "what tokenizer files, a configuration or data hold, no model's weights",
}
# The shortest reason an example can give for its models.
MIN_WHY = 20
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
        point: what its output shows, a key of :data:`POINTS` (``docs/model-choices.toml``).
        why: why its models fit that point, in a sentence (shown under an output of a model
            that this lecture trains).
        contrast: roles of a model trained here that a ``pretrained`` example shows beside
            the pretrained one, for contrast (each such output says so).
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
    point: str = "mechanism"
    why: str = ""
    contrast: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelChoice:
    """An example's entry of ``docs/model-choices.toml``: its point, why, and contrast roles."""

    point: str
    why: str
    contrast: tuple[str, ...] = ()


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


def read_model_choices(path: Path = MODEL_CHOICES_FILE) -> dict[str, ModelChoice]:
    """``{example id: ModelChoice}`` from ``docs/model-choices.toml``.

    Raises:
        ExampleDefinitionError: the file is not valid TOML, or an entry lacks a known
            ``point`` or a ``why`` of at least :data:`MIN_WHY` characters, or names a
            ``contrast`` role that does not exist.
    """
    choices = {}
    for example_id, entry in _read_toml(path).items():
        entry = entry if isinstance(entry, dict) else {}
        point, why = entry.get("point"), entry.get("why")
        contrast = entry.get("contrast", [])
        if point not in POINTS:
            raise ExampleDefinitionError(
                f"{_shown(path)}: [{example_id}] needs a line point = one of "
                f"{', '.join(repr(p) for p in POINTS)} (found {point!r})"
            )
        if not isinstance(why, str) or len(why.strip()) < MIN_WHY:
            raise ExampleDefinitionError(
                f'{path}: [{example_id}] needs a line why = "why its models fit its point" '
                f"(at least {MIN_WHY} characters)"
            )
        if not (isinstance(contrast, list) and all(r in ROLES for r in contrast)):
            raise ExampleDefinitionError(
                f"{_shown(path)}: [{example_id}] contrast = a list of model roles "
                f"({', '.join(sorted(ROLES))}), found {contrast!r}"
            )
        choices[example_id] = ModelChoice(point, " ".join(why.split()), tuple(contrast))
    return choices


def model_choice_problem(example: Example) -> str:
    """What is wrong with ``example``'s models for its declared point ("" when nothing).

    The rule: a ``pretrained`` example takes no role that a profile fills with a model this
    lecture trains (its output would show what a few minutes of training on a small corpus
    learned, not what a pretrained model learned), except a role it declares as ``contrast``
    and takes too; a contrast role is one of those models."""
    for name in example.contrast:
        if name not in example.roles or not ROLES[name].trained:
            return (
                f"contrast = [{name!r}] names a role that {example.function} does not take, or "
                "not a model this lecture trains"
            )
    if example.point != "pretrained":
        return ""
    for name in example.roles:
        entry = ROLES[name]
        if entry.trained and name not in example.contrast:
            profiles = [p for p in ("offline", "hub") if entry.trained_here(p)]
            return (
                f"its point is 'pretrained' ({POINTS['pretrained']}), but it takes {name}, "
                f"which the {' and '.join(profiles)} profile fills with a model this lecture "
                f"trains ({entry.offline_caption}); show that with a pretrained model "
                "(generator, instruct_generator, encoder), or declare the point it shows "
                "(training, mechanism), or list the role under contrast"
            )
    return ""


def discover_examples(
    package_dir: Path = PACKAGE_DIR,
    alt_text_file: Path = ALT_TEXT_FILE,
    expected_warnings_file: Path = EXPECTED_WARNINGS_FILE,
    model_choices_file: Path = MODEL_CHOICES_FILE,
) -> list[Example]:
    """All examples of the package, in file order.

    Raises:
        ExampleDefinitionError: an example has a parameter the renderer cannot fill, no
            docstring, no entry in ``docs/model-choices.toml`` or models that break its rule
            (:func:`model_choice_problem`), naming the file and line; two examples share an
            id; or an entry of ``docs/model-choices.toml`` names no example.
    """
    alt_texts = read_alt_texts(alt_text_file)
    expected_warnings = read_expected_warnings(expected_warnings_file)
    choices = read_model_choices(model_choices_file)
    with pinned_sources(package_dir):
        examples = _discover(package_dir, alt_texts, expected_warnings, choices, model_choices_file)
    duplicates = {i for i, n in Counter(e.id for e in examples).items() if n > 1}
    if duplicates:
        raise ExampleDefinitionError(f"duplicate example ids: {sorted(duplicates)}")
    unknown = sorted(set(choices) - {e.id for e in examples})
    if unknown:
        raise ExampleDefinitionError(
            f"{_shown(model_choices_file)}: {', '.join(f'[{i}]' for i in unknown)} names no "
            "example "
            "(removed or renamed?): delete the entry, or rename it with its example"
        )
    return examples


def _shown(path: Path) -> str:
    """``path`` as a message shows it: relative to the repository when it is inside."""
    root = PACKAGE_DIR.parent
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def id_of(topic: str, function: str) -> str:
    """An example's id: its module's name, a hyphen, and its function's name without
    ``example_``, every underscore written as a hyphen (``snippets/tokenization.py``'s
    ``example_two_sentences`` -> ``tokenization-two-sentences``). Its files are
    ``docs/generated/<id>.*``, its alt text and warnings are declared under ``[<id>]``."""
    return f"{topic}-{function.removeprefix('example_')}".replace("_", "-")


def _discover(
    package_dir: Path,
    alt_texts: dict[str, str],
    expected_warnings: dict[str, tuple[str, ...]],
    choices: dict[str, ModelChoice],
    choices_file: Path,
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
            choice = choices.get(example_id)
            if choice is None:
                raise ExampleDefinitionError(
                    f"{where}: example {name} needs an entry in {_shown(choices_file)}: "
                    f"[{example_id}] with point = one of "
                    f"{', '.join(repr(p) for p in POINTS)} (what its output shows) and "
                    'why = "why its models fit that point"'
                )
            example = Example(
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
                point=choice.point,
                why=choice.why,
                contrast=choice.contrast,
            )
            problem = model_choice_problem(example)
            if problem:
                raise ExampleDefinitionError(
                    f"{where}: example {name} ([{example_id}] of {_shown(choices_file)}): {problem}"
                )
            examples.append(example)
    return examples
