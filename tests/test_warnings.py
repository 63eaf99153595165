"""Warnings are outputs: captured per example, shown in order, declared or the render fails."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from snippets.render import capture
from snippets.render import manifest as mf
from snippets.render.capture import UnexpectedWarningError, check_load_warnings
from snippets.render.examples import (
    ExampleDefinitionError,
    discover_examples,
    read_expected_load_warnings,
    read_expected_warnings,
)
from snippets.render.runner import render
from tests.fake_examples import example_warns
from tests.reproduce import differences, render_with_warnings_as_errors
from tests.test_render import SETTINGS, fake_example

REPO = Path(__file__).resolve().parent.parent
EXPECTED = ("[transformers] a transformers warning", "UserWarning: a Python warning")


def test_capture_interleaves_prints_and_both_kinds_of_warning_in_order():
    with capture.capture() as output:
        example_warns()
    assert output.text == (
        "before\n"
        "UserWarning: a Python warning from an example\n"
        "[transformers] a transformers warning\n"
        "after\n"
    )
    assert output.warnings == [
        "UserWarning: a Python warning from an example",
        "[transformers] a transformers warning",
    ]


def test_each_capture_starts_afresh_so_outputs_do_not_depend_on_order():
    # Python shows a warning once per location and transformers' warning_once once per process;
    # inside a capture both are shown again, as in a fresh notebook.
    for _ in range(2):
        with capture.capture() as output:
            example_warns()
        assert len(output.warnings) == 2


def test_python_warning_filters_still_apply():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="a Python warning"), capture.capture():
            example_warns()


def test_undeclared_and_missing_compare_parts_of_messages():
    emitted = ["UserWarning: first thing", "[transformers] second thing"]
    assert capture.undeclared(emitted, ("first",)) == ["[transformers] second thing"]
    assert capture.missing(emitted, ("first", "third")) == ["third"]
    both = ("first", "second")
    assert capture.undeclared(emitted, both) == capture.missing(emitted, both) == []


def _render(tmp_path: Path, example):
    generated = tmp_path / "generated"
    generated.mkdir()
    outcomes, _ = render([example], [example], SETTINGS, generated, False)
    return generated, outcomes[0]


def test_an_undeclared_warning_fails_the_example_and_writes_nothing(tmp_path: Path):
    generated, outcome = _render(tmp_path, fake_example("example_warns"))
    assert outcome.status == "failed"
    assert "fake-warns (tests/fake_examples.py:1): UnexpectedWarningError" in outcome.error
    assert "'UserWarning: a Python warning from an example'" in outcome.error
    assert "docs/expected-warnings.toml" in outcome.error
    assert '[fake-warns] warnings = ["<part of the message>"]' in outcome.error
    assert not list(generated.glob("fake-warns.*"))


def test_a_declared_warning_is_shown_in_the_output(tmp_path: Path):
    example = replace(fake_example("example_warns"), expected_warnings=EXPECTED)
    generated, outcome = _render(tmp_path, example)
    assert outcome.status == "executed"
    text = (generated / "fake-warns.txt").read_text()
    assert text.splitlines() == [
        "before",
        "UserWarning: a Python warning from an example",
        "[transformers] a transformers warning",
        "after",
    ]


def test_a_declared_warning_that_does_not_come_fails_too(tmp_path: Path):
    example = replace(fake_example("example_prints"), expected_warnings=("never emitted",))
    _, outcome = _render(tmp_path, example)
    assert outcome.status == "failed"
    assert "declares ['never emitted']" in outcome.error


def test_declarations_name_real_examples_and_are_well_formed(tmp_path: Path):
    declared = read_expected_warnings()
    ids = {e.id for e in discover_examples()}
    assert set(declared) <= ids, f"entries for no example: {sorted(set(declared) - ids)}"
    broken = tmp_path / "expected-warnings.toml"
    broken.write_text('[generation-length-limit]\nwarnings = "not a list"\n')
    with pytest.raises(ExampleDefinitionError, match=r"\[generation-length-limit\] needs a line"):
        read_expected_warnings(broken)


def test_every_declared_warning_is_in_its_committed_output():
    for example_id, parts in read_expected_warnings().items():
        text = (REPO / "docs" / "generated" / f"{example_id}.txt").read_text()
        for part in parts:
            assert part in text, f"{example_id}: its output does not show {part!r}"


@pytest.mark.slow
def test_every_example_renders_with_python_warnings_as_errors(full_render: Path, tmp_path: Path):
    """All examples, offline profile, ``python -W error`` (the session's ``full_render``): an
    undeclared warning (Python's or transformers') fails the render. The outputs agree with the
    committed ones where they were committed from the same settings: texts exact, floats within
    the tolerances across CPUs (the committed files may come from another CPU); elsewhere (a GPU
    runner's outputs) a second render here gives the same bytes. :mod:`tests.reproduce`."""
    assert len(mf.Manifest.read(full_render).entries) == len(discover_examples())

    def again(ids: list[str]) -> Path:
        return render_with_warnings_as_errors(tmp_path / "again", ids)

    found = differences(full_render, again)
    print("within tolerance:", *found.within, sep="\n  ")
    assert found.beyond == []


def test_model_loads_warn_only_what_is_declared_per_role_and_profile():
    assert read_expected_load_warnings() == {("encoder", "hub"): ("BertModel LOAD REPORT",)}
    report = ["[transformers] BertModel LOAD REPORT from: google-bert/bert-base-uncased ..."]
    assert check_load_warnings("encoder", "hub", report) == report
    assert check_load_warnings("encoder", "offline", []) == []
    with pytest.raises(UnexpectedWarningError, match=r"\[load.encoder.offline\] warnings"):
        check_load_warnings("encoder", "offline", report)  # the offline encoder has no heads
    with pytest.raises(UnexpectedWarningError, match="not the declared"):
        check_load_warnings("encoder", "hub", [])


def test_an_unknown_role_in_the_load_declarations_is_named(tmp_path: Path):
    path = tmp_path / "expected-warnings.toml"
    path.write_text('[load.decoder.hub]\nwarnings = ["x"]\n')
    with pytest.raises(ExampleDefinitionError, match=r"\[load.decoder\]: no model role"):
        read_expected_load_warnings(path)
