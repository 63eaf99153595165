"""Attention: what each token looks at.

Self-attention turns every token's vector into a query q, a key k and a value v. Token
i's output is the average of all values weighted by softmax_j(q_i . k_j / sqrt(d_k)),
d_k the size of one head's queries and keys: one row of the *attention matrix*, which
sums to 1 (``snippets/attention_scratch.py`` writes the arithmetic out). A layer has
several heads, each with its own projections, so each can attend to something
different. A decoder (GPT-2) masks the matrix so that token i sees only tokens j <= i:
everything above the diagonal is zero.

transformers returns the matrices with ``output_attentions=True``: a tuple with one
tensor per layer, each (batch, heads, tokens, tokens). With transformers 5 the model
must be loaded with ``attn_implementation="eager"`` (``load_encoder`` below); the
default ``sdpa`` kernel never materializes the matrix and returns no attentions.

References: Vaswani et al. 2017, section 3.2; Vig 2019, "A Multiscale Visualization of
Attention in the Transformer Model" (bertviz); Alammar, "The Illustrated Transformer".
"""

from __future__ import annotations

from snippets.sequences import check_length

# --8<-- [start:setup]
SENTENCE = "The animal didn't cross the street because it was too tired"
DECODER_SENTENCE = "No, I am your father"
# --8<-- [end:setup]


# --8<-- [start:load]
def load_encoder(checkpoint: str, revision: str | None = None, device: str = "cpu"):
    """A BERT-family encoder and its WordPiece tokenizer, as ``(model, tokenizer)``.

    ``attn_implementation="eager"`` computes the attention weights explicitly; the
    default ``sdpa`` kernel of transformers 5 never builds them, so
    ``output_attentions=True`` would return nothing."""
    from transformers import AutoModel, AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(checkpoint, revision=revision)
    model = AutoModel.from_pretrained(
        checkpoint, revision=revision, attn_implementation="eager"
    )
    return model.to(device).eval(), tokenizer  # eval(): no dropout


# --8<-- [end:load]


# --8<-- [start:attentions]
# --8<-- [start:attentions-for]
def attentions_for(model, tokenizer, text: str):
    """Token strings and attention matrices of ``text``.

    Returns:
        ``(tokens, attentions)``: ``tokens`` has T strings; ``attentions`` is a
        tuple with one tensor per layer, each of shape (1, heads, T, T), rows
        summing to 1.

    Raises:
        TypeError: ``text`` is not one string (a batch would not fit bertviz's
            views).
        ValueError: the text has more tokens than the model has positions.
        RuntimeError: the model returned no attentions (loaded with ``sdpa``, not
            ``eager``).
    """
    import torch
    if not isinstance(text, str):
        raise TypeError(f"attentions_for takes one text, not {type(text).__name__}")
    inputs = tokenizer(text, return_tensors="pt").to(model.device)
    check_length(model, inputs["input_ids"])
    with torch.no_grad():
        outputs = model(**inputs, output_attentions=True)
    if not outputs.attentions or outputs.attentions[0] is None:
        raise RuntimeError(
            f"{model.name_or_path} returned no attentions: "
            'load it with attn_implementation="eager"'
        )
    tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    return tokens, tuple(a.float().cpu() for a in outputs.attentions)


# --8<-- [end:attentions-for]
def example_shapes(encoder):
    """One attention tensor per layer, (batch, heads, tokens, tokens), and every row a
    probability distribution."""
    model, tokenizer = encoder
    tokens, attentions = attentions_for(model, tokenizer, SENTENCE)
    print(f"tokens ({len(tokens)}): {tokens}")
    shape = tuple(attentions[0].shape)
    print(f"layers: {len(attentions)}; each attention tensor: {shape}")
    row_sums = attentions[0].sum(dim=-1)  # (1, heads, T): should all be 1
    print(f"row sums, layer 0: min {row_sums.min():.4f}, max {row_sums.max():.4f}")


