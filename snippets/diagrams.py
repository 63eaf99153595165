"""Block diagrams of a decoder-only transformer, drawn from the model's configuration.

A decoder-only model is an embedding, a stack of identical blocks and a head back to the
vocabulary. Every number on the diagram (width, heads, head size, feed-forward width,
blocks, vocabulary) is read from the configuration (``config.json``), so the same code
draws GPT-2 and SmolLM2 truthfully: GPT-2 with layer norms, a learned position table
and a GELU feed-forward network; SmolLM2 (a Llama-style model) with RMS norms, rotary
positions inside attention, grouped-query attention and a gated SiLU feed-forward
network.

:func:`decoder_steps` reads the configuration into a list of steps, each a module of the
model's printout with what it does and the shape of the tensor it passes on;
:func:`draw_decoder` draws that list. All of the configuration is read before anything
is drawn: a configuration of an architecture the code does not know, or one without a
field it needs, raises ``ValueError`` naming the field, and no figure is made.

References: Radford et al. 2019 (GPT-2); transformers ``models/gpt2/modeling_gpt2.py``
and ``models/llama/modeling_llama.py`` (the module names); Alammar, "The Illustrated
GPT-2" (the pictures this replaces).
"""

from __future__ import annotations

# --8<-- [start:steps]
from typing import NamedTuple


class Step(NamedTuple):
    """One step of the model: its module (as the printout names it), what it does,
    and the shape of the tensor it passes on (B: batch, T: tokens)."""
    module: str
    does: str
    shape: str
    kind: str = "box"  # "box", or "add" for a residual connection


def field(config, name: str, used_for: str):
    """``config.<name>``, or ``ValueError`` naming the field and what needs it."""
    value = getattr(config, name, None)
    if value is None:
        raise ValueError(
            f"the {config.model_type!r} configuration has no {name!r}: the diagram "
            f"needs it for {used_for}"
        )
    return value


def gpt2_steps(config):
    """GPT-2's steps: ``(before the blocks, one block, after the blocks)``."""
    V = field(config, "vocab_size", "the embedding and the head")
    C = field(config, "n_embd", "the width of every vector")
    nh = field(config, "n_head", "the attention heads")
    P = field(config, "n_positions", "the position table")
    inner = config.n_inner or 4 * C  # GPT-2: None means 4 x the width
    act = field(config, "activation_function", "the feed-forward network")
    hs = C // nh  # head size d_k
    heads = f"(B, {nh}, T, {hs})"  # one (T, hs) matrix per head
    before = [
        Step("input_ids", "token ids", "(B, T)"),
        Step("wte", f"token embedding, {V} x {C}", f"(B, T, {C})"),
        Step("wpe", f"+ position embedding, {P} x {C}", f"(B, T, {C})"),
    ]
    block = [
        Step("ln_1", "LayerNorm", f"(B, T, {C})"),
        Step("attn.c_attn", f"queries, keys, values: {nh} heads", f"3 x {heads}"),
        Step("attn", f"softmax(QKᵀ/√{hs} + M) V", heads),
        Step("attn.c_proj", "heads joined, projected", f"(B, T, {C})"),
        Step("+", "residual: add the block's input", f"(B, T, {C})", "add"),
        Step("ln_2", "LayerNorm", f"(B, T, {C})"),
        Step("mlp", f"{C} → {inner} ({act}) → {C}", f"(B, T, {C})"),
        Step("+", "residual", f"(B, T, {C})", "add"),
    ]
    tied = " (tied to wte)" if config.tie_word_embeddings else ""
    after = [
        Step("ln_f", "LayerNorm", f"(B, T, {C})"),
        Step("lm_head", f"{C} → {V}{tied}", f"logits (B, T, {V})"),
    ]
    return before, block, after


def llama_steps(config):
    """A Llama-style model's steps (SmolLM2): ``(before, one block, after)``."""
    V = field(config, "vocab_size", "the embedding and the head")
    C = field(config, "hidden_size", "the width of every vector")
    nh = field(config, "num_attention_heads", "the query heads")
    nkv = field(config, "num_key_value_heads", "the key/value heads")
    hs = getattr(config, "head_dim", None) or C // nh  # head size d_k
    inner = field(config, "intermediate_size", "the feed-forward network")
    act = field(config, "hidden_act", "the feed-forward network")
    theta = field(config, "rope_parameters", "the rotary positions")["rope_theta"]
    kv_heads = f"(B, {nkv}, T, {hs})"  # fewer key/value heads than query heads
    before = [
        Step("input_ids", "token ids", "(B, T)"),
        Step("embed_tokens", f"token embedding, {V} x {C}", f"(B, T, {C})"),
    ]
    block = [
        Step("input_layernorm", "RMSNorm", f"(B, T, {C})"),
        Step("q_proj", f"queries: {nh} heads", f"(B, {nh}, T, {hs})"),
        Step("k_proj, v_proj", f"keys, values: {nkv} heads", f"2 x {kv_heads}"),
        Step("rotary", f"rotate q, k by position (θ = {theta:g})", "same shapes"),
        Step(
            "attention",
            f"each k, v head serves {nh // nkv} q heads",
            f"softmax(QKᵀ/√{hs} + M) V: (B, {nh}, T, {hs})",
        ),
        Step("o_proj", "heads joined, projected", f"(B, T, {C})"),
        Step("+", "residual: add the block's input", f"(B, T, {C})", "add"),
        Step("post_attention_layernorm", "RMSNorm", f"(B, T, {C})"),
        Step("mlp", f"{C} → 2 x {inner}, {act}(gate) · up → {C}", f"(B, T, {C})"),
        Step("+", "residual", f"(B, T, {C})", "add"),
    ]
    tied = " (tied to embed_tokens)" if config.tie_word_embeddings else ""
    after = [
        Step("norm", "RMSNorm", f"(B, T, {C})"),
        Step("lm_head", f"{C} → {V}{tied}", f"logits (B, T, {V})"),
    ]
    return before, block, after


