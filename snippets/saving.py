"""Saving a model to a folder and loading it back.

``save_pretrained(folder)`` writes the configuration (``config.json``) and the weights
(``model.safetensors``); the tokenizer's ``save_pretrained`` adds its files.
``from_pretrained`` reads such a folder exactly as it reads a model repository from the
hub, so a fine-tuned model can be kept, shared, or carried to a machine without network.

Reference:
https://huggingface.co/docs/transformers/main_classes/model#transformers.PreTrainedModel.save_pretrained
"""

from __future__ import annotations

# --8<-- [start:setup]
import tempfile
from pathlib import Path

# --8<-- [end:setup]
from snippets.classification import INPUT_TEXT


# --8<-- [start:save-load]
def example_save_and_reload(classifier):
    """Save the classifier to a local folder, list what was written, load it back and
    compare its logits on the lecture's sentence before and after."""
    import torch
    from transformers import AutoModelForSequenceClassification
    model, tokenizer = classifier
    # ... fine-tune the model here ...
    inputs = tokenizer(INPUT_TEXT, return_tensors="pt").to(model.device)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "my_local_model"
        model.save_pretrained(directory)
        tokenizer.save_pretrained(directory)
        for file in sorted(directory.iterdir()):
            print(f"{file.name:24} {file.stat().st_size / 1e6:8.2f} MB")
        loaded = AutoModelForSequenceClassification.from_pretrained(directory)
    loaded = loaded.to(model.device).eval()
    with torch.no_grad():
        before = model(**inputs).logits  # (1, 2)
        after = loaded(**inputs).logits
    print(f"saved {type(model).__name__}, loaded {type(loaded).__name__}")
    print(f"logits before: {[round(x, 4) for x in before[0].tolist()]}")
    print(f"logits after:  {[round(x, 4) for x in after[0].tolist()]}")
    print(f"identical: {torch.equal(before, after)}")


# --8<-- [end:save-load]
