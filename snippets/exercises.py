"""Homework helpers: what the homework's models need, and self-checks to run.

A self-check takes the student's answer and says what is wrong with it, in words,
without printing the solution: for the first homework, the decoding settings a student
plans to compare (are there enough, are they valid, does each one take effect?); for
the second, attention weights computed by hand (the check compares them with the
model's own ``output_attentions`` and names the step that most likely went wrong).
Given a right answer, each says so. Both run offline, with the models the student has
already loaded.

References: transformers ``GenerationConfig.validate`` (which settings greedy decoding
ignores); the model cards on the HuggingFace hub (parameters, licences); Vaswani et al.
2017 (scaled dot-product attention).
"""

from __future__ import annotations

from snippets.attention import SENTENCE
from snippets.attention_scratch import (
    in_float32,
    run_with_internals,
    smollm2_attention_by_hand,
)
from snippets.generation import SETTINGS

# --8<-- [start:models]
# The homework's models: parameters (their model cards, rounded) and whether the hub
# asks you to accept the model's licence before it lets you download the weights
HOMEWORK_MODELS = {
    "google/gemma-2-2b-it": (2.6e9, "gated"),
    "microsoft/Phi-3-mini-4k-instruct": (3.8e9, "open"),
    "meta-llama/Llama-3.2-1B": (1.24e9, "gated"),
    "meta-llama/Llama-2-7b-chat-hf": (6.7e9, "gated"),
    "openai-community/gpt2": (124e6, "open"),
    "distilbert/distilgpt2": (82e6, "open"),
    "HuggingFaceTB/SmolLM2-135M-Instruct": (135e6, "open"),
}


def example_model_memory():
    """The memory the weights alone take, at 4 bytes per parameter (float32) and at 2
    (bfloat16); transformers loads a checkpoint in the type it was saved in unless
    given ``dtype=``. Running the model needs more, for its activations and the keys
    and values it keeps."""
    print(f"{'model':36} {'parameters':>10} {'float32':>8} {'bfloat16':>9}  hub")
    for model_id, (parameters, access) in HOMEWORK_MODELS.items():
        float32, bfloat16 = 4 * parameters / 1e9, 2 * parameters / 1e9  # GB
        print(
            f"{model_id:36} {parameters / 1e9:>8.2f} B {float32:>5.1f} GB "
            f"{bfloat16:>6.1f} GB  {access}"
        )


# --8<-- [end:models]


# --8<-- [start:check-settings]
SAMPLING_ONLY = ("temperature", "top_k", "top_p", "min_p", "typical_p")


def closest(name: str, known: list[str]) -> str | None:
    """The known name closest to a misspelt ``name``, if one is close."""
    from difflib import get_close_matches
    matches = get_close_matches(name, known, n=1)
    return matches[0] if matches else None


def setting_problems(combinations) -> list[str]:
    """What is wrong with a plan of ``(model id, generate arguments)`` pairs for
    Homework 1, one sentence per problem; an empty list when nothing is."""
    from transformers import GenerationConfig
    if not isinstance(combinations, list | tuple):
        kind = type(combinations).__name__
        return [f"expected a list of (model id, settings) pairs, got a {kind}"]
    known = [name for name in GenerationConfig().to_dict() if not name.startswith("_")]
    problems, seen = [], {}
    for number, pair in enumerate(combinations, start=1):
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            problems.append(f"combination {number} is not a (model id, settings) pair")
            continue
        model, settings = pair
        if not isinstance(model, str) or not isinstance(settings, dict):
            problems.append(
                f"combination {number}: expected (str, dict), got "
                f"({type(model).__name__}, {type(settings).__name__})"
            )
            continue
        for name in settings:
            if name not in known:
                guess = closest(name, known)
                hint = f": did you mean {guess!r}?" if guess else ""
                problems.append(
                    f"combination {number}: generate() has no argument {name!r}{hint}"
                )
        value = settings.get("temperature")
        if value is not None and not (isinstance(value, int | float) and value > 0):
            problems.append(
                f"combination {number}: temperature must be a number "
                f"above 0, not {value!r}"
            )
        value = settings.get("top_p", 1)  # a share of the probability mass
        if not (isinstance(value, int | float) and 0 < value <= 1):
            problems.append(
                f"combination {number}: top_p is a share of the "
                f"probability, between 0 and 1, not {value!r}"
            )
        for name in ("top_k", "max_new_tokens"):
            value = settings.get(name)
            if value is not None and not (isinstance(value, int) and value >= 0):
                problems.append(
                    f"combination {number}: {name} must be a whole "
                    f"number, 0 or more, not {value!r}"
                )
        sampling = [name for name in SAMPLING_ONLY if name in settings]
        if sampling and settings.get("do_sample") is False:
            problems.append(
                f"combination {number}: greedy decoding (do_sample=False) "
                f"ignores {', '.join(sampling)}"
            )
        elif sampling and "do_sample" not in settings:
            problems.append(
                f"combination {number} sets {', '.join(sampling)} without do_sample: "
                "a pipeline then samples (its default), model.generate() decodes "
                "greedily and ignores it; set do_sample=True or False explicitly"
            )
        key = (model, repr(sorted(settings.items(), key=str)))  # the same plan twice?
        if key in seen:
            problems.append(f"combinations {seen[key]} and {number} are the same")
        seen.setdefault(key, number)
    if len(seen) < 4:
        problems.append(
            f"{len(seen)} different combination(s): the homework asks for at least four"
        )
    if len({model for model, _ in seen}) < 2:
        problems.append("every combination uses the same model: vary the model too")
    return problems


