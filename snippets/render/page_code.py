"""The code a page shows, as its reader sees it, and the check that it runs as pasted.

A page shows code in fenced ``python`` blocks, each made of includes of sections of the lecture
modules (``--8<-- "snippets/<topic>.py:<section>"``), and the outputs of examples
(``--8<-- "docs/generated/<example-id>.md"``). :func:`page_items` reads both, in page order,
and expands each block with pymdownx.snippets itself, configured as ``mkdocs.yml`` configures
it, so what is checked here, and what the notebooks are made of, is what the page shows.

:func:`check_page` plays a student who pastes a page's blocks, in order, into Python's
interactive shell (a fresh one per page, with an empty line after each block, as one presses
Enter): every block must be accepted line by line (an empty line inside a function ends it
there, and the rest fails), run without an error, and leave defined every name the page's code
uses (its functions' globals too, which only a call would look up); nothing may come from this
repository's package (a student without a clone has none of it); and every example whose output
the page includes must be defined by the page's own code.
"""

from __future__ import annotations

import ast
import builtins
import code
import contextlib
import dis
import io
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from snippets.codehash import PACKAGE
from snippets.render.manifest import REPO_ROOT

CONFIG = REPO_ROOT / "mkdocs.yml"
# A fenced python block or an example's output, either maybe indented (inside an admonition,
# such as a folded solution).
_ITEM = re.compile(
    r"^(?P<indent>[ \t]*)```python[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$"
    r'|^[ \t]*--8<-- "docs/generated/(?P<example>[\w-]+)\.md"[ \t]*$',
    re.MULTILINE | re.DOTALL,
)
_INCLUDE = re.compile(r'^--8<-- "([^"]+)"$')


class _TagTolerantLoader(yaml.SafeLoader):
    pass


# mkdocs.yml may use !!python and !relative tags; read it without constructing them.
_TagTolerantLoader.add_multi_constructor("", lambda loader, suffix, node: None)


def read_config(config_path: Path = CONFIG) -> dict[str, Any]:
    """``mkdocs.yml``, its tags (``!relative``) read as None."""
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
class CodeBlock:
    """One ``python`` block of a page, expanded as the site shows it.

    Attributes:
        page: the page's file name in ``docs/`` (``tokenization.md``).
        line: the line of the block's opening fence on the page.
        includes: what the block includes (``snippets/tokenization.py:setup``).
        code: the code the reader sees.
    """

    page: str
    line: int
    includes: tuple[str, ...]
    code: str
    solution: str = ""  # the title of the folded solution (``??? solution``) it is in

    @property
    def modules(self) -> tuple[str, ...]:
        """The modules of the package the block's code comes from (``snippets.tokenization``)."""
        found = []
        for target in self.includes:
            path = target.split(":", 1)[0]
            if path.startswith(f"{PACKAGE}/") and path.endswith(".py"):
                found.append(path.removesuffix(".py").replace("/", "."))
        return tuple(found)


@dataclass(frozen=True)
class OutputInclude:
    """An example's output, included on a page (``--8<-- "docs/generated/<id>.md"``)."""

    page: str
    line: int
    example_id: str
    solution: str = ""  # the title of the folded solution (``??? solution``) it is in


def _snippets_options(config_path: Path) -> dict:
    """pymdownx.snippets' options from ``mkdocs.yml``, the base path made absolute."""
    options: dict = {}
    for entry in read_config(config_path).get("markdown_extensions") or []:
        if isinstance(entry, dict) and "pymdownx.snippets" in entry:
            options = dict(entry["pymdownx.snippets"] or {})
    # mkdocs.yml gives the base path as !relative $config_dir: the folder of mkdocs.yml.
    options["base_path"] = [str(config_path.parent)]
    return options


def _expander(config_path: Path):
    import markdown

    md = markdown.Markdown(
        extensions=["pymdownx.snippets"],
        extension_configs={"pymdownx.snippets": _snippets_options(config_path)},
    )
    return md.preprocessors["snippet"]


