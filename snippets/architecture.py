"""GPT-2's architecture, printed and counted.

GPT-2 is a decoder-only transformer: token and position embeddings (``wte``, ``wpe``), a
stack of identical blocks (``h``), a final layer norm (``ln_f``) and a linear map back
to the vocabulary (``lm_head``, which shares its weights with ``wte``). Each block is
``x + attn(ln_1(x))`` then ``x + mlp(ln_2(x))``: pre-norm residual sublayers. ``Conv1D``
is GPT-2's name for a linear layer with transposed weights; ``c_attn`` computes queries,
keys and values at once (3 x 768 = 2304 outputs).

References: Radford et al. 2019; transformers ``models/gpt2/modeling_gpt2.py``; Liu et
al. 2018, "Generating Wikipedia by Summarizing Long Sequences" (the decoder-only
arrangement)."""

from __future__ import annotations


# --8<-- [start:load]
def load_gpt2_config(checkpoint: str, revision: str | None = None):
    """GPT-2's configuration (``config.json``): layers, heads, width, positions,
    vocabulary."""
    from transformers import AutoConfig
    return AutoConfig.from_pretrained(checkpoint, revision=revision)


# --8<-- [end:load]


# --8<-- [start:printout]
def build_without_weights(config):
    """A ``GPT2LMHeadModel`` on the meta device: the real module tree, no memory for
    weights."""
    import torch
    from transformers import GPT2LMHeadModel
    with torch.device("meta"):
        return GPT2LMHeadModel(config)


def example_printout(gpt2_config):
    """GPT-2 printed as PyTorch modules: 12 identical blocks between the embeddings and
    the language-model head."""
    model = build_without_weights(gpt2_config)
    print(model)


# --8<-- [end:printout]


# --8<-- [start:parameters]
def example_parameters(gpt2_config):
    """Where GPT-2's 124 million parameters are (lm_head shares wte's weights)."""
    model = build_without_weights(gpt2_config)
    transformer = model.transformer
    def count(module) -> int:
        return sum(p.numel() for p in module.parameters())
    rows = [
        ("wte (token embeddings)", count(transformer.wte)),
        ("wpe (position embeddings)", count(transformer.wpe)),
        ("one block (attn + mlp + 2 norms)", count(transformer.h[0])),
        (f"all {len(transformer.h)} blocks", count(transformer.h)),
        ("ln_f (final norm)", count(transformer.ln_f)),
    ]
    for name, n in rows:
        print(f"{name:34} {n:>12,}")
    print(f"{'total (lm_head tied to wte)':34} {count(model):>12,}")


# --8<-- [end:parameters]
