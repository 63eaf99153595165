"""Which model makes which output: every example declares its point, and the render keeps the
rule (an output of what a pretrained model does never comes from a model trained here); an
output keeps its id only while its point stays the same; nothing of a removed example stays."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from snippets.profiles import ROLES
from snippets.render import manifest as mf
from snippets.render.examples import (
    MODEL_CHOICES_FILE,
    POINTS,
    ExampleDefinitionError,
    discover_examples,
    read_model_choices,
)

REPO = Path(__file__).resolve().parent.parent
GENERATED = REPO / "docs" / "generated"


def choices_with(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of docs/model-choices.toml with ``old`` replaced by ``new``."""
    text = MODEL_CHOICES_FILE.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "model-choices.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_every_example_declares_its_point_and_no_pretrained_one_uses_a_model_trained_here():
    examples = discover_examples()
    assert {e.id for e in examples} == set(read_model_choices())
    for example in examples:
        assert example.point in POINTS and len(example.why) >= 20, example.id
        trained = [r for r in example.roles if ROLES[r].trained]
        if example.point == "pretrained":
            assert set(trained) <= set(example.contrast), example.id
    by_id = {e.id: e for e in examples}
    # The outputs the issue named: what a pretrained model writes, predicts and attends to.
    for example_id in ("sequences-next-token", "sequences-chain-rule",
                       "generation-five-continuations", "attention-model-view",
                       "attention-head-roles", "homework-two-sizes"):  # fmt: skip
        assert by_id[example_id].point == "pretrained", example_id
        assert not any(ROLES[r].trained_here("offline") for r in by_id[example_id].roles)
    # The tiny GPT-2 shows training or a mechanism, never what a pretrained model does.
    for example in examples:
        if "trained_gpt2" in example.roles and "trained_gpt2" not in example.contrast:
            assert example.point in ("training", "mechanism"), example.id


def test_a_pretrained_point_with_a_model_trained_here_is_refused_naming_file_and_role(tmp_path):
    path = choices_with(
        tmp_path,
        '[generation-length-limit]\npoint = "mechanism"',
        '[generation-length-limit]\npoint = "pretrained"',
    )
    with pytest.raises(ExampleDefinitionError) as error:
        discover_examples(model_choices_file=path)
    message = str(error.value)
    assert message.startswith("snippets/generation.py:")
    assert "example_length_limit" in message and "its point is 'pretrained'" in message
    assert "trained_gpt2" in message and "tiny GPT-2 that this lecture trains" in message
    # The classifier is trained here under the offline profile only: refused as well.
    path = choices_with(
        tmp_path,
        '[classification-step45-inference]\npoint = "mechanism"',
        '[classification-step45-inference]\npoint = "pretrained"',
    )
    with pytest.raises(ExampleDefinitionError, match="takes classifier, which the offline"):
        discover_examples(model_choices_file=path)


def test_a_contrast_role_must_be_taken_and_trained_here(tmp_path):
    path = choices_with(tmp_path, 'contrast = ["trained_gpt2"]', 'contrast = ["encoder"]')
    with pytest.raises(ExampleDefinitionError, match=r"contrast = \['encoder'\]"):
        discover_examples(model_choices_file=path)


def test_an_example_without_a_declaration_or_a_declaration_without_an_example_is_named(tmp_path):
    path = choices_with(tmp_path, "[training-memorisation]", "[training-memorization]")
    with pytest.raises(ExampleDefinitionError) as error:
        discover_examples(model_choices_file=path)
    assert "snippets/training.py:" in str(error.value)
    assert "example_memorisation needs an entry" in str(error.value)
    assert "[training-memorisation] with point = one of" in str(error.value)
    orphan = choices_with(
        tmp_path,
        "[history-timeline]",
        '[gone-example]\npoint = "mechanism"\n'
        'why = "an example that was removed long ago"\n\n[history-timeline]',
    )
    with pytest.raises(ExampleDefinitionError, match=r"\[gone-example\] names no example"):
        discover_examples(model_choices_file=orphan)
    bad = choices_with(tmp_path, 'point = "no weights"', 'point = "weightless"')
    with pytest.raises(ExampleDefinitionError, match="point = one of 'pretrained'"):
        read_model_choices(bad)


def test_an_output_whose_point_changed_keeps_no_id_check_says_so_and_render_refuses(
    tmp_path, monkeypatch, capsys
):
    generated = tmp_path / "generated"
    shutil.copytree(GENERATED, generated)
    examples = [replace(e, point="pretrained") if e.id == "generation-length-limit" else e
                for e in discover_examples()]  # fmt: skip
    problems, stale, _ = mf.check(examples, None, generated)
    (problem,) = [p for p in problems if p.kind == "point"]
    assert problem.name == "generation-length-limit"
    assert "point changed from 'mechanism' to 'pretrained'" in problem.reason
    assert "Rename example_length_limit in snippets/generation.py" in problem.reason
    assert "--force --only generation-length-limit" in problem.reason
    # The render stops before it imports torch or runs anything.
    from snippets.render import __main__ as cli

    monkeypatch.setattr(cli, "discover_examples", lambda: examples)
    before = {p.name: p.read_bytes() for p in generated.iterdir()}
    argv = ["--profile", "offline", "--device", "cpu", "--quiet", "--output-dir", str(generated)]
    assert cli.main([*argv, "--only", "generation-length-limit"]) == 2
    assert "generation-length-limit: its point changed" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in generated.iterdir()} == before


def test_a_removed_example_leaves_nothing_behind_and_check_says_so(tmp_path):
    from snippets.render.runner import render

    generated = tmp_path / "generated"
    shutil.copytree(GENERATED, generated)
    examples = [e for e in discover_examples() if e.id != "attention-head-roles"]
    problems, _, _ = mf.check(examples, None, generated)
    found = {(p.kind, p.name) for p in problems}
    assert ("orphaned", "attention-head-roles") in found  # its manifest entry
    assert {
        ("orphaned", "attention-head-roles.txt"),
        ("orphaned", "attention-head-roles.md"),
    } & found == set()  # its files are the entry's: named once, with it
    outcomes, _ = render(examples, [], mf.RenderSettings("offline", "cpu"), generated, False)
    assert {o.status for o in outcomes} == {"cached"}  # nothing executed
    assert not list(generated.glob("attention-head-roles.*"))
    assert "attention-head-roles" not in mf.Manifest.read(generated).entries
    assert mf.check(examples, None, generated)[0] == []


def test_a_changed_model_description_is_refreshed_without_executing(tmp_path):
    """A role's caption (what the build report and the hub check show) reaches the manifest's
    entries by a refresh, like a caption: no example runs again."""
    import json

    generated = tmp_path / "generated"
    shutil.copytree(GENERATED, generated)
    path = generated / mf.MANIFEST_NAME
    data = json.loads(path.read_text())
    data["examples"]["attention-grid"]["models"][0]["description"] = "stand-in for BERT base"
    path.write_text(json.dumps(data))
    problems, stale, refresh = mf.check(discover_examples(), None, generated)
    assert [(p.kind, p.name, p.reason) for p in problems] == [
        ("stale", "attention-grid", "a model's description changed")]  # fmt: skip
    assert stale == [] and [e.id for e in refresh] == ["attention-grid"]
    mf.refresh_fragments(refresh, generated)
    entry = mf.Manifest.read(generated).entries["attention-grid"]
    assert entry.models[0]["description"] == ROLES["encoder"].caption("offline")
    assert mf.check(discover_examples(), None, generated)[0] == []