# A fence of four or more backticks quotes Markdown (a page that shows how to write a page):
# the blocks inside it are text, not the page's code.
_QUOTED = re.compile(r"^([ \t]*)(`{4,}|~{4,})[^\n]*\n.*?^\1\2[ \t]*$", re.MULTILINE | re.DOTALL)


def _hide_quoted_blocks(text: str) -> str:
    """``text`` with every block quoted in a long fence blanked (line numbers kept)."""
    return _QUOTED.sub(lambda match: "\n" * match[0].count("\n"), text)


_SOLUTION = re.compile(r'^(?P<indent>[ \t]*)\?\?\?\+? solution "(?P<title>[^"]*)"')


def enclosing_solution(text: str, start: int) -> str:
    """The title of the folded solution (``??? solution "Title"``) whose body holds the
    line at ``start`` of ``text``, or "" when it is in none."""
    begins = text.rfind("\n", 0, start) + 1  # the start of the line
    own_line = text[begins:].split("\n", 1)[0]
    indent = len(own_line) - len(own_line.lstrip(" \t"))
    for line in reversed(text[:begins].split("\n")):
        if not line.strip():
            continue
        own = len(line) - len(line.lstrip(" \t"))
        if own < indent:
            match = _SOLUTION.match(line)
            if match:
                return match["title"]
            indent = own  # an enclosing block (a list, another admonition): look further out
        if own == 0:
            return ""
    return ""


def page_items(page_file: str, config_path: Path = CONFIG) -> list[CodeBlock | OutputInclude]:
    """The python blocks and the example outputs of ``docs/<page_file>``, in page order.

    Raises:
        ValueError: a python block holds something other than includes (code on a page is
            never pasted), naming the page and line.
        pymdownx.snippets.SnippetMissingError: an include names a file or section that does
            not exist.
    """
    docs_dir = config_path.parent / read_config(config_path).get("docs_dir", "docs")
    text = _hide_quoted_blocks((docs_dir / page_file).read_text(encoding="utf-8"))
    expander = _expander(config_path)
    items: list[CodeBlock | OutputInclude] = []
    for match in _ITEM.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        solution = enclosing_solution(text, match.start())
        if match["example"]:
            items.append(OutputInclude(page_file, line, match["example"], solution))
            continue
        indent = len(match["indent"])
        body = [raw[indent:] for raw in match["body"].splitlines()]
        includes = tuple(_INCLUDE.fullmatch(raw)[1] for raw in body if _INCLUDE.fullmatch(raw))
        if not includes or len(includes) != len([raw for raw in body if raw.strip()]):
            raise ValueError(
                f"docs/{page_file}:{line}: a python block holds only includes of sections of "
                '`snippets/` (--8<-- "snippets/<topic>.py:<section>"), never pasted code'
            )
        code_text = "\n".join(expander.run(body)).strip("\n") + "\n"
        items.append(CodeBlock(page_file, line, includes, code_text, solution))
    return items


def code_blocks(page_file: str, config_path: Path = CONFIG) -> list[CodeBlock]:
    """The python blocks of a page, in page order (see :func:`page_items`)."""
    return [item for item in page_items(page_file, config_path) if isinstance(item, CodeBlock)]


def global_names(code_object: types.CodeType) -> set[str]:
    """The global names that ``code_object`` and the functions, classes and comprehensions
    inside it load (what a call would look up in the module's namespace)."""
    names = {
        instruction.argval
        for instruction in dis.get_instructions(code_object)
        if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME")
    }
    for constant in code_object.co_consts:
        if isinstance(constant, types.CodeType):
            names |= global_names(constant)
    return names