# --8<-- [end:attentions]


# --8<-- [start:grid]
def example_grid(encoder):
    """Every head of every layer at a glance: some heads look at the previous or next
    token (diagonal stripes), some at [CLS] or [SEP] (vertical bars), a few spread out.
    """
    import matplotlib.pyplot as plt
    model, tokenizer = encoder
    _, attentions = attentions_for(model, tokenizer, SENTENCE)
    n_layers, n_heads = len(attentions), attentions[0].shape[1]
    fig, axes = plt.subplots(
        n_layers, n_heads, figsize=(n_heads * 0.55, n_layers * 0.62)
    )
    for layer, row in enumerate(axes):
        for head, ax in enumerate(row):
            ax.imshow(attentions[layer][0, head].numpy(), cmap="Blues", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if layer == 0:
                ax.set_title(f"h{head}", fontsize=9)
            if head == 0:
                ax.set_ylabel(f"layer {layer}", fontsize=9)
    fig.tight_layout(pad=0.2)
    return fig


# --8<-- [end:grid]


# --8<-- [start:head-roles]
def head_habits(attentions) -> dict[str, tuple[int, int, float]]:
    """For each simple habit a head can have, the (layer, head) that has it most, and
    how strongly: the mean weight a token puts on the token before it, on the token
    after it, on the first token, on the last; and the head whose attention is
    broadest (highest mean entropy, in bits, of the rows from the third token on).

    Args:
        attentions: one tensor per layer, each (1, heads, T, T), as
            :func:`attentions_for` returns them (T at least 3).
    """
    import torch
    stacked = torch.cat(attentions)  # (layers, heads, T, T)
    n_heads, n_tokens = stacked.shape[1], stacked.shape[-1]
    t = torch.arange(n_tokens)
    p = stacked.clamp_min(1e-12)
    entropy = -(p * torch.log2(p)).sum(-1)  # (layers, heads, T), in bits
    scores = {  # each (layers, heads): one number per head
        "previous token": stacked[:, :, t[1:], t[1:] - 1].mean(-1),
        "next token": stacked[:, :, t[:-1], t[:-1] + 1].mean(-1),
        "first token": stacked[:, :, 1:, 0].mean(-1),
        "last token": stacked[:, :, :, -1].mean(-1),
        "broadest (bits)": entropy[:, :, 2:].mean(-1),
    }
    habits = {}
    for habit, score in scores.items():
        best = int(score.argmax())  # index into the flattened (layers, heads)
        layer, head = divmod(best, n_heads)
        habits[habit] = (layer, head, float(score[layer, head]))
    return habits


def example_head_roles(encoder):
    """Heads do differ: for each simple habit, the head of the encoder that has it
    most, found from the attention weights of the sentence."""
    import math
    model, tokenizer = encoder
    tokens, attentions = attentions_for(model, tokenizer, SENTENCE)
    n_layers, n_heads = len(attentions), attentions[0].shape[1]
    print(f"{n_layers} layers x {n_heads} heads, {len(tokens)} tokens")
    for habit, (layer, head, score) in head_habits(attentions).items():
        print(f"  {habit:16} layer {layer}, head {head:2}: {score:.2f}")
    broadest = math.log2(len(tokens))  # every row spread evenly over all tokens
    print(f"(the broadest possible: log2({len(tokens)}) = {broadest:.2f} bits)")


# --8<-- [end:head-roles]


# --8<-- [start:it-head]
def strongest_head(attentions, source: int, target: int) -> tuple[int, int, float]:
    """The (layer, head) where token ``source`` attends most to token ``target``, and
    the weight."""
    best = (0, 0, -1.0)
    for layer, attention in enumerate(attentions):
        weights = attention[0, :, source, target]  # (heads,)
        head = int(weights.argmax())
        if weights[head] > best[2]:
            best = (layer, head, float(weights[head]))
    return best


def example_it_head(encoder):
    """The head where "it" attends most to "animal", found from the data: the row of
    "it" puts a large weight on "animal", the word it refers to."""
    import matplotlib.pyplot as plt
    model, tokenizer = encoder
    tokens, attentions = attentions_for(model, tokenizer, SENTENCE)
    layer, head, weight = strongest_head(
        attentions, tokens.index("it"), tokens.index("animal")
    )
    row = attentions[layer][0, head, tokens.index("it")]  # (T,): where "it" looks
    print(f"layer {layer}, head {head}: it -> animal = {weight:.2f}")
    print(f'the token "it" looks at most in that head: {tokens[int(row.argmax())]!r}')
    matrix = attentions[layer][0, head].numpy()  # (T, T), as NumPy for matplotlib
    fig, ax = plt.subplots(figsize=(5.6, 5))
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(tokens)), tokens, rotation=90, fontsize=8)
    ax.set_yticks(range(len(tokens)), tokens, fontsize=8)
    ax.set(
        xlabel="attends to (key)",
        ylabel="token (query)",
        title=f"layer {layer}, head {head}: it -> animal = {weight:.2f}",
    )
    it = tokens.index("it")
    ax.add_patch(
        plt.Rectangle((-0.5, it - 0.5), len(tokens), 1, fill=False, ec="tab:red")
    )
    fig.tight_layout()
    return fig


