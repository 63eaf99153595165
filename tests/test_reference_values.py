"""The lecture's reference values (from the original notebook), on the offline profile."""

from __future__ import annotations

import json
from pathlib import Path

from snippets.attention import SENTENCE
from snippets.classification import INPUT_TEXT
from snippets.profiles import ROLES
from snippets.tokenization import SEQUENCE

GENERATED = Path(__file__).resolve().parent.parent / "docs" / "generated"

COUNSELOR_IDS = [31053, 741, 273, 11, 3387, 4532, 534, 40305, 8106, 284, 1656, 355, 257, 1692,
                 11, 2138, 621, 355, 257, 3797]  # fmt: skip
COUNSELOR_TOKENS = ["Coun", "sel", "or", ",", "Ġplease", "Ġadjust", "Ġyour", "ĠZoom", "Ġfilter",
                    "Ġto", "Ġappear", "Ġas", "Ġa", "Ġhuman", ",", "Ġrather", "Ġthan", "Ġas",
                    "Ġa", "Ġcat"]  # fmt: skip
PANORAMIC_IDS = [101, 1996, 6090, 6525, 7712, 3193, 1997, 1996, 4153, 2001, 3052, 17904, 1012,
                 102]  # fmt: skip


def test_gpt2_bpe_ids_match_the_lecture(gpt2_tokenizer):
    assert gpt2_tokenizer.encode(SEQUENCE) == COUNSELOR_IDS
    assert gpt2_tokenizer.tokenize(SEQUENCE) == COUNSELOR_TOKENS
    assert gpt2_tokenizer.decode(COUNSELOR_IDS) == SEQUENCE


def test_gpt2_vocab_size_and_special_token(gpt2_tokenizer):
    assert len(gpt2_tokenizer) == 50257
    assert gpt2_tokenizer.eos_token == "<|endoftext|>"
    assert gpt2_tokenizer.eos_token_id == 50256


def test_wordpiece_ids_match_the_lecture(encoder):
    _, tokenizer = encoder
    assert tokenizer(INPUT_TEXT)["input_ids"] == PANORAMIC_IDS
    assert tokenizer.tokenize("breathtaking") == ["breath", "##taking"]


def test_gpt2_module_tree_matches_the_lecture():
    from transformers import GPT2Config

    from snippets.architecture import build_without_weights

    model = build_without_weights(GPT2Config())
    printed = str(model)
    assert "(0-11): 12 x GPT2Block(" in printed
    assert "(c_attn): Conv1D(nf=2304, nx=768)" in printed
    assert "(c_fc): Conv1D(nf=3072, nx=768)" in printed
    assert "(wte): Embedding(50257, 768)" in printed
    assert "(wpe): Embedding(1024, 768)" in printed
    assert "(lm_head): Linear(in_features=768, out_features=50257, bias=False)" in printed
    assert sum(p.numel() for p in model.parameters()) == 124_439_808


def test_rendered_assets_carry_the_reference_values():
    summary = (GENERATED / "tokenization-summary.txt").read_text()
    assert f"Token ids: {COUNSELOR_IDS}" in summary
    assert "Vocabulary size: 50257" in summary
    printout = (GENERATED / "architecture-printout.txt").read_text()
    assert "(c_attn): Conv1D(nf=2304, nx=768)" in printout
    assert "(0-11): 12 x GPT2Block(" in printout
    config = (GENERATED / "classification-step2-config.txt").read_text()
    assert '"0": "NEGATIVE"' in config and '"1": "POSITIVE"' in config
    ids = (GENERATED / "classification-step3-input-ids.txt").read_text()
    assert "101,  1996,  6090,  6525,  7712,  3193,  1997,  1996,  4153,  2001" in ids
    inference = (GENERATED / "classification-step45-inference.txt").read_text()
    assert "'label': 'POSITIVE'" in inference


def test_attention_sentence_tokens(encoder):
    _, tokenizer = encoder
    tokens = tokenizer.tokenize(SENTENCE)
    assert tokens.index("it") > tokens.index("animal")
    assert len(tokens) == 13


def test_manifest_records_provenance():
    manifest = json.loads((GENERATED / "manifest.json").read_text())
    entry = manifest["examples"]["tokenization-summary"]
    (model,) = entry["models"]
    profile = entry["key_parts"]["profile"]  # offline here; hub when a GPU runner rendered
    if profile == "hub":
        expected = (ROLES["gpt2_tokenizer"].hub_id, ROLES["gpt2_tokenizer"].hub_revision)
        assert (model["name"], model["revision"]) == expected
    else:
        assert model["name"] == "local folder gpt2-files"
        assert model["revision"].startswith("snippets.offline:make_gpt2_files@")
    assert model["description"] == ROLES["gpt2_tokenizer"].caption(profile)
    assert entry["source"].startswith("snippets/tokenization.py:")
    locked, exact = entry["key_parts"]["versions"], entry["provenance"]["versions"]
    assert set(locked) == set(exact) == {"torch", "transformers", "tokenizers"}
    # Freshness compares the locked versions without build labels; provenance keeps them.
    assert "+" not in locked["torch"] and exact["torch"].split("+")[0] == locked["torch"]
    assert all(exact[name].split("+")[0] == locked[name] for name in locked)
    fragment = (GENERATED / "tokenization-summary.md").read_text()
    assert f"transformers {exact['transformers']}, torch {exact['torch']}" in fragment
    figure = manifest["examples"]["history-timeline"]["key_parts"]["versions"]
    assert set(figure) == {"matplotlib"}