def check_settings(combinations) -> bool:
    """Print what is wrong with a Homework 1 plan, or that it is ready; True if it is.

    ``combinations`` is a list of ``(model id, generate arguments)`` pairs, e.g.
    ``[("openai-community/gpt2", {"do_sample": False}), ...]``.
    """
    problems = setting_problems(combinations)
    for problem in problems:
        print(f"✗ {problem}")
    if not problems:
        models = len({model for model, _ in combinations})
        print(
            f"✓ {len(combinations)} combinations of {models} models, every setting "
            "valid and used: run them and compare the texts"
        )
    return not problems


# --8<-- [end:check-settings]


# --8<-- [start:try-settings]
def example_check_a_plan():
    """The self-check on a first plan with five problems: each is named, with what
    to change, and no plan is written for the student."""
    plan = [
        ("openai-community/gpt2", {"temperature": 0.7}),
        ("openai-community/gpt2", {"do_sample": True, "temprature": 1.5}),
        ("openai-community/gpt2", {"do_sample": True, "top_p": 90}),
    ]
    check_settings(plan)


# --8<-- [end:try-settings]


# --8<-- [start:check-attention]
def tolerance(model) -> float:
    """How close to the model's weights is "equal": float32 keeps about 7 digits,
    bfloat16 and float16 about 3."""
    import torch
    return 1e-5 if model.dtype == torch.float32 else 1e-2


def attention_problems(model, tokenizer, text, layer, head, weights) -> list[str]:
    """What is wrong with attention weights computed by hand for one head, compared
    with the model's own (``output_attentions``); an empty list when they agree.

    Args:
        weights: the student's weights of head ``head`` in layer ``layer`` for
            ``text``, (T, T): row i is what token i attends to. A leading batch or
            head dimension of size 1 is allowed.
    """
    import torch
    input_ids = tokenizer(text, return_tensors="pt").input_ids  # (1, T)
    with torch.no_grad():
        attentions = model(input_ids, output_attentions=True).attentions
    if not attentions or attentions[0] is None:
        eager = 'attn_implementation="eager"'
        return [f"the model returns no attentions: load it with {eager}"]
    if not 0 <= layer < len(attentions):
        return [
            f"layer {layer} does not exist: the model has layers 0 to "
            f"{len(attentions) - 1}"
        ]
    if not 0 <= head < attentions[layer].size(1):
        return [
            f"head {head} does not exist: a layer has heads 0 to "
            f"{attentions[layer].size(1) - 1}"
        ]
    model_weights = attentions[layer][0, head].float()  # (T, T)
    T = model_weights.size(0)
    try:
        mine = torch.as_tensor(weights, dtype=torch.float32).detach().cpu()
    except (TypeError, ValueError, RuntimeError):
        return [f"expected a (T, T) tensor of numbers, got {type(weights).__name__}"]
    while mine.dim() > 2 and mine.size(0) == 1:
        mine = mine[0]  # drop leading dimensions of size 1 (batch, head)
    if tuple(mine.shape) != (T, T):
        return [
            f"shape {tuple(mine.shape)}: the text has T = {T} tokens, so the "
            f"weights are ({T}, {T}), one row per query, one column per key"
        ]
    if not torch.isfinite(mine).all():
        row = int((~torch.isfinite(mine)).any(-1).nonzero()[0])
        return [
            f"row {row} holds NaN or infinity: mask only the keys after the query "
            "(above the diagonal), never a whole row"
        ]
    problems = []
    later = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    if mine[later].abs().max() > 1e-6:
        problems.append(
            "some tokens attend to later tokens: add the causal mask, "
            "minus infinity above the diagonal, before the softmax"
        )
    sums = mine.sum(-1)
    if (sums - 1).abs().max() > max(1e-4, tolerance(model)):
        problems.append(
            f"rows sum to {sums.min():.2f} ... {sums.max():.2f}, not 1: "
            "take the softmax over the keys (the last dimension)"
        )
    atol = tolerance(model)
    if problems or torch.allclose(mine, model_weights, atol=atol):
        return problems
    def entropy(w):  # mean spread of the rows, in nats
        return float(-(w * w.clamp_min(1e-12).log()).sum(-1).mean())
    rows = int(((mine - model_weights).abs() > atol).any(-1).sum())  # rows that differ
    if entropy(mine) < entropy(model_weights) - 0.05:
        advice = (
            "your rows are sharper than the model's: are the scores divided "
            "by sqrt(d_k), the size of one head?"
        )
    elif entropy(mine) > entropy(model_weights) + 0.05:
        advice = (
            "your rows are flatter than the model's: are the scores divided "
            "by sqrt(d_k) once, not by d_k or twice?"
        )
    else:
        advice = (
            "check the block's input (hidden_states[layer]), its norm, the "
            "projection of this head and, where the model has them, the "
            "rotary positions and which key/value head serves this head"
        )
    return [f"the weights differ from the model's in {rows} of {T} rows: {advice}"]


