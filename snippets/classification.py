"""Sentiment classification with a HuggingFace model, in five steps.

1. set up a prompt; 2. load a pretrained sequence-classification model (and its config);
3. load its tokenizer and turn the prompt into input ids; 4. run the model to get
*logits*, one score per class; 5. interpret them: softmax turns logits into
probabilities, the largest one gives the label (``model.config.id2label``).

Reference: HuggingFace course, chapter 2.2 ("Behind the pipeline").
"""

from __future__ import annotations

from snippets.corpus import sentiment_examples
from snippets.sentiment import accuracy

# Step 1: the prompt
# --8<-- [start:step1]
INPUT_TEXT = "The panoramic view of the ocean was breathtaking."
# --8<-- [end:step1]


# --8<-- [start:load]
def load_classifier(checkpoint: str, revision: str | None = None, device: str = "cpu"):
    """A sequence classifier and its tokenizer, as ``(model, tokenizer)``.

    ``checkpoint`` is a hub id (the lecture's is
    ``"distilbert/distilbert-base-uncased-finetuned-sst-2-english"``) or a local folder.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(checkpoint, revision=revision)
    model = AutoModelForSequenceClassification.from_pretrained(
        checkpoint, revision=revision
    )
    return model.to(device).eval(), tokenizer


# --8<-- [end:load]


# --8<-- [start:step2]
def example_step2_config(classifier):
    """Step 2: the model's configuration, including the labels of its two classes."""
    model, _ = classifier
    print(model.config)


# --8<-- [end:step2]


# --8<-- [start:step3]
def example_step3_input_ids(classifier):
    """Step 3: the prompt as input ids, [CLS] (101) first and [SEP] (102) last."""
    _, tokenizer = classifier
    input_ids = tokenizer(INPUT_TEXT, return_tensors="pt")["input_ids"]  # (1, T)
    print(input_ids)


# --8<-- [end:step3]


# --8<-- [start:step45]
def classify(model, tokenizer, text: str) -> dict:
    """Steps 4 and 5 for one text; a text longer than the model's positions (512 for
    BERT and DistilBERT) is truncated to them, as ``pipeline(..., truncation=True)``
    does.

    Returns:
        ``{"label": str, "score": float, "logits": list[float],
        "probabilities": list[float]}``: a ``text-classification`` pipeline's answer
        plus the raw numbers.
    """
    import torch
    inputs = tokenizer(text, truncation=True, return_tensors="pt")  # at most 512 tokens
    input_ids = inputs["input_ids"].to(model.device)  # (1, T)
    with torch.no_grad():
        logits = model(input_ids).logits  # (1, num_labels): unnormalized scores
    probabilities = torch.softmax(logits, dim=-1)  # (1, num_labels), sums to 1
    predicted = int(probabilities.argmax(dim=-1))
    return {
        "label": model.config.id2label[predicted],
        "score": probabilities[0, predicted].item(),
        "logits": logits[0].tolist(),
        "probabilities": probabilities[0].tolist(),
    }


def example_step45_inference(classifier):
    """Steps 4 and 5: logits, their softmax, and the label with the highest
    probability."""
    model, tokenizer = classifier
    result = classify(model, tokenizer, INPUT_TEXT)
    print(f"logits:        {[round(x, 4) for x in result['logits']]}")
    print(f"probabilities: {[round(x, 6) for x in result['probabilities']]}")
    print([{"label": result["label"], "score": round(result["score"], 6)}])


# --8<-- [end:step45]


# --8<-- [start:chart]
SENTENCES = [
    INPUT_TEXT,
    "The lecture was long and the slides were unreadable.",
    "What a lovely little restaurant!",
    "I would not watch this film again.",
    "The weather was fine.",
]


def example_probability_chart(classifier):
    """P(POSITIVE) and P(NEGATIVE) for five sentences: clear opinions get probabilities
    near 0 or 1, a neutral sentence falls in between."""
    import matplotlib.pyplot as plt
    model, tokenizer = classifier
    results = [classify(model, tokenizer, s) for s in SENTENCES]
    label2id = model.config.label2id
    positive = [r["probabilities"][label2id["POSITIVE"]] for r in results]
    fig, ax = plt.subplots(figsize=(8, 2.8))
    rows = range(len(SENTENCES))
    ax.barh(rows, [1 - p for p in positive], color="tab:red", label="NEGATIVE")
    ax.barh(
        rows,
        positive,
        left=[1 - p for p in positive],
        color="tab:blue",
        label="POSITIVE",
    )
    ax.set_yticks(
        rows, [s if len(s) < 50 else s[:47] + "..." for s in SENTENCES], fontsize=8
    )
    ax.invert_yaxis()
    ax.set(xlim=(0, 1), xlabel="probability")
    ax.legend(loc="lower right", fontsize=8, ncols=2)
    fig.tight_layout()
    return fig


# --8<-- [end:chart]


# --8<-- [start:accuracy]
def example_heldout_accuracy(classifier):
    """Accuracy on held-out sentences, built from words that the offline stand-in never
    saw in training."""
    model, tokenizer = classifier
    heldout = sentiment_examples("heldout")
    print(f"held-out sentences: {len(heldout)}, e.g. {heldout[0][0]!r}")
    print(f"accuracy: {accuracy(model, tokenizer, heldout):.3f}")


# --8<-- [end:accuracy]
