"""Homework 2, started: attention in two models of different size.

The homework asks to load two models of different sizes and compare their attention.
Here the two are a pretrained decoder, SmolLM2-135M-Instruct (30 blocks of 9 heads,
under both profiles), and the lecture's encoder (MiniLM, 6 blocks of 12 heads; BERT base
under the hub profile). A summary number per layer makes them comparable: the *entropy*
of each attention row, in bits, divided by the largest it could be, log2 of the number
of tokens the row may attend to (all T tokens in an encoder, tokens 1..i in row i of a
causal decoder), and averaged over heads and rows: 0 means every token attends to a
single token, 1 that it spreads its attention evenly over all it may see. Both models
read a sentence that makes the same number of tokens in both vocabularies, so neither
the length of the text nor the causal mask favours one of them.

SmolLM2 uses *grouped-query attention* (Ainslie et al. 2023): its 9 query heads share 3
key/value heads, 3 query heads to each, so it computes and keeps (while generating) a
third of the keys and values that 9 full heads would; every query head still has its
own attention pattern."""

from __future__ import annotations

from snippets.attention import SENTENCE, attentions_for

# --8<-- [start:two-sizes]
# The attention page's sentence, with words that make the same number of tokens for
# both models' vocabularies
SIZES_SENTENCE = "The animal didn't cross the street at 10:30 because it was too tired"


def normalized_entropy(attention, causal: bool) -> float:
    """Mean normalized entropy of the rows of one layer's attention, shape
    (1, heads, T, T): each row's entropy divided by log2 of the number of tokens it may
    attend to (T, or i + 1 for row i of a causal decoder), averaged over heads and rows.
    0: every token attends to one token; 1: evenly to all it may see. Rows with a single
    candidate (a decoder's first token) have no choice and are left out."""
    import torch
    n_tokens = attention.shape[-1]
    p = attention.clamp_min(1e-12)
    entropy = -(p * torch.log2(p)).sum(-1)  # (1, heads, T), bits
    if causal:
        candidates = torch.arange(1, n_tokens + 1, dtype=entropy.dtype)  # row i: i + 1
    else:
        candidates = torch.full((n_tokens,), float(n_tokens))
    keep = candidates > 1  # (T,): rows that have a choice
    return float((entropy[..., keep] / torch.log2(candidates[keep])).mean())


def example_two_sizes(instruct_generator, encoder):
    """Two models side by side on the same sentence, read as the same number of
    tokens: the normalized entropy of their attention rows (0: sharp, on one token;
    1: even, over every token a row may see), layer by layer, against the depth of the
    layer in its model."""
    import matplotlib.pyplot as plt
    decoder = instruct_generator.model, instruct_generator.tokenizer
    fig, ax = plt.subplots(figsize=(6, 3.2))
    counts = set()
    for name, (model, tokenizer), causal, marker in (
        ("decoder", decoder, True, "o"),
        ("encoder", encoder, False, "s"),
    ):
        tokens, attentions = attentions_for(model, tokenizer, SIZES_SENTENCE)
        counts.add(len(tokens))
        entropies = [normalized_entropy(a, causal) for a in attentions]
        depth = [layer / (len(entropies) - 1) for layer in range(len(entropies))]
        size = f"{model.num_parameters() / 1e6:.1f} M parameters"
        ax.plot(depth, entropies, marker=marker, label=f"{name} ({size})")
        print(
            f"{name} ({size}): {len(attentions)} layers x {attentions[0].shape[1]} "
            f"heads, {len(tokens)} tokens; normalized entropy per layer: "
            f"{[round(e, 2) for e in entropies]}"
        )
    if len(counts) > 1:
        raise ValueError(
            f"the models read {sorted(counts)} tokens: compare like with like"
        )
    ax.set(
        xlabel="depth (first layer 0, last layer 1)",
        ylabel="normalized attention entropy",
        ylim=(0, 1),
    )
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