def check_attention(model, tokenizer, text, layer, head, weights) -> bool:
    """Print whether hand-made attention weights of one head equal the model's, and if
    not, what is wrong; True if they agree. Prints no weights of the model."""
    problems = attention_problems(model, tokenizer, text, layer, head, weights)
    for problem in problems:
        print(f"✗ {problem}")
    if not problems:
        print(
            f"✓ equal to the model's attention (layer {layer}, head {head}) within "
            f"{tolerance(model):g}: your computation is the model's"
        )
    return not problems


# --8<-- [end:check-attention]


# --8<-- [start:try-attention]
def example_check_a_guess(instruct_generator):
    """The self-check on two answers that are not the model's: weights of the wrong
    shape, then weights that are causal and sum to 1 but spread evenly over the
    earlier tokens. Neither message prints the model's weights."""
    import torch
    model = instruct_generator.model
    tokenizer = instruct_generator.tokenizer
    text = "The animal didn't cross the street because it was too tired"
    T = len(tokenizer(text).input_ids)
    check_attention(model, tokenizer, text, 5, 2, torch.zeros(T, T + 1))
    even = torch.tril(torch.ones(T, T))  # 1 for every token up to the query
    even = even / even.sum(-1, keepdim=True)  # each row: equal shares, sum 1
    check_attention(model, tokenizer, text, 5, 2, even)


# --8<-- [end:try-attention]


# --8<-- [start:solved-settings]
def example_check_the_worked_plan():
    """The self-check on the worked solution's plan: SmolLM2 under the five settings
    of the table, and GPT-2 greedy."""
    smollm2, gpt2 = "HuggingFaceTB/SmolLM2-135M-Instruct", "openai-community/gpt2"
    plan = [(smollm2, {"max_new_tokens": 20, **s}) for s in SETTINGS.values()]
    plan.append((gpt2, {"max_new_tokens": 20, "do_sample": False}))
    check_settings(plan)


# --8<-- [end:solved-settings]


# --8<-- [start:solved-attention]
def example_check_the_hand_computation(instruct_generator):
    """Head 2 of layer 5 of SmolLM2 by hand, with the code of the attention page,
    then the self-check: it agrees."""
    import torch
    model = in_float32(instruct_generator.model)
    tokenizer = instruct_generator.tokenizer
    layer, head = 5, 2
    tokens, out = run_with_internals(model, tokenizer, SENTENCE)
    block = model.model.layers[layer]
    with torch.no_grad():
        x = out.hidden_states[layer]  # (1, T, C): the input of block 5
        weights, _ = smollm2_attention_by_hand(block, model.config, x)
    check_attention(model, tokenizer, SENTENCE, layer, head, weights[0, head])


# --8<-- [end:solved-attention]
