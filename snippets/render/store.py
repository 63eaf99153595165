"""The model store: each model role loaded once per render and handed to every example.

A role's checkpoint is made (an offline folder) or found (the hub profile) by
:mod:`snippets.profiles`, loaded with the lecture's own loader, checked against the warnings its
load is declared to emit (``[load.<role>.<profile>]`` of ``docs/expected-warnings.toml``), cast
to the render's dtype, and fingerprinted (:mod:`snippets.render.fingerprint`) so that an example
that changes a shared model is caught and the role loaded afresh for the examples after it.
Two roles that load the same checkpoint with the same loader (offline, ``generator`` and
``instruct_generator`` are both SmolLM2's folder) share one loaded object: one load, one copy
in memory; an example that changes it drops both.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from snippets.profiles import checkpoint, load, role
from snippets.render import capture
from snippets.render.capture import check_load_warnings
from snippets.render.fingerprint import changes, components, fingerprint


class ModelStore:
    """Loads each model role once per render and hands it to every example that needs it."""

    def __init__(self, profile: str, device: str, dtype: str = "float32") -> None:
        self.profile, self.device, self.dtype = profile, device, dtype
        self._loaded: dict[str, Any] = {}
        self.load_counts: dict[str, int] = {}
        self.load_seconds: dict[str, float] = {}  # includes training a stand-in, if needed
        self.import_seconds: float | None = None  # importing libraries before the examples
        self._failed: dict[str, Exception] = {}  # a role that failed once fails at once after
        self.load_warnings: dict[str, list[str]] = {}  # declared ones, for the render's report
        self._fingerprints: dict[str, dict[str, object]] = {}  # each role as loaded
        self._sources: dict[str, tuple] = {}  # each loaded role's (loader, checkpoint)

    def get(self, name: str) -> Any:
        """The loaded model of role ``name`` (loaded now if it is not yet, or shared with a
        loaded role of the same loader and checkpoint).

        Raises:
            Exception: what loading the role raised (once failed, at once afterwards).
        """
        if name in self._failed:
            raise self._failed[name]
        if name not in self._loaded:
            start = time.perf_counter()
            try:
                # Make the offline folder first (training a stand-in warns about training,
                # on the console); what is checked is what loading the checkpoint warns.
                source = (role(name).loader, checkpoint(name, self.profile, self.device))
                twin = next((r for r, s in self._sources.items() if s == source), None)
                if twin is None:
                    with capture.capture() as output:
                        value = load(name, self.profile, self.device)
                    emitted = output.warnings
                else:  # the same files through the same code: share the loaded object
                    emitted = self.load_warnings[twin]
                self.load_warnings[name] = check_load_warnings(name, self.profile, emitted)
            except Exception as error:
                self._failed[name] = error
                raise
            self._sources[name] = source
            if twin is None:
                self._loaded[name] = _cast(value, self.dtype)
                self._fingerprints[name] = fingerprint(self._loaded[name])
                self.load_counts[name] = self.load_counts.get(name, 0) + 1
                self.load_seconds[name] = round(time.perf_counter() - start, 2)
            else:
                self._loaded[name] = self._loaded[twin]
                self._fingerprints[name] = self._fingerprints[twin]
        return self._loaded[name]

    def changed_roles(self, roles: Iterable[str]) -> dict[str, list[str]]:
        """Which of the loaded ``roles`` differ from how they were loaded, and how (see
        :mod:`snippets.render.fingerprint`); those are dropped, so that the next :meth:`get`
        loads them again."""
        changed = {}
        for name in roles:
            if name in self._loaded:
                found = changes(self._fingerprints[name], fingerprint(self._loaded[name]))
                if found:
                    changed[name] = found
                    shared = [r for r in self._loaded if self._loaded[r] is self._loaded[name]]
                    for dropped in shared:  # the role and any role sharing its object
                        del self._loaded[dropped]
                        self._sources.pop(dropped, None)
        return changed


def _cast(value: Any, dtype: str) -> Any:
    """Cast loaded models to ``dtype`` (float32 leaves them as they are)."""
    if dtype == "float32":
        return value
    import torch

    target = getattr(torch, dtype)
    items = value if isinstance(value, tuple) else (value,)
    for item in items:
        model = getattr(item, "model", item)
        if isinstance(model, torch.nn.Module):
            model.to(target)
    return value


def forget_warnings_shown_once(value: Any) -> None:
    """Forget which warnings the tokenizers in ``value`` (a tokenizer, a ``(model, tokenizer)``
    pair, a pipeline) have shown: transformers shows some once per tokenizer instance (the
    flags of ``tokenizer.deprecation_warnings``, e.g. "Token indices sequence length is longer
    than the specified maximum"), so without this an example's output would depend on which
    examples ran before it in the same process."""
    for _, kind, tokenizer in components(value):
        shown = getattr(tokenizer, "deprecation_warnings", None) if kind == "tokenizer" else None
        if isinstance(shown, dict):
            shown.clear()