ARCHITECTURES = {"gpt2": gpt2_steps, "llama": llama_steps}


def decoder_steps(config):
    """``(before, block, after, number of blocks)`` of a decoder's configuration.

    Raises:
        ValueError: ``config.model_type`` is not one of :data:`ARCHITECTURES`, or the
            configuration lacks a field the diagram needs; the message names the field.
    """
    model_type = getattr(config, "model_type", None)
    if model_type not in ARCHITECTURES:
        raise ValueError(
            f"no diagram for config.model_type = {model_type!r}: the diagram reads "
            f"the configurations of {sorted(ARCHITECTURES)} only"
        )
    before, block, after = ARCHITECTURES[model_type](config)
    n_blocks = field(config, "num_hidden_layers", "the number of blocks")
    return before, block, after, n_blocks


# --8<-- [end:steps]


# --8<-- [start:draw]
def draw_decoder(config, title: str):
    """A block diagram of the decoder ``config`` describes: one box per step, top to
    bottom, the shape each step passes on under its box, one block drawn in full
    inside a frame marked with the number of blocks, residual connections on the
    left. Returns the matplotlib figure.

    Raises:
        ValueError: see :func:`decoder_steps` (raised before a figure is made).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, FancyBboxPatch
    before, block, after, n_blocks = decoder_steps(config)  # may raise: no figure yet
    steps = [*before, *block, *after]
    first, last = len(before), len(before) + len(block) - 1  # the block's rows
    # one row per step, and half a row around the block for its frame
    ys = [n + 0.5 * (n >= first) + 0.5 * (n > last) for n in range(len(steps))]
    fig, ax = plt.subplots(figsize=(4.2, 0.43 * (ys[-1] + 1.6)))
    ax.set(xlim=(0, 10), ylim=(ys[-1] + 1.0, -0.5))
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    text = {"va": "center", "fontsize": 9}  # every label of the diagram
    shape = {**text, "ha": "center", "family": "monospace", "color": "#444444"}
    box = {"lw": 0.8, "fc": "#e8eefc", "boxstyle": "round,pad=0.02,rounding_size=0.1"}
    branch = ys[first - 1] + 0.72  # the block's input, where the residual branches
    for step, y in zip(steps, ys, strict=True):
        middle = y + 0.22  # of the step's row
        if step.kind == "add":
            ax.add_patch(Circle((1.6, middle), 0.2, fill=False, lw=1))
            ax.text(1.6, middle, "+", ha="center", **text)
            # the residual path: from the branch point, left of the boxes, into the sum
            ax.plot([1.0, 0.55, 0.55], [branch, branch, middle], color="k", lw=0.8)
            arrow = {"arrowstyle": "->", "lw": 0.8}
            ax.annotate("", xy=(1.38, middle), xytext=(0.55, middle), arrowprops=arrow)
            ax.text(2.0, middle, step.does, **text)
            branch = y + 0.72  # the next sublayer's input: this sum
        else:
            ax.add_patch(FancyBboxPatch((1.0, y), 8.8, 0.45, **box))
            ax.text(1.15, middle, f"{step.module}: {step.does}", **text)
        ax.text(5.4, y + 0.72, f"↓ {step.shape}", **shape)
    # the frame around one block, marked with how many there are
    top, bottom = ys[first] - 0.45, ys[last] + 1.0
    frame = {"fill": False, "ls": "--", "boxstyle": "round,pad=0,rounding_size=0.15"}
    ax.add_patch(FancyBboxPatch((0.2, top), 9.75, bottom - top, **frame))
    ax.text(9.75, top + 0.22, f"× {n_blocks} blocks", ha="right", **text)
    fig.tight_layout(pad=0.3)
    return fig


# --8<-- [end:draw]


# --8<-- [start:gpt2]
def example_gpt2(gpt2_config):
    """GPT-2 drawn from its configuration: embeddings, 12 identical blocks (the block
    drawn in full, with the shape of the tensor after every step) and the head. Follow
    the width 768 through the model and the heads splitting it into 12 x 64."""
    return draw_decoder(gpt2_config, "GPT-2 (openai-community/gpt2)")


# --8<-- [end:gpt2]


# --8<-- [start:smollm2]
def example_smollm2(instruct_generator):
    """SmolLM2-135M-Instruct drawn from its configuration by the same code: no position
    table (rotary positions inside attention), 9 query heads and 3 key/value heads,
    RMS norms and a gated feed-forward network, 30 blocks."""
    config = instruct_generator.model.config
    return draw_decoder(config, "SmolLM2-135M-Instruct")


# --8<-- [end:smollm2]