def package_imports(tree: ast.AST) -> list[str]:
    """The imports of this repository's package in ``tree`` (``snippets.corpus``)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == PACKAGE]
        elif isinstance(node, ast.ImportFrom) and (
            node.level or (node.module or "").split(".")[0] == PACKAGE
        ):
            found.append("." * node.level + (node.module or ""))
    return found


class _Shell(code.InteractiveConsole):
    """Python's interactive shell, fed line by line; it records what it would print as an
    error instead of printing it."""

    def __init__(self, namespace: dict) -> None:
        super().__init__(namespace, filename="<stdin>")
        self.errors: list[str] = []

    def showsyntaxerror(self, filename=None, **kwargs) -> None:
        error = sys.exc_info()[1]
        self.errors.append(f"{type(error).__name__}: {error.msg} at {error.text!r}")

    def showtraceback(self) -> None:
        error = sys.exc_info()[1]
        self.errors.append(f"{type(error).__name__}: {error}")


@dataclass(frozen=True)
class Problem:
    """What goes wrong when a page's code is pasted, and where."""

    page: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"docs/{self.page}:{self.line}: {self.message}"


def check_page(page_file: str, config_path: Path = CONFIG) -> list[Problem]:
    """Paste the page's python blocks, in order, into a fresh interactive shell (see the
    module's docstring) and return what goes wrong (nothing: the page's code stands alone).

    The shell runs the blocks' top-level statements (definitions and constants); the
    functions are defined, not called.
    """
    from snippets.render.examples import discover_examples

    items = page_items(page_file, config_path)
    examples = {e.id: e for e in discover_examples()}
    namespace: dict = {"__name__": "__console__", "__doc__": None}
    shell = _Shell(namespace)
    problems: list[Problem] = []
    used: dict[str, CodeBlock] = {}
    defined_by: dict[str, CodeBlock] = {}  # the last block that bound each name, so far
    for item in items:
        if isinstance(item, OutputInclude):
            example = examples.get(item.example_id)
            block = defined_by.get(example.function) if example else None
            if example and (block is None or example.module not in block.modules):
                problems.append(Problem(item.page, item.line, (
                    f"the output of {item.example_id} is on the page, but not the code that "
                    f"made it: include the section of {example.path} that defines "
                    f"{example.function} before it"
                )))  # fmt: skip
            continue
        problems += _paste(shell, item)
        tree = ast.parse(item.code)
        for name in package_imports(tree):
            problems.append(Problem(item.page, item.line, (
                f"{', '.join(item.includes)} imports {name} from this repository: a student "
                "without a clone cannot; show what it needs on the page instead"
            )))  # fmt: skip
        for name in sorted(global_names(compile(tree, item.page, "exec"))):
            used.setdefault(name, item)
        for node in tree.body:
            defined_by.update(dict.fromkeys(bound_names(node), item))
    for name, block in sorted(used.items(), key=lambda entry: (entry[1].line, entry[0])):
        if name not in namespace and not hasattr(builtins, name):
            problems.append(Problem(block.page, block.line, (
                f"{', '.join(block.includes)} uses {name!r}, which no code on the page "
                "defines: include its section (or its setup section, for imports and "
                "constants) on the page"
            )))  # fmt: skip
    return problems


def _paste(shell: _Shell, block: CodeBlock) -> list[Problem]:
    """Feed ``block`` to ``shell`` line by line, then an empty line; the first error."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for number, line in enumerate([*block.code.splitlines(), ""], start=1):
            shell.push(line)
            if not shell.errors:
                continue
            error = shell.errors[0]
            shell.errors.clear()
            shell.resetbuffer()
            hint = (
                " (an empty line inside a block ends it in the shell: run `nox -s lint -- --fix`)"
                if "indent" in error
                else ""
            )
            return [Problem(block.page, block.line, (
                f"pasting {', '.join(block.includes)} into Python's shell fails at its "
                f"line {number}: {error}{hint}"
            ))]  # fmt: skip
    return []


def bound_names(node: ast.stmt) -> list[str]:
    """The names a top-level statement binds (definitions, assignments, imports)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Import | ast.ImportFrom):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    return [n.id for t in targets if t is not None for n in ast.walk(t) if isinstance(n, ast.Name)]
