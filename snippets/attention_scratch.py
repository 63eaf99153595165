"""Attention from scratch: one layer's arithmetic by hand, checked against the model.

A block's attention takes its input x (B, T, C), projects every token to a query, a key
and a value per head, and computes for each head

    weights = softmax(Q K^T / sqrt(d_k) + M),   output = weights V

with d_k the size of one head (the queries' and keys' last dimension) and M the causal
mask: 0 where token j <= i may be read, minus infinity above the diagonal, so that
exp(-inf) = 0 gives a later token no weight. The heads' outputs, side by side, go
through one more linear map back to C numbers per token.

Here the arithmetic is written out with the layer's own weights, for GPT-2 (one fused
projection ``c_attn``, positions added before the first block) and for SmolLM2 (a
Llama-style decoder: separate projections, rotary position embedding applied to queries
and keys, and grouped-query attention, 9 query heads sharing 3 key/value heads), and
compared with ``torch.allclose`` against what the model itself returns with
``output_attentions=True`` and ``output_hidden_states=True``.

Shapes in comments as nanoGPT writes them: B batch, T tokens, C model width, nh query
heads, nkv key/value heads, hs head size (d_k).

References: Vaswani et al. 2017, eq. 1 (scaled dot-product attention); Karpathy,
nanoGPT ``model.py`` (CausalSelfAttention); Su et al. 2021 (RoFormer: rotary position
embedding); Ainslie et al. 2023 (grouped-query attention); transformers
``models/gpt2/modeling_gpt2.py`` and ``models/llama/modeling_llama.py``
(``eager_attention_forward``, ``apply_rotary_pos_emb``, ``repeat_kv``).
"""

from __future__ import annotations

from snippets.attention import DECODER_SENTENCE, SENTENCE, strongest_head

# isort: split
# --8<-- [start:setup]
import copy
import math

ATOL = 1e-5  # how close "the same" is: float32 sums in another order differ by ~1e-7
# --8<-- [end:setup]


# --8<-- [start:weights]
def causal_mask(T: int):
    """The causal mask M, shape (T, T): 0 on and below the diagonal, minus infinity
    above it (token i may not read token j > i)."""
    import torch
    return torch.full((T, T), float("-inf")).triu(diagonal=1)


def attention_scores(q, k):
    """Q K^T / sqrt(d_k) + M for queries ``q`` and keys ``k``, both (B, nh, T, hs):
    one score per query token i (row) and key token j (column), (B, nh, T, T)."""
    d_k = q.size(-1)  # hs, the size of one head
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (B, nh, T, T)
    mask = causal_mask(q.size(-2)).to(scores.dtype)  # in the scores' number type
    return scores + mask  # -inf above the diagonal


def attention_weights(q, k):
    """softmax(Q K^T / sqrt(d_k) + M) over the keys: (B, nh, T, T), every row
    summing to 1; exp(-inf) = 0 gives the later tokens no weight."""
    import torch
    return torch.softmax(attention_scores(q, k), dim=-1)  # (B, nh, T, T)


# --8<-- [end:weights]


# --8<-- [start:gpt2]
def gpt2_qkv(block, config, x):
    """Queries, keys and values of a GPT-2 block for its input ``x`` (B, T, C), each
    (B, nh, T, hs), made by the block's own weights."""
    B, T, C = x.size()
    nh = config.n_head
    hs = C // nh  # the head size d_k: 768 // 12 = 64 in GPT-2
    # one linear map makes the queries, keys and values of all heads at once
    q, k, v = block.attn.c_attn(block.ln_1(x)).split(C, dim=2)  # (B, T, C) each
    q = q.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
    k = k.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
    v = v.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
    return q, k, v


def gpt2_attention_by_hand(block, config, x):
    """A GPT-2 block's attention on its input ``x`` (B, T, C), by hand.

    Returns:
        ``(weights, output)``: the attention weights (B, nh, T, T) and the attention's
        output after the projection ``c_proj`` (B, T, C), which the block adds to x.
    """
    B, T, C = x.size()
    q, k, v = gpt2_qkv(block, config, x)  # (B, nh, T, hs) each
    weights = attention_weights(q, k)  # (B, nh, T, T)
    y = weights @ v  # (B, nh, T, hs): each token's weighted sum of values
    y = y.transpose(1, 2).reshape(B, T, C)  # the heads side by side again
    return weights, block.attn.c_proj(y)  # (B, nh, T, T), (B, T, C)


# --8<-- [end:gpt2]


# --8<-- [start:check]
def block_by_hand(x, attention_output, norm, mlp):
    """The rest of a pre-norm decoder block: add the attention's output to the
    input (the residual), then add the MLP of its normalized sum. (B, T, C)."""
    h = x + attention_output  # (B, T, C)
    return h + mlp(norm(h))  # (B, T, C): the block's output


