"""Homework 2, started: attention in two models of different size.

The homework asks to load two models of different sizes and compare their attention.
Here the two are the lecture's small decoder (the text generator: under the offline
profile a 2-block, 4-head GPT-2 of 6.8 M parameters; under the hub profile GPT-2 with 12
blocks and 12 heads) and its encoder (MiniLM, 6 blocks of 12 heads; BERT base under the
hub profile). A summary number per layer makes them comparable: the *entropy* of each
attention row, averaged over heads and tokens, in bits. Low entropy means sharp
attention on few tokens, high entropy attention spread evenly (at most log2 T bits for T
tokens)."""

from __future__ import annotations

from snippets.attention import DECODER_SENTENCE, SENTENCE, attentions_for


# --8<-- [start:two-sizes]
def mean_entropy_bits(attention) -> float:
    """Mean entropy (bits) of the rows of one layer's attention, shape (1, heads, T, T).

    Rows of a causal decoder have fewer candidates (row i has i + 1 tokens), so compare
    layers of one model with care, and models with the normalized entropy."""
    import torch
    p = attention.clamp_min(1e-12)
    return float(-(p * torch.log2(p)).sum(-1).mean())


def example_two_sizes(generator, encoder):
    """Two models side by side: the mean entropy of attention rows, layer by layer. Low
    values are sharp attention on a few tokens, high values attention spread over many;
    compare the depth of the two models and how their layers differ."""
    import matplotlib.pyplot as plt
    decoder = generator.model, generator.tokenizer
    models = {}  # "name (size)" -> (tokens, attentions)
    for name, (model, tokenizer), sentence in (
        ("decoder", decoder, DECODER_SENTENCE),
        ("encoder", encoder, SENTENCE),
    ):
        size = f"{model.num_parameters() / 1e6:.1f} M parameters"
        models[f"{name} ({size})"] = attentions_for(model, tokenizer, sentence)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for (name, (tokens, attentions)), marker in zip(models.items(), "os", strict=True):
        entropies = [mean_entropy_bits(a) for a in attentions]
        ax.plot(
            range(len(entropies)),
            entropies,
            marker=marker,
            label=f"{name}, {len(tokens)} tokens",
        )
        print(
            f"{name}: {len(attentions)} layers x {attentions[0].shape[1]} heads; "
            # fmt: skip
            f"entropy per layer (bits): {[round(e, 2) for e in entropies]}"
        )
    ax.set(xlabel="layer", ylabel="mean attention entropy (bits)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --8<-- [end:two-sizes]
