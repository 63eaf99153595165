"""The lecture's code: attention properties, generation without warnings, training, sentiment."""

from __future__ import annotations

import logging
import warnings

import pytest
import torch

from snippets.attention import (
    DECODER_SENTENCE,
    SENTENCE,
    attentions_for,
    strongest_head,
)


def test_encoder_attentions_are_row_stochastic(encoder):
    model, tokenizer = encoder
    tokens, attentions = attentions_for(model, tokenizer, SENTENCE)
    assert len(tokens) == 15 and tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    assert len(attentions) == 6
    for layer in attentions:
        assert layer.shape == (1, 12, 15, 15)
        torch.testing.assert_close(layer.sum(-1), torch.ones(1, 12, 15), atol=1e-5, rtol=0)
        assert (layer >= 0).all()


def test_decoder_attention_is_causal(tiny_generator):
    tokens, attentions = attentions_for(
        tiny_generator.model, tiny_generator.tokenizer, DECODER_SENTENCE
    )
    assert tokens == ["No", ",", "ĠI", "Ġam", "Ġyour", "Ġfather"]
    stacked = torch.cat(attentions)  # (layers, heads, T, T)
    upper = torch.triu(torch.ones(6, 6, dtype=torch.bool), 1)
    assert stacked[..., upper].abs().max() == 0
    torch.testing.assert_close(stacked.sum(-1), torch.ones(2, 2, 6), atol=1e-5, rtol=0)


def test_sdpa_model_is_refused_with_a_clear_message(gpt2_tokenizer):
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(n_layer=1, n_head=2, n_embd=16, attn_implementation="sdpa")
    model = GPT2LMHeadModel(config)
    with pytest.raises(RuntimeError, match='attn_implementation="eager"'):
        attentions_for(model, gpt2_tokenizer, DECODER_SENTENCE)


def test_strongest_head_finds_the_planted_head():
    attentions = tuple(torch.full((1, 3, 4, 4), 0.25) for _ in range(2))
    attentions[1][0, 2, 3, 1] = 0.9
    assert strongest_head(attentions, source=3, target=1) == (1, 2, pytest.approx(0.9))


def test_it_attends_to_animal_in_some_head(encoder):
    model, tokenizer = encoder
    tokens, attentions = attentions_for(model, tokenizer, SENTENCE)
    layer, head, weight = strongest_head(attentions, tokens.index("it"), tokens.index("animal"))
    assert 0 <= layer < 6 and 0 <= head < 12
    assert weight > 1 / len(tokens)  # more than a uniform share


def test_generation_example_raises_no_warning(tiny_generator, capsys, caplog):
    from snippets.generation import example_five_continuations

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with caplog.at_level(logging.WARNING):
            example_five_continuations(tiny_generator)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5 and all(line.startswith(f"{i}. ") for i, line in enumerate(lines, 1))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_next_token_distribution_sums_to_one(tiny_generator):
    from snippets.sequences import PROMPT, next_token_distribution

    p = next_token_distribution(tiny_generator.model, tiny_generator.tokenizer, PROMPT)
    assert p.shape == (50257,)
    assert p.sum().item() == pytest.approx(1.0, abs=1e-5)


def test_chain_rule_matches_the_model_loss(tiny_generator):
    from snippets.sequences import sequence_log_probability

    text = "My dog really wanted to eat icecream"
    model, tokenizer = tiny_generator.model, tiny_generator.tokenizer
    ids = tokenizer(text, return_tensors="pt").input_ids
    with torch.no_grad():
        mean_nll = model(ids, labels=ids).loss.item()  # averaged over the T-1 predictions
    expected = -mean_nll * (ids.shape[1] - 1)
    assert sequence_log_probability(model, tokenizer, text) == pytest.approx(expected, rel=1e-4)


