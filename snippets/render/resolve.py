"""Where a render runs and what it loads: ``--device`` and ``--profile`` resolved.

``auto`` devices resolve to cuda, then mps, then the CPU, decided without importing torch where
no GPU driver exists; ``auto`` profiles to ``hub`` where every hub model is in the HuggingFace
cache or the hub answers, else ``offline``. Each choice comes with a one-line reason, printed by
the render.
"""

from __future__ import annotations

import os
import platform
import socket
import sys
from pathlib import Path

from snippets.profiles import PROFILES, hub_repositories


class RenderError(RuntimeError):
    """A render cannot start (bad device, unreachable profile); the message says what to do."""


def accelerator_possible() -> bool:
    """Whether this machine could have a GPU that torch uses, judged without importing torch:
    an NVIDIA driver (``/proc/driver/nvidia``), ROCm's ``/dev/kfd``, or an Apple Silicon Mac."""
    if sys.platform == "darwin":
        return platform.machine() == "arm64"
    return Path("/proc/driver/nvidia").exists() or Path("/dev/kfd").exists()


def resolve_device(requested: str) -> str:
    """``auto`` -> cuda, else mps, else cpu; an explicit device must exist.

    ``cpu``, and ``auto`` on a machine without a GPU driver, are decided without importing
    torch, so that a render with nothing stale imports nothing heavy.

    Raises:
        RenderError: ``cuda`` or ``mps`` was asked for and is not available.
    """
    if requested == "cpu" or (requested == "auto" and not accelerator_possible()):
        return "cpu"
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise RenderError(
            f"--device cuda was asked for, but torch {torch.__version__} sees no CUDA device "
            f"(built with CUDA {torch.version.cuda}). Use --device cpu, or --device auto."
        )
    if requested == "mps" and not (torch.backends.mps.is_available()):
        raise RenderError(
            "--device mps was asked for, but no Apple GPU is available here. "
            "Use --device cpu, or --device auto."
        )
    if requested not in ("cpu", "cuda", "mps"):
        raise RenderError(f"unknown device {requested!r}: use auto, cpu, cuda or mps")
    return requested


# Settings that make the CPU's math libraries use fewer instructions than the CPU has (oneDNN,
# MKL); torch's own ATEN_CPU_CAPABILITY shows in torch's reported capability.
ISA_LIMITS = ("ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")


def cpu_class() -> str:
    """The CPU class that float results depend on: the architecture and the instruction-set
    level torch's kernels use (``x86_64, AVX512``), with any limit set on oneDNN or MKL
    (``x86_64, AVX2, MKL_ENABLE_INSTRUCTIONS=AVX2``).

    Outputs rendered on CPUs of two classes may differ in the last digits of their floats (the
    kernels sum in other orders); this is how a maintainer tells why bytes differ.
    """
    import torch

    parts = [platform.machine(), torch.backends.cpu.get_cpu_capability()]
    parts += [f"{name}={os.environ[name]}" for name in ISA_LIMITS if os.environ.get(name)]
    return ", ".join(parts)


def device_label(device: str) -> str:
    """Human name of the device, for captions and the manifest: ``cpu (x86_64, AVX512)``,
    ``cuda (NVIDIA H100 80GB HBM3)``."""
    if device == "cuda":
        import torch

        return f"cuda ({torch.cuda.get_device_name(0)})"
    if device == "mps":
        return "mps (Apple GPU)"
    return f"cpu ({cpu_class()})"


def in_hub_cache(name: str, revision: str) -> bool:
    """Whether the HuggingFace cache holds ``name``'s ``config.json`` at commit ``revision``.

    The cache's documented layout (``models--<org>--<name>/snapshots/<commit>/``), read without
    importing ``huggingface_hub``'s download machinery, which a no-op render does not need.
    """
    from huggingface_hub import constants

    repo = constants.REPO_ID_SEPARATOR.join(["models", *name.split("/")])
    return (Path(constants.HF_HUB_CACHE) / repo / "snapshots" / revision / "config.json").is_file()


def hub_host_resolves() -> bool:
    """False when the hub's host name does not resolve (no network, no DNS): then the hub is
    surely unreachable, found in milliseconds. True otherwise, and always behind a proxy."""
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY")):
        return True
    from urllib.parse import urlparse

    from huggingface_hub import constants

    try:
        socket.getaddrinfo(urlparse(constants.ENDPOINT).hostname, 443)
    except OSError:
        return False
    return True


def hub_models_resolve() -> tuple[bool, str]:
    """Whether every hub-profile model is in the HF cache or reachable, and a one-line account
    of which repositories and revisions were found in the cache and which would be downloaded.
    """
    found, missing = [], []
    for name, revision in hub_repositories().items():
        (found if in_hub_cache(name, revision) else missing).append(f"{name}@{revision[:10]}")
    account = (f"in the HuggingFace cache: {', '.join(found) or 'none'}; "
               f"to download: {', '.join(missing) or 'none'}")  # fmt: skip
    if not missing:
        return True, account
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return False, f"{account} (HF_HUB_OFFLINE=1: no downloads)"
    if not hub_host_resolves():
        return False, f"{account} (the hub is unreachable: its host name does not resolve)"
    try:
        from huggingface_hub import model_info

        model_info(missing[0].split("@")[0], timeout=5)
    except Exception as error:  # any failure to reach the hub means: offline
        return False, f"{account} (the hub is unreachable: {type(error).__name__})"
    return True, f"{account} (the hub is reachable)"


def resolve_profile(requested: str) -> tuple[str, str]:
    """``auto`` -> ``hub`` where its models resolve, else ``offline``; returns (profile, why)."""
    if requested not in (*PROFILES, "auto"):
        raise RenderError(f"unknown profile {requested!r}: use auto, hub or offline")
    if requested == "offline":
        return requested, "asked for"
    ok, why = hub_models_resolve()
    if requested == "hub" and not ok:
        raise RenderError(
            f"--profile hub was asked for, but its models are not available ({why}). Either "
            "fill the HuggingFace cache at the pinned revisions of snippets/profiles.py on a "
            "machine with hub access (see docs/rendering.md), copy it here and set "
            "HF_HUB_OFFLINE=1, or render with --profile offline."
        )
    return ("hub" if ok else "offline"), why
