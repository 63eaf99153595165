"""What an example could change in the models it shares with the other examples.

Every example of a render gets the same loaded objects for a role (a pipeline, a model and
its tokenizer). An example that changes one (``model.train()``, a weight changed in place or
replaced, a tokenizer's ``padding_side``, a config or generation-config field) would change what
the examples after it print, and with worker processes only the ones that happen to run after
it in the same process. The model store takes a fingerprint of each role when it loads it; after
each example the renderer compares, fails the example whose roles changed, and loads those
roles again for the examples after it (``runner.ModelStore.changed_roles``).
"""

from __future__ import annotations

from typing import Any

# Tokenizer attributes that change what it returns.
TOKENIZER_FIELDS = (
    "padding_side",
    "truncation_side",
    "pad_token",
    "bos_token",
    "eos_token",
    "model_max_length",
)


def fingerprint(value: Any) -> dict[str, object]:
    """A comparable summary of a role's loaded objects: for each model, its modules in train
    mode,
    the in-place version counters of its weights and buffers (torch increments a tensor's
    ``_version`` at every in-place change), its config and generation config; for each
    tokenizer, :data:`TOKENIZER_FIELDS` and its vocabulary size with added tokens.

    Args:
        value: a role's loaded value: a pipeline, a model, a tokenizer, a config, or a tuple
            of them.

    Returns:
        ``{"<part>.<field>": value}``, e.g. ``{"model.training": False, ...}``.
    """
    parts: dict[str, object] = {}
    items = value if isinstance(value, tuple) else (value,)
    for index, item in enumerate(items):
        prefix = "" if len(items) == 1 else f"[{index}]."
        if hasattr(item, "parameters"):  # a torch module
            parts.update(_model_parts(item, f"{prefix}model."))
        elif hasattr(item, "model") and hasattr(item, "tokenizer"):  # a pipeline
            parts.update(_model_parts(item.model, f"{prefix}model."))
            if item.tokenizer is not None:
                parts.update(_tokenizer_parts(item.tokenizer, f"{prefix}tokenizer."))
        elif hasattr(item, "padding_side"):  # a tokenizer
            parts.update(_tokenizer_parts(item, f"{prefix}tokenizer."))
        elif hasattr(item, "to_dict"):  # a config
            parts[f"{prefix}config"] = item.to_dict()
    return parts


def _model_parts(model: Any, prefix: str) -> dict[str, object]:
    import torch

    tensors = [*model.parameters(), *model.buffers()]
    with torch.no_grad():
        checksum = sum(float(t.sum()) for t in tensors if t.is_floating_point())
    parts: dict[str, object] = {
        f"{prefix}modules in training mode": sum(m.training for m in model.modules()),
        f"{prefix}tensors": len(tensors),
        f"{prefix}tensor storage addresses": hash(tuple(t.data_ptr() for t in tensors)),
        f"{prefix}in-place changes to weights": sum(t._version for t in tensors),
        f"{prefix}sum of the weights": repr(checksum),  # as text: nan == nan
        f"{prefix}requires_grad": sum(t.requires_grad for t in tensors),
    }
    if getattr(model, "config", None) is not None:
        parts[f"{prefix}config"] = model.config.to_dict()
    if getattr(model, "generation_config", None) is not None:
        parts[f"{prefix}generation_config"] = model.generation_config.to_dict()
    return parts


def _tokenizer_parts(tokenizer: Any, prefix: str) -> dict[str, object]:
    parts: dict[str, object] = {
        f"{prefix}{name}": str(getattr(tokenizer, name, None)) for name in TOKENIZER_FIELDS
    }
    parts[f"{prefix}len"] = len(tokenizer)
    return parts


def changes(before: dict[str, object], after: dict[str, object]) -> list[str]:
    """What differs between two fingerprints, one line each: ``"model.training: False ->
    True"``; for a config, the fields that differ."""
    found = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            fields = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            found += [f"{key}.{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in fields]
        else:
            found.append(f"{key}: {old!r} -> {new!r}")
    return found
