"""Process-wide settings an example could change for the examples after it.

An example runs in the render's process (or a worker's) after other examples and before
others. Settings that live in the process, not in a model, would carry its changes over: print
options, torch's default dtype and grad mode, matplotlib's rcParams, environment variables, the
working directory, logging switched off, the Ctrl-C handler. The renderer takes a
:func:`snapshot` before each example, and afterwards :func:`restore` puts back whatever the
example changed and names it, so that the example fails (``runner.side_effects_of``).
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from typing import Any


def _torch_printoptions() -> dict[str, Any]:
    from torch._tensor_str import PRINT_OPTS  # what torch.set_printoptions writes

    return {name: getattr(PRINT_OPTS, name) for name in TORCH_PRINT_OPTIONS}


def _set_torch_printoptions(options: dict[str, Any]) -> None:
    import torch

    torch.set_printoptions(**options)


def _numpy_printoptions() -> dict[str, Any]:
    import numpy as np

    return np.get_printoptions()


def _set_numpy_printoptions(options: dict[str, Any]) -> None:
    import numpy as np

    np.set_printoptions(**options)


def _rcparams() -> dict[str, Any]:
    import matplotlib

    return dict(matplotlib.rcParams.copy())


def _set_rcparams(saved: dict[str, Any]) -> None:
    import matplotlib

    dict.update(matplotlib.rcParams, saved)  # as matplotlib's rc_context restores them


def _default_dtype() -> Any:
    import torch

    return torch.get_default_dtype()


def _set_default_dtype(dtype: Any) -> None:
    import torch

    torch.set_default_dtype(dtype)


def _grad_enabled() -> bool:
    import torch

    return torch.is_grad_enabled()


def _set_grad_enabled(enabled: bool) -> None:
    import torch

    torch.set_grad_enabled(enabled)


def _set_environ(saved: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(saved)


TORCH_PRINT_OPTIONS = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")

# name: (read the setting, put a value read earlier back)
SETTINGS: dict[str, tuple[Callable[[], Any], Callable[[Any], None]]] = {
    "working directory": (os.getcwd, os.chdir),
    "environment variables": (lambda: dict(os.environ), _set_environ),
    "logging.disable level": (lambda: logging.root.manager.disable, logging.disable),
    "Ctrl-C (SIGINT) handler": (
        lambda: signal.getsignal(signal.SIGINT),
        lambda handler: signal.signal(signal.SIGINT, handler),
    ),
    "torch default dtype": (_default_dtype, _set_default_dtype),
    "torch grad mode": (_grad_enabled, _set_grad_enabled),
    "torch print options": (_torch_printoptions, _set_torch_printoptions),
    "numpy print options": (_numpy_printoptions, _set_numpy_printoptions),
    "matplotlib rcParams": (_rcparams, _set_rcparams),
}


def snapshot() -> dict[str, Any]:
    """The value of every setting of :data:`SETTINGS` now."""
    return {name: read() for name, (read, _) in SETTINGS.items()}


def restore(before: dict[str, Any]) -> list[str]:
    """Put back each setting that differs from ``before`` (a :func:`snapshot`); returns what
    differed, one line each, e.g. ``"torch default dtype: torch.float32 -> torch.float64"``
    (for a dict, the keys that differ)."""
    changed = []
    for name, (read, write) in SETTINGS.items():
        now = read()
        if now == before[name]:
            continue
        if isinstance(now, dict):
            keys = sorted(
                k for k in set(now) | set(before[name]) if now.get(k) != before[name].get(k)
            )
            changed.append(f"{name}: {', '.join(map(str, keys))}")
        else:
            changed.append(f"{name}: {before[name]!r} -> {now!r}")
        write(before[name])
    return changed
