"""Warnings are outputs: capture what an example prints and warns, in the order it happens.

A student who runs an example in a notebook sees its printed lines (stdout and stderr) and,
between them, the Python warnings (``warnings.warn``) and transformers' log warnings
(``[transformers] ...`` on stderr) it triggers. :func:`capture` collects them into one text, so
the page shows what the notebook would. Which warnings an example is expected to emit is declared in
``docs/expected-warnings.toml``; :func:`undeclared` and :func:`missing` compare the two, and
:func:`check_warnings` (an example's) and :func:`check_load_warnings` (a model load's) fail what
differs from its declaration.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snippets.render.examples import Example


@dataclass
class Capture:
    """What a block of code printed and warned.

    Attributes:
        text: stdout, stderr and the warnings, interleaved in the order they happened; a Python
            warning reads ``UserWarning: message``, a transformers log ``[transformers] message``.
        warnings: the warnings alone, in the same form.
    """

    text: str = ""
    warnings: list[str] = field(default_factory=list)


class _Stream(io.StringIO):
    """stdout and warnings go into one buffer; the warnings are also kept on their own."""

    def __init__(self, capture: Capture) -> None:
        super().__init__()
        self.capture = capture

    def warn(self, line: str) -> None:
        line = line.rstrip("\n")
        self.capture.warnings.append(line)
        self.write(line + "\n")


class _WarningHandler(logging.Handler):
    def __init__(self, stream: _Stream) -> None:
        super().__init__(level=logging.WARNING)
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        self.stream.warn(f"[transformers] {record.getMessage()}")


@contextlib.contextmanager
def capture() -> Iterator[Capture]:
    """Collect stdout, stderr, Python warnings and transformers' warning logs of the ``with``
    block.

    Python's warning filters are left as they are (``python -W error`` still turns a warning
    into an exception); what they let through is recorded instead of printed to stderr. Each
    capture starts afresh: a warning already shown once in this process (Python's
    once-per-location registry, transformers' ``warning_once``) is shown again, so an example's
    output does not depend on which examples ran before it.
    """
    from transformers.utils import logging as hf_logging

    result = Capture()
    stream = _Stream(result)
    handler = _WarningHandler(stream)
    library_logger = logging.getLogger("transformers")
    previous_level = hf_logging.get_verbosity()
    logging.Logger.warning_once.cache_clear()  # transformers' once-only warnings: again
    hf_logging.set_verbosity_warning()
    hf_logging.disable_default_handler()  # no second copy on the console
    library_logger.addHandler(handler)

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
        stream.warn(f"{category.__name__}: {message}")

    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(stream),
            contextlib.redirect_stderr(stream),  # a notebook shows stderr in the output too
        ):
            # catch_warnings() invalidates the once-per-location registries on entry.
            warnings.showwarning = show
            yield result
    finally:
        library_logger.removeHandler(handler)
        hf_logging.enable_default_handler()
        hf_logging.set_verbosity(previous_level)
        result.text = stream.getvalue()


def undeclared(emitted: list[str], expected: tuple[str, ...]) -> list[str]:
    """The emitted warnings that contain none of the ``expected`` substrings."""
    return [line for line in emitted if not any(part in line for part in expected)]


def missing(emitted: list[str], expected: tuple[str, ...]) -> list[str]:
    """The ``expected`` substrings that no emitted warning contains."""
    return [part for part in expected if not any(part in line for line in emitted)]


class UnexpectedWarningError(RuntimeError):
    """An example warned what ``docs/expected-warnings.toml`` does not declare, or the reverse."""


def check_declared(emitted: list[str], expected: tuple[str, ...], subject: str, table: str):
    """Compare what ``subject`` warned with its declaration, the ``[table]`` of
    ``docs/expected-warnings.toml`` (an example id, or ``load.<role>.<profile>``).

    Raises:
        UnexpectedWarningError: a warning no declared part matches, or a declared part that no
            warning matches; the message says what to write in the file.
    """
    unexpected = undeclared(emitted, expected)
    absent = missing(emitted, expected)
    problems = []
    if unexpected:
        problems.append(
            f"{subject} emitted {unexpected}, which docs/expected-warnings.toml does not declare"
        )
    if absent:
        problems.append(
            f"docs/expected-warnings.toml declares {absent} for it; what it emitted "
            f"({emitted or 'nothing'}) is not the declared warning"
        )
    if problems:
        raise UnexpectedWarningError(
            "; ".join(problems) + ". Fix the cause, or declare what it emits (its output shows "
            f'it) and explain it on the page: [{table}] warnings = ["<part of the message>"]'
        )


def check_warnings(example: Example, emitted: list[str]) -> None:
    """Fail an example whose warnings differ from its declaration (:func:`check_declared`)."""
    check_declared(emitted, example.expected_warnings, "it", example.id)


def check_load_warnings(role: str, profile: str, emitted: list[str]) -> list[str]:
    """What loading ``role`` warned, if ``[load.<role>.<profile>]`` of
    ``docs/expected-warnings.toml`` declares exactly that (:func:`check_declared`)."""
    from snippets.render.examples import read_expected_load_warnings

    expected = read_expected_load_warnings().get((role, profile), ())
    subject = f"loading model role {role!r} ({profile} profile)"
    check_declared(emitted, expected, subject, f"load.{role}.{profile}")
    return emitted