# --8<-- [end:it-head]


# --8<-- [start:head-view]
def example_head_view(encoder):
    """bertviz's head view of the encoder (interactive: pick a layer, hover over a
    token, click a head's colour to show or hide it)."""
    from bertviz import head_view
    model, tokenizer = encoder
    tokens, attentions = attentions_for(model, tokenizer, SENTENCE)
    return head_view(attentions, tokens, html_action="return")


# --8<-- [end:head-view]


# --8<-- [start:model-view]
def decoder_heads(generator):
    """Tokens and attentions of the decoder on DECODER_SENTENCE, and the layers that
    hold its previous-token head and its first-token head (see head_habits)."""
    tokens, attentions = attentions_for(
        generator.model, generator.tokenizer, DECODER_SENTENCE
    )
    habits = head_habits(attentions)
    previous, first = habits["previous token"], habits["first token"]
    return tokens, attentions, previous, first


def example_model_view(generator):
    """bertviz's model view of the decoder on "No, I am your father", for its first
    layer and the two layers that hold the heads of the next section: one thumbnail
    per head; click one to enlarge it. Lines only go to earlier tokens."""
    from bertviz import model_view
    tokens, attentions, previous, first = decoder_heads(generator)
    layers = sorted({0, previous[0], first[0]})
    return model_view(
        attentions,
        tokens,
        include_layers=layers,
        display_mode="light",
        html_action="return",
    )


# --8<-- [end:model-view]


# --8<-- [start:causal]
def example_causal_mask(generator):
    """A decoder's attention is lower-triangular: token i never attends to a later token
    j > i. Two heads of one decoder, each lower-triangular, doing different things."""
    import torch
    tokens, attentions, previous, first = decoder_heads(generator)
    stacked = torch.cat(attentions)  # (layers, heads, T, T)
    above_diagonal = torch.triu(
        torch.ones(len(tokens), len(tokens), dtype=torch.bool), 1
    )
    print(f"tokens: {tokens}")
    print(
        f"largest weight above the diagonal, all {stacked.shape[0]} layers x "
        f"{stacked.shape[1]} heads: {stacked[..., above_diagonal].max().item():.1e}"
    )
    for habit, (layer, head, score) in zip(
        ("previous token", "first token"), (previous, first), strict=True
    ):
        print(f"layer {layer}, head {head} ({habit}: {score:.2f}); rows attend to:")
        for token, row in zip(tokens, stacked[layer, head], strict=True):
            print(f"  {token:>8} " + " ".join(f"{w:4.2f}" for w in row.tolist()))


# --8<-- [end:causal]
