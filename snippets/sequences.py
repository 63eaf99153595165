"""Sequences and their probabilities.

A language model assigns every possible next token a probability given the tokens before
it, P(t_N | t_1, ..., t_{N-1}). Multiplying these conditional probabilities along a
sequence gives the probability of the whole sequence (the chain rule of probability):
P(t_1, ..., t_N) = prod_n P(t_n | t_1, ..., t_{n-1})."""

from __future__ import annotations

# --8<-- [start:setup]
PROMPT = "My dog really wanted to eat icecream because"
# --8<-- [end:setup]


# --8<-- [start:next-token]
# --8<-- [start:logits]
# --8<-- [start:check-length]
def check_length(model, input_ids) -> None:
    """Raise ``ValueError`` when ``input_ids`` (1, T) has more tokens than the model has
    positions (``n_positions`` of GPT-2, ``max_position_embeddings`` of BERT)."""
    config = model.config
    limit = getattr(config, "n_positions", None) or config.max_position_embeddings
    if input_ids.shape[-1] > limit:
        raise ValueError(
            f"{input_ids.shape[-1]} tokens, but "
            f"{config.name_or_path or config.model_type} reads at most {limit} "
            "positions: shorten the text"
        )


# --8<-- [end:check-length]
def token_logits(model, tokenizer, text: str):
    """The token ids of ``text``, shape (1, T), and the model's logits at every
    position, shape (1, T, vocab_size): at position t, a score for every possible next
    token.

    Raises:
        ValueError: the text has more tokens than the model has positions.
    """
    import torch
    input_ids = tokenizer(text, return_tensors="pt").input_ids  # (1, T)
    input_ids = input_ids.to(model.device)
    check_length(model, input_ids)
    with torch.no_grad():
        logits = model(input_ids).logits  # (1, T, vocab_size)
    return input_ids, logits


def next_token_logits(model, tokenizer, text: str):
    """The model's scores (logits) for the token after ``text``: shape (vocab_size,).

    Raises:
        ValueError: the text has more tokens than the model has positions.
    """
    _, logits = token_logits(model, tokenizer, text)
    return logits[0, -1]  # the last position scores the token after the text


# --8<-- [end:logits]
def next_token_distribution(model, tokenizer, text: str):
    """P(next token | text) over the whole vocabulary: the softmax of the logits.

    Returns:
        A tensor of shape (vocab_size,) that sums to 1.

    Raises:
        ValueError: the text has more tokens than the model has positions.
    """
    import torch
    return torch.softmax(next_token_logits(model, tokenizer, text), dim=-1)


def example_next_token(generator):
    """The five most likely next tokens after the prompt, with their probabilities."""
    import torch
    probabilities = next_token_distribution(
        generator.model, generator.tokenizer, PROMPT
    )
    top = torch.topk(probabilities, k=5)
    print(f"P(next token | {PROMPT!r})")
    for p, token_id in zip(top.values, top.indices, strict=True):
        print(f"  {generator.tokenizer.decode(token_id)!r:>12}  {p.item():.3f}")
    print(
        f"sum over all {probabilities.numel()} tokens: {probabilities.sum().item():.4f}"
    )


# --8<-- [end:next-token]


# --8<-- [start:chain-rule]
def sequence_log_probability(model, tokenizer, text: str) -> float:
    """log P(t_2, ..., t_N | t_1) by the chain rule: the sum of log P(t_n | t_<n).

    Raises:
        ValueError: the text has more tokens than the model has positions.
    """
    import torch
    input_ids, logits = token_logits(model, tokenizer, text)
    log_probs = torch.log_softmax(logits, dim=-1)  # (1, T, V)
    # Position n-1 predicts token n: pick the log-probability of the token that came
    # next.
    next_ids = input_ids[:, 1:].unsqueeze(-1)  # (1, T-1, 1)
    return log_probs[:, :-1].gather(-1, next_ids).sum().item()


def example_chain_rule(generator):
    """Which sentence does the model find more probable? The chain rule answers it: a
    fluent sentence, a grammatical but unusual one, and the first one's words
    shuffled."""
    for text in (
        "My dog really wanted to eat icecream because it was a very hot day.",
        "My dog really wanted to eat icecream because the moon filed a tax return.",
        "My dog really wanted to eat icecream because day hot a was very it.",
    ):
        log_p = sequence_log_probability(generator.model, generator.tokenizer, text)
        print(f"log P = {log_p:8.2f}   {text}")


# --8<-- [end:chain-rule]