def in_float32(model):
    """``model`` if it computes in float32, else a float32 copy of it: the same
    weights, arithmetic to about 7 digits (bfloat16 keeps about 3: too few for ATOL)."""
    import torch
    return model if model.dtype == torch.float32 else copy.deepcopy(model).float()


def run_with_internals(model, tokenizer, text):
    """The token strings of ``text`` and the model's outputs with every layer's
    attention weights and every hidden state (the input of each block)."""
    import torch
    input_ids = tokenizer(text, return_tensors="pt").input_ids  # (1, T)
    with torch.no_grad():
        out = model(input_ids, output_attentions=True, output_hidden_states=True)
    return tokenizer.convert_ids_to_tokens(input_ids[0]), out


def compare(name: str, mine, theirs) -> bool:
    """Print whether a hand-made tensor equals the model's, within ``ATOL``."""
    import torch
    same = torch.allclose(mine, theirs, atol=ATOL)
    print(f"torch.allclose({name}): {same}")
    return same


# --8<-- [end:check]


# --8<-- [start:gpt2-example]
def example_gpt2_by_hand(trained_gpt2):
    """The first block of a GPT-2 by hand (the tiny one this lecture trains): the
    causal mask written out, then softmax(Q K^T / sqrt(d_k) + M) and the weighted sum
    of values, equal (allclose) to the attention weights and hidden state it returns."""
    import torch
    model, tokenizer = trained_gpt2
    model = in_float32(model)
    tokens, out = run_with_internals(model, tokenizer, DECODER_SENTENCE)
    T = len(tokens)
    print(f"tokens (T = {T}): {tokens}")
    print("causal mask M (row: token i, column: token j):")
    for row in causal_mask(T).tolist():
        print("  " + " ".join(f"{m:>5g}" for m in row))
    block = model.transformer.h[0]
    x = out.hidden_states[0]  # (1, T, C): token + position embeddings
    with torch.no_grad():
        weights, attended = gpt2_attention_by_hand(block, model.config, x)
        output = block_by_hand(x, attended, block.ln_2, block.mlp)
    print(
        f"x {tuple(x.shape)} -> weights {tuple(weights.shape)}, d_k = "
        f"{model.config.n_embd // model.config.n_head}"
    )
    print(
        f"row of {tokens[-1]!r}, head 0: "
        + " ".join(f"{w:.2f}" for w in weights[0, 0, -1].tolist())
    )
    compare("weights, output_attentions[0]", weights, out.attentions[0])
    compare("block output, hidden_states[1]", output, out.hidden_states[1])


# --8<-- [end:gpt2-example]