def test_training_loop_lowers_the_loss_and_saves_a_loadable_model(tmp_path):
    from transformers import AutoModelForCausalLM

    from snippets.offline import gpt2_tokenizer
    from snippets.training import train_tiny_gpt2

    log = train_tiny_gpt2(tmp_path, gpt2_tokenizer(), steps=4)
    assert log["losses"][0] == pytest.approx(10.8, abs=0.3)  # ln 50257: a uniform guess
    assert log["losses"][-1] < log["losses"][0]
    assert log["corpus_sentences"] == 4000 and log["parameters"] == 6_846_080
    model = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert model.config.n_layer == 2 and (tmp_path / "training_log.json").exists()


def test_sentiment_data_are_balanced_and_disjoint():
    from snippets.corpus import sentiment_examples

    train, heldout = sentiment_examples("train"), sentiment_examples("heldout")
    assert len(train) == 200 and len(heldout) == 32
    assert sum(label for _, label in train) == 100
    assert not {t for t, _ in train} & {t for t, _ in heldout}
    with pytest.raises(ValueError, match="unknown split 'test'"):
        sentiment_examples("test")


def test_classify_returns_pipeline_shaped_answer(encoder):
    from transformers import AutoModelForSequenceClassification

    from snippets.classification import INPUT_TEXT, classify
    from snippets.offline import minilm_path
    from snippets.sentiment import LABELS

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(
        minilm_path(), num_labels=2, id2label=LABELS
    ).eval()
    result = classify(model, encoder[1], INPUT_TEXT)
    assert result["label"] in ("NEGATIVE", "POSITIVE")
    assert sum(result["probabilities"]) == pytest.approx(1.0, abs=1e-6)
    assert result["score"] == max(result["probabilities"])
    assert model.config.id2label == {0: "NEGATIVE", 1: "POSITIVE"}


def test_text_longer_than_the_model_is_a_clear_error(tiny_generator):
    """The tiny test model has 64 positions: 65+ tokens fail with the limit named."""
    from snippets.sequences import next_token_distribution, sequence_log_probability

    model, tokenizer = tiny_generator.model, tiny_generator.tokenizer
    text = "word " * 100
    for function in (next_token_distribution, sequence_log_probability):
        with pytest.raises(ValueError, match=r"101 tokens, but .* reads at most 64 positions"):
            function(model, tokenizer, text)
    with pytest.raises(ValueError, match="at most 64 positions"):
        attentions_for(model, tokenizer, text)


def test_attentions_take_one_text_not_a_batch(encoder):
    with pytest.raises(TypeError, match="takes one text, not list"):
        attentions_for(*encoder, [SENTENCE, SENTENCE])


def test_offline_tokenizers_carry_the_real_length_limit(gpt2_tokenizer):
    from snippets.profiles import load

    assert gpt2_tokenizer.model_max_length == 1024
    assert len(gpt2_tokenizer("word " * 2000, truncation=True).input_ids) == 1024
    _, trained_tokenizer = load("trained_gpt2")
    assert trained_tokenizer.model_max_length == 128


def test_long_text_to_the_classifier_is_truncated_at_512(encoder):
    from transformers import AutoModelForSequenceClassification

    from snippets.classification import INPUT_TEXT, classify
    from snippets.offline import minilm_path

    model = AutoModelForSequenceClassification.from_pretrained(minilm_path(), num_labels=2).eval()
    text = (INPUT_TEXT + " ") * 60  # 722 tokens
    assert len(encoder[1](text).input_ids) > 512
    result = classify(model, encoder[1], text)
    assert sum(result["probabilities"]) == pytest.approx(1.0, abs=1e-6)


def test_a_batch_gives_what_each_prompt_gives_alone(tiny_generator):
    """Left padding: batched greedy continuations equal the unbatched ones, prompt by prompt."""
    from snippets.generation import PROMPTS

    batched = tiny_generator(PROMPTS, batch_size=3, max_new_tokens=8, do_sample=False)
    alone = [tiny_generator(p, max_new_tokens=8, do_sample=False) for p in PROMPTS]
    assert [b[0]["generated_text"] for b in batched] == [a[0]["generated_text"] for a in alone]


