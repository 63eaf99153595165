"""Static discovery and dependency hashing: a changed helper re-renders exactly its users."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from snippets.codehash import PACKAGE_DIR, closure
from snippets.render.examples import ExampleDefinitionError, discover_examples


@pytest.fixture()
def package_copy(tmp_path: Path) -> Path:
    target = tmp_path / "snippets"
    shutil.copytree(PACKAGE_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "render"))
    return target


def hashes(package_dir: Path) -> dict[str, str]:
    return {e.id: e.code_hash for e in discover_examples(package_dir)}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_every_example_is_discovered_with_caption_and_roles():
    examples = {e.id: e for e in discover_examples()}
    assert len(examples) >= 30
    summary = examples["tokenization-summary"]
    assert summary.module == "snippets.tokenization"
    assert summary.roles == ("gpt2_tokenizer",)
    assert summary.path == "snippets/tokenization.py"
    assert summary.caption.startswith("GPT-2's tokenizer on the sentence")
    assert examples["history-timeline"].roles == ()
    assert examples["attention-it-head"].alt  # figures carry alt text (docs/alt-text.toml)
    assert "matplotlib" in examples["history-timeline"].libraries
    assert "bertviz" in examples["attention-head-view"].libraries
    assert "matplotlib" not in examples["tokenization-summary"].libraries


def test_closure_follows_helpers_constants_and_imports():
    deps = closure("snippets.tokenization", "example_summary")
    assert ("snippets.tokenization", "tokenization_summary") in deps
    assert ("snippets.tokenization", "SEQUENCE") in deps
    assert ("snippets.tokenization", "example_merges") not in deps
    # A function-level import of another snippets module is followed too.
    accuracy = closure("snippets.classification", "example_heldout_accuracy")
    assert ("snippets.sentiment", "accuracy") in accuracy
    assert ("snippets.corpus", "sentiment_examples") in accuracy


def test_changing_a_helper_changes_exactly_its_users(package_copy: Path):
    before = hashes(package_copy)
    edit(package_copy / "tokenization.py", 'print(f"Vocabulary size:', 'print(f"Vocab size:')
    after = hashes(package_copy)
    changed = {i for i in before if before[i] != after[i]}
    assert changed == {"tokenization-summary"}


def test_changing_a_shared_constant_changes_all_its_users(package_copy: Path):
    before = hashes(package_copy)
    edit(package_copy / "attention.py", 'DECODER_SENTENCE = "No, I am your father"',
         'DECODER_SENTENCE = "No, I am your mother"')  # fmt: skip
    after = hashes(package_copy)
    changed = {i for i in before if before[i] != after[i]}
    assert changed == {
        "attention-model-view", "attention-causal-mask", "attention-scratch-gpt2-by-hand",
    }  # fmt: skip


def test_prose_and_comments_outside_functions_change_nothing(package_copy: Path):
    before = hashes(package_copy)
    edit(package_copy / "attention.py", '"""Attention: what each token looks at.',
         '"""Attention: what each token looks at (edited).')  # fmt: skip
    assert hashes(package_copy) == before


def test_bad_example_parameter_is_named_with_file_and_line(package_copy: Path):
    (package_copy / "broken.py").write_text(
        'def example_bad(gpt3_tokenizer):\n    """Caption."""\n    return None\n'
    )
    with pytest.raises(
        ExampleDefinitionError, match=r"snippets/broken.py:1.*gpt3_tokenizer.*roles"
    ):
        discover_examples(package_copy)


def test_example_without_docstring_is_refused(package_copy: Path):
    (package_copy / "broken.py").write_text("def example_bare():\n    return None\n")
    with pytest.raises(ExampleDefinitionError, match="needs a docstring"):
        discover_examples(package_copy)


def test_layout_and_comments_change_no_hash_code_does(package_copy: Path):
    before = hashes(package_copy)
    path = package_copy / "tokenization.py"
    edit(
        path,
        "    vocab = tokenizer.get_vocab()",
        "    # a new comment\n    vocab = (\n        tokenizer.get_vocab()\n    )",
    )
    assert hashes(package_copy) == before  # reformatting re-renders nothing
    edit(path, "n_vocab_samples: int = 10", "n_vocab_samples: int = 11")
    changed = {k for k, v in hashes(package_copy).items() if v != before[k]}
    assert changed == {"tokenization-summary"}


def test_pinned_sources_read_the_files_once_and_edits_count_after(package_copy: Path):
    """Inside ``pinned_sources`` the package is looked at once (an edit made meanwhile is not
    seen, which is what keeps --check from re-reading files per example); after it, it is."""
    from snippets.codehash import package_modules, pinned_sources

    before = hashes(package_copy)
    with pinned_sources(package_copy) as modules:
        assert package_modules(package_copy) is modules
        edit(
            package_copy / "tokenization.py",
            "tokenizer on the sentence",
            "tokenizer, on the sentence",
        )
        assert hashes(package_copy) == before
    after = hashes(package_copy)
    changed = {i for i in before if after[i] != before[i]}
    assert "tokenization-summary" in changed and "history-timeline" not in changed
