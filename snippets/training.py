"""A training loop for a (very) small GPT-2.

The model is the real ``GPT2LMHeadModel`` of transformers with GPT-2's real tokenizer,
only smaller: 2 blocks instead of 12, 128-wide instead of 768. It learns next-token
prediction on the corpus of ``snippets/corpus.py``: for every position t, the loss is
the cross-entropy of the model's distribution P(t_N | t_1..t_{N-1}) against the token
that actually follows. transformers computes it when ``labels`` are given (shifted
inside the model).

The trained model is the offline profile's text generator (``snippets/profiles.py``), so
the generation examples have a model to run on a machine without the HuggingFace hub.

References: Radford et al. 2019, "Language Models are Unsupervised Multitask Learners"
(GPT-2); Karpathy, nanoGPT ``train.py`` (the shape of the loop)."""

from __future__ import annotations

# --8<-- [start:setup]
import json
import math
import time
from pathlib import Path

# --8<-- [end:setup]
from snippets.corpus import held_out_stories, story_corpus

PROMPT = "My dog really wanted to eat icecream because"

# --8<-- [start:config]
TINY_GPT2 = dict(
    n_layer=2,  # transformer blocks (GPT-2 small: 12)
    n_head=4,  # attention heads per block (GPT-2 small: 12)
    n_embd=128,  # width of the residual stream (GPT-2 small: 768)
    n_positions=128,  # longest context (GPT-2: 1024)
)
TRAIN_STEPS = 100
BATCH_SIZE = 16
CONTEXT = 64  # tokens per training sequence
LEARNING_RATE = 3e-3
EVAL_EVERY = 10  # steps between two measurements of the validation loss
# --8<-- [end:config]


# --8<-- [start:train]
def corpus_token_ids(tokenizer, sentences: list[str]) -> list[int]:
    """Sentences as one stream of token ids, separated by <|endoftext|>."""
    ids: list[int] = []
    for sentence in sentences:
        ids.extend(tokenizer.encode(sentence))
        ids.append(tokenizer.eos_token_id)
    return ids


def validation_loss(model, windows) -> float:
    """Mean cross-entropy (nats per token) on ``windows`` (B, T) of held-out token ids,
    without dropout and without gradients."""
    import torch
    model.eval()
    with torch.no_grad():
        loss = model(input_ids=windows, labels=windows).loss.item()
    model.train()
    return loss