@pytest.fixture(scope="module")
def stand_in_generator():
    """The tiny GPT-2 that the lecture trains (2 layers, 128 positions, GPT-2's tokenizer), as
    the pipeline that the examples make of its folder."""
    from snippets.generation import load_generator
    from snippets.profiles import checkpoint

    return load_generator(*checkpoint("trained_gpt2"))


def test_generation_past_the_positions_warns_then_hole_truncates(stand_in_generator):
    from snippets.generation import PROMPT
    from snippets.render.capture import capture

    generator = stand_in_generator
    long_prompt = "The kitten found the cake. " * 40 + PROMPT
    with capture() as output, pytest.raises(IndexError):  # what a student meets without help
        generator(long_prompt, max_new_tokens=5, do_sample=False)
    ids = generator.tokenizer(long_prompt, return_tensors="pt").input_ids  # (1, 249)
    assert ids.shape[1] > 128
    assert f"({ids.shape[1]} > 128)" in output.text  # the tokenizer's warning names the limit
    (output,) = generator(
        long_prompt, max_new_tokens=10, do_sample=False, handle_long_generation="hole"
    )
    # "hole" keeps the prompt's last 128 - 10 tokens: the same as generating from them directly.
    kept = ids[:, -118:]
    direct = generator.model.generate(
        kept, attention_mask=torch.ones_like(kept), max_new_tokens=10, do_sample=False
    )
    new_text = generator.tokenizer.decode(direct[0, 118:], skip_special_tokens=True)
    assert output["generated_text"] == long_prompt + new_text
    with pytest.raises(ValueError, match="exceeds the models max length"):
        generator(PROMPT, max_new_tokens=128, handle_long_generation="hole")


def test_the_seed_one_liner_samples_with_the_pipeline_defaults(stand_in_generator):
    from snippets.generation import example_seed_one_liner
    from snippets.render.capture import capture

    with capture() as output:
        example_seed_one_liner(stand_in_generator)
    assert output.warnings == []  # transformers 5.24 warns about none of it
    lines = output.text.splitlines()
    assert lines[0] == "prompt: 9 tokens"
    new_tokens = [int(line.split("(")[1].split()[0]) for line in lines[1:6]]
    assert all(1 <= n <= 11 for n in new_tokens)  # max_length=20 counts the 9 prompt tokens
    assert lines[6] == (
        "the pipeline's defaults: max_new_tokens=256, do_sample=True, temperature=0.7"
    )
    # ... of which the call's max_length leaves max_new_tokens out (transformers 4.53 did not)
    assert "'do_sample': True, 'temperature': 0.7}" in lines[7]
    assert "max_new_tokens" not in lines[7] and "'max_length': 20" in lines[7]
    assert lines[8] == "and takes from its own defaults: top_k=50, top_p=1.0"


def test_stop_strings_need_the_tokenizer(stand_in_generator):
    from snippets.generation import PROMPT

    with pytest.raises(ValueError, match="could not locate a tokenizer"):
        stand_in_generator(PROMPT, max_new_tokens=30, do_sample=False, stop_strings=["."])
    (output,) = stand_in_generator(
        PROMPT,
        max_new_tokens=30,
        do_sample=False,
        stop_strings=["."],
        tokenizer=stand_in_generator.tokenizer,
    )
    continuation = output["generated_text"][len(PROMPT) :]
    assert continuation.endswith(".") and continuation.count(".") == 1


def test_emoji_are_bytes_for_gpt2_and_unknown_for_wordpiece(gpt2_tokenizer, encoder):
    ids = gpt2_tokenizer.encode("😃")
    assert ids == [47249, 225]  # U+1F603 is 4 UTF-8 bytes: F0 9F 98 83, in two tokens
    assert [gpt2_tokenizer.decode([i]) for i in ids] == ["\ufffd", "\ufffd"]
    assert gpt2_tokenizer.decode(ids) == "😃"
    bert_tokenizer = encoder[1]
    assert bert_tokenizer.tokenize("I love it 😃😃😃") == ["i", "love", "it", "[UNK]"]
    assert bert_tokenizer("😃😃😃").input_ids == [101, 100, 102]  # [CLS] [UNK] [SEP]
