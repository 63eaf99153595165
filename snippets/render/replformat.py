"""The lecture modules' format: ruff's, without empty lines inside a block.

A student pastes a page's code into Python's interactive shell, where an empty line ends the
statement being typed: after an empty line inside a function, the rest of the function fails
with ``IndentationError: unexpected indent``. ruff's formatter puts such lines inside functions
(after the imports of a function, around a function defined inside another), so the *lecture
modules* (the files of ``snippets/`` with a section that a page includes, ``# --8<--
[start:...]``) are formatted here: ruff's format (``snippets/ruff.toml``), then every empty
line whose next non-empty line is indented is removed. ``ruff format --check`` is run on every
other file; the noxfile passes these to it as exclusions.

Commands::

    python -m snippets.render.replformat            # format the lecture modules
    python -m snippets.render.replformat --check    # name the ones that differ, exit 1

Standard library only (the lint session has nothing but ruff); ruff runs as ``python -m ruff``.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tokenize
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = PACKAGE_DIR.parent
SECTION_MARKER = "# --8<-- [start:"


def lecture_modules(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """The modules of the package that pages include sections of, sorted."""
    return [
        path
        for path in sorted(package_dir.glob("*.py"))
        if SECTION_MARKER in path.read_text(encoding="utf-8")
    ]


def blank_lines_in_blocks(text: str) -> list[int]:
    """Line numbers (1-based) of the empty lines that end a block early in the REPL: empty,
    outside a string, and followed (after more empty lines) by an indented line.

    Raises:
        SyntaxError: ``text`` is not Python (tokenize's error).
    """
    empty = [
        token.start[0]
        for token in tokenize.generate_tokens(io.StringIO(text).readline)
        if token.type == tokenize.NL and not token.line.strip()
    ]
    lines = text.splitlines()
    found = []
    for number in empty:
        following = next((line for line in lines[number:] if line.strip()), "")
        if following[:1] in (" ", "\t"):
            found.append(number)
    return found


def without_blank_lines_in_blocks(text: str) -> str:
    """``text`` without the lines :func:`blank_lines_in_blocks` finds."""
    drop = set(blank_lines_in_blocks(text))
    lines = text.splitlines(keepends=True)
    return "".join(line for number, line in enumerate(lines, start=1) if number not in drop)


def formatted(path: Path) -> str:
    """What ``path`` should hold: ruff's format of it, without empty lines inside blocks.

    Raises:
        RuntimeError: ruff failed (a syntax error; its message names the file and line).
    """
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(path), "-"],
        input=path.read_text(encoding="utf-8"), capture_output=True, text=True, cwd=REPO_ROOT,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"ruff format {path}: {result.stderr.strip()}")
    return without_blank_lines_in_blocks(result.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m snippets.render.replformat",
        description="Format the lecture modules as ruff does, without the empty lines inside "
        "a block that end a function pasted into Python's interactive shell.",
    )
    parser.add_argument("--check", action="store_true",
                        help="change nothing; name the modules that differ and exit 1")  # fmt: skip
    args = parser.parse_args(argv)
    differ = []
    for path in lecture_modules():
        text = formatted(path)
        if text == path.read_text(encoding="utf-8"):
            continue
        differ.append(path.relative_to(REPO_ROOT))
        if not args.check:
            path.write_text(text, encoding="utf-8")
    if args.check and differ:
        for path in differ:
            text = (REPO_ROOT / path).read_text(encoding="utf-8")
            blank = blank_lines_in_blocks(text)
            where = (f"an empty line inside a block at line(s) {', '.join(map(str, blank))} "
                     "(it would end the block pasted into Python's shell)" if blank
                     else "ruff's format differs")  # fmt: skip
            print(f"replformat: {path}: {where}")
        print(f"replformat: {len(differ)} lecture module(s) not formatted; "
              "run `nox -s lint -- --fix`")  # fmt: skip
        return 1
    verb = "checked" if args.check else f"{len(differ)} reformatted of"
    print(f"replformat: {verb} {len(lecture_modules())} lecture modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