def train_tiny_gpt2(
    out_dir: Path,
    tokenizer,
    device: str = "cpu",
    steps: int = TRAIN_STEPS,
    seed: int = 0,
) -> dict:
    """Train the tiny GPT-2 and save it (weights, tokenizer, ``training_log.json``) to
    ``out_dir``. Every ``EVAL_EVERY`` steps it measures the loss on held-out sentences
    (:func:`~snippets.corpus.held_out_stories`) too: the validation loss.

    Args:
        out_dir: folder to write with ``save_pretrained``.
        tokenizer: GPT-2's tokenizer; it is saved with the model, its
            ``model_max_length`` set to the tiny model's ``n_positions``.
        device: torch device string.
        steps: optimizer steps of ``BATCH_SIZE`` x ``CONTEXT`` tokens.
        seed: seeds the initial weights and the batches.

    Returns:
        The training log: corpus size, per-step loss, validation loss, seconds taken.
    """
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.manual_seed(seed)
    data = torch.tensor(corpus_token_ids(tokenizer, story_corpus()))  # (N,) token ids
    held_out = torch.tensor(corpus_token_ids(tokenizer, held_out_stories()))
    # The held-out stream cut into BATCH_SIZE windows of CONTEXT tokens: (B, T)
    windows = held_out[: BATCH_SIZE * CONTEXT].view(BATCH_SIZE, CONTEXT).to(device)
    config = GPT2Config(vocab_size=len(tokenizer), **TINY_GPT2)
    model = GPT2LMHeadModel(config).to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=LEARNING_RATE, weight_decay=0.01
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, LEARNING_RATE, total_steps=steps
    )
    losses, validation = [], []  # validation: [step, loss] every EVAL_EVERY steps
    start = time.perf_counter()
    model.train()
    for step in range(1, steps + 1):
        # A batch of random windows of the corpus: (B, T) token ids.
        offsets = torch.randint(0, len(data) - CONTEXT, (BATCH_SIZE,))
        batch = torch.stack([data[i : i + CONTEXT] for i in offsets]).to(device)
        # labels=input_ids: the model shifts them by one and returns the mean
        # cross-entropy of predicting token t+1 from tokens 1..t.
        loss = model(input_ids=batch, labels=batch).loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if step % EVAL_EVERY == 0 or step == 1:
            validation.append([step, round(validation_loss(model, windows), 4)])
    log = {
        "corpus_sentences": len(story_corpus()),
        "corpus_tokens": len(data),
        "validation_sentences": len(held_out_stories()),
        "validation_tokens": windows.numel(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": steps,
        "batch_size": BATCH_SIZE,
        "context": CONTEXT,
        "losses": [round(x, 4) for x in losses],
        "validation": validation,
        "seconds": round(time.perf_counter() - start, 1),
        "device": device,
    }
    model.generation_config.pad_token_id = tokenizer.eos_token_id
    # the longest input this model can read
    tokenizer.model_max_length = config.n_positions
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (Path(out_dir) / "training_log.json").write_text(json.dumps(log, indent=1))
    return log


# --8<-- [end:train]


# --8<-- [start:load]
def load_trained_gpt2(
    checkpoint: str, revision: str | None = None, device: str = "cpu"
):
    """The trained tiny GPT-2 and its tokenizer, as ``(model, tokenizer)``; eager
    attention, so that ``output_attentions=True`` returns the weights."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(checkpoint, revision=revision)
    model = AutoModelForCausalLM.from_pretrained(
        checkpoint, revision=revision, attn_implementation="eager"
    )
    return model.to(device).eval(), tokenizer


# --8<-- [end:load]


# --8<-- [start:loss-curve]
def example_loss_curve(trained_gpt2):
    """Training loss of the tiny GPT-2, and its loss on held-out sentences that it never
    trains on (the validation loss): both start near ln(50257) = 10.8, a uniform guess
    over the vocabulary, and fall together as the model learns the corpus's kind of
    sentence."""
    import matplotlib.pyplot as plt
    model, _ = trained_gpt2
    log = training_log(model)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    steps = range(1, len(log["losses"]) + 1)
    ax.plot(steps, log["losses"], lw=1.2, label="training batch")
    val_steps, val_losses = zip(*log["validation"], strict=True)
    ax.plot(val_steps, val_losses, "o-", ms=4, lw=1.2, label="held-out sentences")
    ax.axhline(math.log(50257), ls="--", c="grey", lw=0.8)
    ax.annotate(  # under the line, at the right, where the curve is far below
        "uniform guess, ln 50257",
        (len(log["losses"]), math.log(50257)),
        xytext=(0, -4),
        textcoords="offset points",
        ha="right",
        va="top",
        c="dimgrey",
    )
    ax.set(
        xlabel="training step",
        ylabel="cross-entropy loss (nats)",
        title=f"{log['parameters'] / 1e6:.1f} M parameters, "
        f"{log['corpus_tokens']:,} corpus tokens",
    )
    ax.legend(loc="center right", fontsize=8)
    fig.tight_layout()
    return fig


# --8<-- [end:loss-curve]


# --8<-- [start:training-summary]
def training_log(model) -> dict:
    """The log that :func:`train_tiny_gpt2` saved next to ``model``'s weights."""
    return json.loads((Path(model.name_or_path) / "training_log.json").read_text())


def example_summary(trained_gpt2):
    """What was trained, on what, for how long."""
    model, _ = trained_gpt2
    log = training_log(model)
    print(f"corpus: {log['corpus_sentences']} sentences, {log['corpus_tokens']} tokens")
    print(
        f"model: {log['parameters']:,} parameters "
        f"({model.config.n_layer} blocks, {model.config.n_head} heads, "
        f"width {model.config.n_embd})"
    )
    steps, batch, context = log["steps"], log["batch_size"], log["context"]
    print(f"training: {steps} steps of {batch} x {context} tokens")
    print(
        f"loss: first step {log['losses'][0]:.2f}, last 10 steps "
        f"{sum(log['losses'][-10:]) / 10:.2f}"
    )
    step, loss = log["validation"][-1]
    print(
        f"held-out sentences: {log['validation_sentences']}; loss on "
        f"{log['validation_tokens']} of their tokens after step {step}: {loss:.2f}"
    )


# --8<-- [end:training-summary]


# --8<-- [start:before-after]
def example_before_after(trained_gpt2):
    """The same prompt, continued by the untrained model (random weights) and by the
    trained one, both greedy (always the most likely next token)."""
    import torch
    from transformers import GPT2LMHeadModel
    trained, tokenizer = trained_gpt2
    torch.manual_seed(0)
    untrained = GPT2LMHeadModel(trained.config).eval()  # same shape, random weights
    inputs = tokenizer(PROMPT, return_tensors="pt")
    for name, model in (("before training", untrained), ("after training", trained)):
        output = model.generate(
            **inputs.to(model.device),
            max_new_tokens=20,
            do_sample=False,
            pad_token_id=tokenizer.eos_token_id,
        )
        print(f"{name}: {tokenizer.decode(output[0])!r}")


# --8<-- [end:before-after]


# --8<-- [start:memorisation]
ORDINARY_ENGLISH = "The weather forecast said that it would rain all afternoon."


def example_memorisation(trained_gpt2):
    """Memorised, or learned? The trained model's loss per token on a sentence it was
    trained on, on a held-out sentence of the same kind that it never saw, and on an
    ordinary English sentence unlike its corpus."""
    import torch
    model, tokenizer = trained_gpt2
    texts = {
        "trained on": story_corpus()[0],
        "held out": held_out_stories()[0],
        "ordinary English": ORDINARY_ENGLISH,
    }
    for kind, text in texts.items():
        input_ids = tokenizer(text, return_tensors="pt").input_ids.to(model.device)
        with torch.no_grad():
            logits = model(input_ids).logits  # (1, T, vocab_size)
        # The training loss: cross-entropy of each next token, position t predicting
        # token t + 1, averaged over the T - 1 predictions.
        loss = torch.nn.functional.cross_entropy(logits[0, :-1], input_ids[0, 1:])
        print(f"{kind:16} {loss.item():5.2f} nats per token  {text!r}")


# --8<-- [end:memorisation]
