"""What an example could change in the models it shares with the other examples.

Every example of a render gets the same loaded objects for a role (a pipeline, a model and
its tokenizer). An example that changes one (``model.train()``, a weight changed in place or
replaced, a hook, a tokenizer's ``padding_side``, a config or generation-config field) would
change what the examples after it print, and with worker processes only the ones that happen
to run after it in the same process. The model store takes a fingerprint of each role when it
loads it; after each example the renderer compares, fails the example whose roles changed, and
loads those roles again for the examples after it (``store.ModelStore.changed_roles``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Tokenizer attributes that change what it returns.
TOKENIZER_FIELDS = (
    "padding_side",
    "truncation_side",
    "pad_token",
    "bos_token",
    "eos_token",
    "model_max_length",
    "add_prefix_space",
    "clean_up_tokenization_spaces",
    "chat_template",
)
# The parts of a fast tokenizer's pipeline (``tokenizer.backend_tokenizer``), kept as JSON.
BACKEND_PARTS = ("normalizer", "pre_tokenizer", "post_processor", "decoder")
# Parts whose value is an opaque number (a hash): a change is named, not shown.
OPAQUE = ("tensor storage addresses", "module tree")


def fingerprint(value: Any) -> dict[str, object]:
    """A comparable summary of a role's loaded objects: for each model, its modules in train
    mode, its module tree (names, types, identities), hooks (but transformers' own), methods
    set on module instances, the storage addresses, in-place version counters (torch
    increments a tensor's ``_version`` at every in-place change) and sum of its weights and
    buffers (which catches most of what bypasses the counter: ``.data`` edits), its config and
    generation config; for each tokenizer,
    :data:`TOKENIZER_FIELDS`, its vocabulary size with added tokens and its backend pipeline's
    :data:`BACKEND_PARTS`.

    What it does not see: values moved through ``.data`` without changing their sum (two rows
    swapped; an order-sensitive checksum took 20 ms against the sum's 3.4 ms on the offline
    encoder, after every example), a
    change to a library's or the process's global state (see
    :mod:`snippets.render.process_state`), attributes of objects it does not list.

    Args:
        value: a role's loaded value: a pipeline, a model, a tokenizer, a config, or a tuple
            of them.

    Returns:
        ``{"<part>.<field>": value}``, e.g. ``{"model.training": False, ...}``.
    """
    parts: dict[str, object] = {}
    for prefix, kind, obj in components(value):
        if kind == "model":
            parts.update(_model_parts(obj, f"{prefix}model."))
        elif kind == "tokenizer":
            parts.update(_tokenizer_parts(obj, f"{prefix}tokenizer."))
        else:
            parts[f"{prefix}config"] = obj.to_dict()
    return parts


def components(value: Any) -> Iterator[tuple[str, str, Any]]:
    """The models, tokenizers and configs in a role's loaded value (a pipeline, a model, a
    tokenizer, a config, or a tuple of them): ``(prefix, kind, object)``, the prefix ``[i].``
    for the i-th item of a tuple, the kind ``model``, ``tokenizer`` or ``config``."""
    items = value if isinstance(value, tuple) else (value,)
    for index, item in enumerate(items):
        prefix = "" if len(items) == 1 else f"[{index}]."
        if hasattr(item, "parameters"):  # a torch module
            yield prefix, "model", item
        elif hasattr(item, "model") and hasattr(item, "tokenizer"):  # a pipeline
            yield prefix, "model", item.model
            if item.tokenizer is not None:
                yield prefix, "tokenizer", item.tokenizer
        elif hasattr(item, "padding_side"):  # a tokenizer
            yield prefix, "tokenizer", item
        elif hasattr(item, "to_dict"):  # a config
            yield prefix, "config", item


def _model_parts(model: Any, prefix: str) -> dict[str, object]:
    import torch

    tensors = [*model.parameters(), *model.buffers()]
    modules = list(model.named_modules())
    with torch.no_grad():
        checksum = sum(float(t.sum()) for t in tensors if t.is_floating_point())
    # transformers installs hooks of its own on the first call that asks for attentions or
    # hidden states (transformers.utils.output_capturing): those are not an example's doing.
    hooks = sorted(
        f"{n or 'model'}.{kind}: {getattr(function, '__qualname__', repr(function))}"
        for n, m in modules
        for kind in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks",
                     "_backward_pre_hooks", "_state_dict_hooks", "_load_state_dict_pre_hooks")
        for hook in getattr(m, kind, {}).values()
        if not getattr(function := getattr(hook, "func", hook), "__module__", "").startswith(
            "transformers."
        )
    )  # fmt: skip
    parts: dict[str, object] = {
        f"{prefix}modules in training mode": sum(m.training for _, m in modules),
        f"{prefix}module tree": hash(tuple((n, type(m).__qualname__, id(m)) for n, m in modules)),
        f"{prefix}hooks (not transformers' own)": hooks,
        f"{prefix}methods set on instances": sorted(
            f"{n or 'model'}.{attr}"
            for n, m in modules
            for attr, value in vars(m).items()
            if callable(value) and not isinstance(value, torch.nn.Module)
        ),
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
    backend = getattr(tokenizer, "backend_tokenizer", None)
    for name in BACKEND_PARTS if backend is not None else ():
        part = getattr(backend, name, None)
        parts[f"{prefix}backend {name}"] = None if part is None else part.__getstate__()
    return parts


def changes(before: dict[str, object], after: dict[str, object]) -> list[str]:
    """What differs between two fingerprints, one line each: ``"model.training: False ->
    True"``; for a config, the fields that differ."""
    found = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key.endswith(OPAQUE):
            found.append(f"{key}: changed")
        elif isinstance(old, dict) and isinstance(new, dict):
            fields = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            found += [f"{key}.{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in fields]
        else:
            found.append(f"{key}: {old!r} -> {new!r}")
    return found