# --8<-- [start:smollm2]
def rotary(x, theta: float):
    """Rotary position embedding (RoPE) of queries or keys ``x`` (B, n, T, hs): at
    position t, coordinates i and i + hs/2 are turned together by the angle
    t * theta^(-2i/hs), so that q . k depends on how far apart two tokens are."""
    import torch
    B, n, T, hs = x.size()
    frequencies = theta ** (-torch.arange(0, hs, 2).float() / hs)  # (hs/2,)
    angles = torch.arange(T).float()[:, None] * frequencies[None, :]  # (T, hs/2)
    angles = torch.cat([angles, angles], dim=-1)  # (T, hs)
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)  # as the model does
    x1, x2 = x[..., : hs // 2], x[..., hs // 2 :]  # (B, n, T, hs/2) each
    turned = torch.cat([-x2, x1], dim=-1)  # (B, n, T, hs)
    return x * cos + turned * sin  # (B, n, T, hs)


def smollm2_qkv(block, config, x):
    """Queries, keys and values of a Llama-style block (SmolLM2's) for its input ``x``
    (B, T, C): RMSNorm, three projections, rotary positions on queries and keys, and
    each key/value head repeated for the query heads it serves. Each (B, nh, T, hs).

    Raises:
        ValueError: ``config.rope_parameters`` asks for a scaled rotary embedding
            (``rope_type`` other than ``"default"``), which is not written out here.
    """
    rope = config.rope_parameters
    if rope.get("rope_type", "default") != "default":
        raise ValueError(
            f"rope_parameters['rope_type'] is {rope['rope_type']!r}: only the "
            "'default' rotary embedding is written out here"
        )
    attention = block.self_attn
    B, T, C = x.size()
    nh, nkv = config.num_attention_heads, config.num_key_value_heads  # 9, 3
    hs = config.head_dim  # d_k = 64
    h = block.input_layernorm(x)  # RMSNorm, (B, T, C)
    q = attention.q_proj(h).view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
    k = attention.k_proj(h).view(B, T, nkv, hs).transpose(1, 2)  # (B, nkv, T, hs)
    v = attention.v_proj(h).view(B, T, nkv, hs).transpose(1, 2)  # (B, nkv, T, hs)
    # positions enter here, not at the embeddings: queries and keys are rotated
    q, k = rotary(q, rope["rope_theta"]), rotary(k, rope["rope_theta"])
    # grouped-query attention: key/value head g serves query heads 3g, 3g+1, 3g+2
    k = k.repeat_interleave(nh // nkv, dim=1)  # (B, nh, T, hs)
    v = v.repeat_interleave(nh // nkv, dim=1)  # (B, nh, T, hs)
    return q, k, v


def smollm2_attention_by_hand(block, config, x):
    """A Llama-style block's attention (SmolLM2's) on its input ``x`` (B, T, C), by
    hand.

    Returns:
        ``(weights, output)``: (B, nh, T, T) and the output after ``o_proj`` (B, T, C).

    Raises:
        ValueError: a scaled rotary embedding (see :func:`smollm2_qkv`).
    """
    B, T, C = x.size()
    q, k, v = smollm2_qkv(block, config, x)  # (B, nh, T, hs) each
    weights = attention_weights(q, k)  # (B, nh, T, T)
    y = weights @ v  # (B, nh, T, hs): each token's weighted sum of values
    y = y.transpose(1, 2).reshape(B, T, -1)  # (B, T, nh * hs): heads side by side
    return weights, block.self_attn.o_proj(y)  # (B, nh, T, T), (B, T, C)


# --8<-- [end:smollm2]


# --8<-- [start:smollm2-example]
def example_smollm2_by_hand(instruct_generator):
    """SmolLM2's first block by hand: 9 query heads, 3 key/value heads, rotary
    positions; the weights and the block's output equal (allclose) the model's."""
    import torch
    model = in_float32(instruct_generator.model)
    tokenizer = instruct_generator.tokenizer
    config = model.config
    tokens, out = run_with_internals(model, tokenizer, SENTENCE)
    block = model.model.layers[0]
    x = out.hidden_states[0]  # (1, T, C): token embeddings only
    with torch.no_grad():
        weights, attended = smollm2_attention_by_hand(block, config, x)
        norm, mlp = block.post_attention_layernorm, block.mlp
        output = block_by_hand(x, attended, norm, mlp)
    print(f"tokens (T = {len(tokens)}): {tokens}")
    print(
        f"query heads {config.num_attention_heads}, key/value heads "
        f"{config.num_key_value_heads}, d_k = {config.head_dim}, "
        f"rope_theta = {config.rope_parameters['rope_theta']:g}"
    )
    print(f"x {tuple(x.shape)} -> weights {tuple(weights.shape)}")
    compare("weights, output_attentions[0]", weights, out.attentions[0])
    compare("block output, hidden_states[1]", output, out.hidden_states[1])


# --8<-- [end:smollm2-example]


# --8<-- [start:one-row]
def example_one_query_row(instruct_generator):
    """One attention step for one query, "it": its scores against the keys of the
    sentence (the later tokens masked to minus infinity), then the softmax's weights,
    in SmolLM2's head where "it" attends most to "animal". Compare the two panels: the
    softmax turns a lead of a few points in score into most of the weight."""
    import matplotlib.pyplot as plt
    import torch
    model = instruct_generator.model
    tokenizer = instruct_generator.tokenizer
    tokens, out = run_with_internals(model, tokenizer, SENTENCE)
    i = tokens.index("Ġit")  # the query's row
    layer, head, _ = strongest_head(out.attentions, i, tokens.index("Ġanimal"))
    block = model.model.layers[layer]
    with torch.no_grad():
        q, k, _ = smollm2_qkv(block, model.config, out.hidden_states[layer])
        scores = attention_scores(q, k)[0, head, i].float()  # (T,): -inf after i
    weights = torch.softmax(scores, dim=-1).tolist()  # T numbers, summing to 1
    seen = scores.isfinite().tolist()  # False for the masked keys
    bars = scores.nan_to_num(neginf=0.0).tolist()  # a masked key: no bar
    rows = range(len(tokens))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(3.7, 6.2), sharey=True)
    top.barh(rows, bars, color="tab:gray")
    for j in rows:
        if not seen[j]:  # a later token: masked
            top.text(0.2, j, "masked: −∞", va="center", fontsize=9, color="tab:gray")
    top.axvline(0, color="black", linewidth=0.8)
    top.set_title(f"scores q·k / √{q.size(-1)} of {tokens[i]!r}", fontsize=10)
    top.set_yticks(rows, tokens, fontsize=9)
    top.invert_yaxis()
    colors = ["tab:red" if w == max(weights) else "tab:blue" for w in weights]
    bottom.barh(rows, weights, color=colors)
    for j, w in enumerate(weights):
        if w >= 0.05:  # the larger weights, written out
            bottom.text(w + 0.02, j, f"{w:.2f}", va="center", fontsize=9)
    bottom.set_xlim(0, 1)
    bottom.set_title("weights: softmax of the scores", fontsize=10)
    bottom.set_xlabel(f"layer {layer}, head {head} of SmolLM2", fontsize=9)
    bottom.tick_params(labelsize=9)
    top.tick_params(labelsize=9)
    fig.tight_layout()
    return fig


# --8<-- [end:one-row]
