"""Saving a model to a folder and loading it back.

``save_pretrained(folder)`` writes the configuration (``config.json``) and the weights
(``model.safetensors``); ``from_pretrained(folder)`` reads them back, exactly as it would from the
hub. Any Auto class can load a folder whose weights fit its architecture: a model saved with a
language-modelling head loads into ``AutoModel`` as its bare encoder.

Reference: https://huggingface.co/docs/transformers/main_classes/model#transformers.PreTrainedModel.save_pretrained
"""

from __future__ import annotations


# --8<-- [start:save-load]
def example_save_and_reload(saved_model_source):
    """Save to a local folder, list what was written, load it back and compare the weights."""
    import tempfile
    from pathlib import Path

    import torch
    from transformers import AutoModel, AutoModelForMaskedLM

    model = AutoModelForMaskedLM.from_pretrained(saved_model_source)  # encoder + LM head
    # ... train or fine-tune the model here ...
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "my_local_model"
        model.save_pretrained(directory)
        for file in sorted(directory.iterdir()):
            print(f"{file.name:20} {file.stat().st_size / 1e6:8.1f} MB")
        loaded = AutoModel.from_pretrained(directory)  # just the encoder this time
    print(f"saved:  {type(model).__name__}")
    print(f"loaded: {type(loaded).__name__}")
    before = model.bert.embeddings.word_embeddings.weight
    after = loaded.embeddings.word_embeddings.weight
    print(f"word embeddings identical after the round trip: {torch.equal(before, after)}")


# --8<-- [end:save-load]
