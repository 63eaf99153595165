"""Homework 2, started: attention in two models of different size.

The homework asks to load two models of different sizes and compare their attention.
Here the two are a pretrained decoder, SmolLM2-135M-Instruct (30 blocks of 9 heads,
under both profiles), and the lecture's encoder (MiniLM, 6 blocks of 12 heads; BERT base
under the hub profile). A summary number per layer makes them comparable: the *entropy*
of each attention row, averaged over heads and tokens, in bits. Low entropy means sharp
attention on few tokens, high entropy attention spread evenly (at most log2 T bits for T
tokens).

SmolLM2 uses *grouped-query attention* (Ainslie et al. 2023): its 9 query heads share 3
key/value heads, 3 query heads to each, so it computes and keeps (while generating) a
third of the keys and values that 9 full heads would; every query head still has its
own attention pattern."""

from __future__ import annotations

from snippets.attention import SENTENCE, attentions_for


# --8<-- [start:two-sizes]
def mean_entropy_bits(attention) -> float:
    """Mean entropy (bits) of the rows of one layer's attention, shape (1, heads, T, T).

    Rows of a causal decoder have fewer candidates (row i has i + 1 tokens), so compare
    layers of one model with care, and models with the normalized entropy."""
    import torch
    p = attention.clamp_min(1e-12)
    return float(-(p * torch.log2(p)).sum(-1).mean())


def example_two_sizes(instruct_generator, encoder):
    """Two models side by side on the same sentence: the mean entropy of attention
    rows, layer by layer. Low values are sharp attention on a few tokens, high values
    attention spread over many; compare the depth of the two models and how their
    layers differ."""
    import matplotlib.pyplot as plt
    decoder = instruct_generator.model, instruct_generator.tokenizer
    models = {}  # "name (size)" -> (tokens, attentions)
    for name, (model, tokenizer) in (("decoder", decoder), ("encoder", encoder)):
        size = f"{model.num_parameters() / 1e6:.1f} M parameters"
        models[f"{name} ({size})"] = attentions_for(model, tokenizer, SENTENCE)
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
            f"entropy per layer (bits): {[round(e, 2) for e in entropies]}"
        )
    ax.set(xlabel="layer", ylabel="mean attention entropy (bits)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --8<-- [end:two-sizes]


# --8<-- [start:grouped-query]
def example_grouped_query_attention(instruct_generator):
    """Grouped-query attention, read off SmolLM2's first block: fewer key and value
    projections than query projections, still one attention pattern per query head,
    and a third of the keys and values to keep per token while generating."""
    model, tokenizer = instruct_generator.model, instruct_generator.tokenizer
    config = model.config
    queries, keys_values = config.num_attention_heads, config.num_key_value_heads
    print(
        f"query heads: {queries}, key/value heads: {keys_values}, "
        f"head size: {config.head_dim}"
    )
    block = model.model.layers[0].self_attn  # the attention of the first block
    for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
        weight = getattr(block, name).weight  # (out_features, in_features)
        print(f"  {name}: {tuple(weight.shape)}")
    group = queries // keys_values  # query heads per key/value head
    for head in range(keys_values):
        shared = list(range(head * group, (head + 1) * group))
        print(f"  key/value head {head} serves query heads {shared}")
    tokens, attentions = attentions_for(model, tokenizer, SENTENCE)
    print(
        f"attention weights of one layer: {tuple(attentions[0].shape)} for "
        f"{len(tokens)} tokens"
    )
    # Keys and values a generating model keeps for every token, all layers together
    kept = 2 * config.num_hidden_layers * keys_values * config.head_dim
    print(
        f"keys and values kept per token: {kept} numbers "
        f"({kept * group} with {queries} key/value heads)"
    )


# --8<-- [end:grouped-query]


# --8<-- [start:decoder-view]
def example_decoder_model_view(instruct_generator):
    """bertviz's model view of SmolLM2 on the encoder's sentence, for its first two and
    last two layers (of 30): one thumbnail per head; click one to enlarge it."""
    from bertviz import model_view
    model, tokenizer = instruct_generator.model, instruct_generator.tokenizer
    tokens, attentions = attentions_for(model, tokenizer, SENTENCE)
    last = len(attentions) - 1
    return model_view(
        attentions,
        tokens,
        include_layers=[0, 1, last - 1, last],  # of 30 layers: the view stays small
        display_mode="light",
        html_action="return",
    )


# --8<-- [end:decoder-view]
