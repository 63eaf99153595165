"""Attention from scratch (snippets/attention_scratch.py) equals the models' own attention, each of
its steps is needed for that, and the rendered output says so; the diagrams of
snippets/diagrams.py read every number from the configuration and refuse one they do not know."""

from __future__ import annotations

import types

import pytest
import torch

import snippets.attention_scratch as scratch
from snippets.render.manifest import GENERATED_DIR


def _gpt2_by_hand_matches(generator) -> bool:
    model = generator.model
    tokens, out = scratch.run_with_internals(model, generator.tokenizer, scratch.SENTENCE)
    same = []
    with torch.no_grad():
        for layer, block in enumerate(model.transformer.h):
            weights, _ = scratch.gpt2_attention_by_hand(
                block, model.config, out.hidden_states[layer]
            )
            same.append(torch.allclose(weights, out.attentions[layer], atol=scratch.ATOL))
    return all(same)


def _smollm2_by_hand_matches(instruct_generator, layers=range(30)) -> bool:
    model = instruct_generator.model
    tokens, out = scratch.run_with_internals(model, instruct_generator.tokenizer, scratch.SENTENCE)
    same = []
    with torch.no_grad():
        for layer in layers:
            weights, _ = scratch.smollm2_attention_by_hand(
                model.model.layers[layer], model.config, out.hidden_states[layer]
            )
            same.append(torch.allclose(weights, out.attentions[layer], atol=scratch.ATOL))
    return all(same)


def test_gpt2_by_hand_equals_the_model_in_every_layer(tiny_generator):
    assert _gpt2_by_hand_matches(tiny_generator)


def test_smollm2_by_hand_equals_the_model_in_every_layer(instruct_generator):
    assert _smollm2_by_hand_matches(instruct_generator)


def test_the_block_by_hand_equals_the_next_hidden_state(instruct_generator):
    """The weighted sum of values, o_proj and the rest of the block make hidden_states[l + 1]
    (the last hidden state has the final norm applied, so the last block is left out)."""
    model = instruct_generator.model
    _, out = scratch.run_with_internals(model, instruct_generator.tokenizer, scratch.SENTENCE)
    with torch.no_grad():
        for layer in range(model.config.num_hidden_layers - 1):
            block = model.model.layers[layer]
            x = out.hidden_states[layer]
            _, attended = scratch.smollm2_attention_by_hand(block, model.config, x)
            output = scratch.block_by_hand(x, attended, block.post_attention_layernorm, block.mlp)
            torch.testing.assert_close(output, out.hidden_states[layer + 1], atol=1e-4, rtol=0)


def test_each_step_is_needed(instruct_generator, tiny_generator, monkeypatch):
    """Leave out the scaling, the mask, the rotation or the grouping order, and the hand-made
    weights no longer equal the model's: the allclose check catches a broken computation."""
    first = range(2)
    with monkeypatch.context() as m:  # no division by sqrt(d_k)
        m.setattr(scratch, "math", types.SimpleNamespace(sqrt=lambda d: 1.0))
        assert not _smollm2_by_hand_matches(instruct_generator, first)
        assert not _gpt2_by_hand_matches(tiny_generator)
    with monkeypatch.context() as m:  # no causal mask
        m.setattr(scratch, "causal_mask", lambda T: torch.zeros(T, T))
        assert not _smollm2_by_hand_matches(instruct_generator, first)
        assert not _gpt2_by_hand_matches(tiny_generator)
    with monkeypatch.context() as m:  # no rotary position embedding
        m.setattr(scratch, "rotary", lambda x, theta: x)
        assert not _smollm2_by_hand_matches(instruct_generator, first)
    with monkeypatch.context() as m:  # key/value heads tiled (0 1 2 0 1 2 ...), not grouped
        m.setattr(torch.Tensor, "repeat_interleave", lambda t, n, dim: t.repeat(1, n, 1, 1))
        assert not _smollm2_by_hand_matches(instruct_generator, first)
    assert _smollm2_by_hand_matches(instruct_generator, first)  # and restored, it agrees


def test_the_mask_is_minus_infinity_above_the_diagonal_and_rows_sum_to_one():
    mask = scratch.causal_mask(4)
    assert mask.tolist()[1] == [0.0, 0.0, float("-inf"), float("-inf")]
    q, k = torch.randn(1, 2, 4, 8), torch.randn(1, 2, 4, 8)
    weights = scratch.attention_weights(q, k)
    torch.testing.assert_close(weights.sum(-1), torch.ones(1, 2, 4))
    assert weights[..., 0, 1:].abs().max() == 0  # the first token reads only itself


def test_a_scaled_rotary_embedding_is_refused_naming_the_field(instruct_generator):
    import copy

    config = copy.deepcopy(instruct_generator.model.config)
    config.rope_parameters = {"rope_type": "llama3", "rope_theta": 500000.0}
    block = instruct_generator.model.model.layers[0]
    with pytest.raises(ValueError, match=r"rope_parameters\['rope_type'\] is 'llama3'"):
        scratch.smollm2_qkv(block, config, torch.zeros(1, 3, config.hidden_size))


def test_the_rendered_outputs_show_allclose_true():
    for example in ("attention-scratch-gpt2-by-hand", "attention-scratch-smollm2-by-hand"):
        text = (GENERATED_DIR / f"{example}.txt").read_text()
        assert "torch.allclose(weights, output_attentions[0]): True" in text, example
        assert "torch.allclose(block output, hidden_states[1]): True" in text, example
    gpt2 = (GENERATED_DIR / "attention-scratch-gpt2-by-hand.txt").read_text()
    assert "      0  -inf  -inf  -inf  -inf  -inf" in gpt2  # the mask written out


def test_it_attends_mostly_to_animal_in_the_pictured_head(instruct_generator):
    """What the page says of the one-query picture: the row of "it" puts most of its weight on
    "animal", and none on the tokens after it."""
    from snippets.attention import strongest_head

    model = instruct_generator.model
    tokens, out = scratch.run_with_internals(model, instruct_generator.tokenizer, scratch.SENTENCE)
    i = tokens.index("Ġit")
    layer, head, weight = strongest_head(out.attentions, i, tokens.index("Ġanimal"))
    assert weight > 0.5
    assert out.attentions[layer][0, head, i, i + 1 :].abs().max() == 0


# -- Diagrams -------------------------------------------------------------------------------------


def test_the_diagram_reads_its_numbers_from_the_configuration(instruct_generator):
    from transformers import GPT2Config

    from snippets.diagrams import decoder_steps

    before, block, after, n = decoder_steps(GPT2Config())
    assert n == 12
    assert [s.module for s in before] == ["input_ids", "wte", "wpe"]
    assert "3 x (B, 12, T, 64)" in [s.shape for s in block]
    assert after[-1].shape == "logits (B, T, 50257)"
    before, block, after, n = decoder_steps(GPT2Config(n_layer=2, n_head=4, n_embd=128))
    assert n == 2 and "3 x (B, 4, T, 32)" in [s.shape for s in block]
    before, block, after, n = decoder_steps(instruct_generator.model.config)
    assert n == 30 and [s.module for s in before] == ["input_ids", "embed_tokens"]
    shapes = [s.shape for s in block]
    assert "(B, 9, T, 64)" in shapes and "2 x (B, 3, T, 64)" in shapes
    assert after[-1].shape == "logits (B, T, 49152)"


def test_an_unknown_architecture_is_refused_naming_the_field_and_draws_nothing():
    import matplotlib.pyplot as plt
    from transformers import BertConfig, GPT2Config

    from snippets.diagrams import draw_decoder

    plt.close("all")
    with pytest.raises(ValueError, match=r"config\.model_type = 'bert'"):
        draw_decoder(BertConfig(), "BERT")
    # a GPT-2 configuration without its activation (transformers' own configs refuse None)
    config = types.SimpleNamespace(**{**GPT2Config().to_dict(), "activation_function": None})
    with pytest.raises(ValueError, match="'gpt2' configuration has no 'activation_function'"):
        draw_decoder(config, "GPT-2 without its activation")
    assert plt.get_fignums() == []  # no half-drawn figure


def test_an_unknown_architecture_fails_its_example_in_a_render(tmp_path):
    """Rendered as an example, the refusal is the example's failure, naming the field, and it
    leaves no files."""
    from snippets.render.runner import render
    from tests.test_render import SETTINGS, fake_example

    generated = tmp_path / "generated"
    examples = [fake_example("example_diagram_of_an_encoder")]
    outcomes, _ = render(examples, examples, SETTINGS, generated, False)
    assert [o.status for o in outcomes] == ["failed"]
    assert "ValueError: no diagram for config.model_type = 'bert'" in outcomes[0].error
    assert not list(generated.glob("fake-diagram-of-an-encoder.*"))
