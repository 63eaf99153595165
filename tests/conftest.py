"""Shared fixtures: the offline profile's real tokenizers and encoder, and a tiny random GPT-2."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def gpt2_tokenizer():
    from snippets.models import load_role

    return load_role("bpe_tokenizer", "offline")


@pytest.fixture(scope="session")
def encoder():
    from snippets.models import load_role

    return load_role("encoder", "offline")


@pytest.fixture(scope="session")
def tiny_generator(gpt2_tokenizer):
    """A text-generation pipeline around a 2-layer, 32-wide GPT-2 with random weights."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, pipeline

    torch.manual_seed(0)
    config = GPT2Config(n_layer=2, n_head=2, n_embd=32, n_positions=64, attn_implementation="eager")
    model = GPT2LMHeadModel(config).eval()
    return pipeline("text-generation", model=model, tokenizer=gpt2_tokenizer)


def pytest_configure(config) -> None:
    """In CI (LECTURE_REQUIRE_BROWSER=1) a missing Chromium is an error, never a skip."""
    import os

    from snippets.render.pdf import find_chromium

    if os.environ.get("LECTURE_REQUIRE_BROWSER") and find_chromium() is None:
        raise pytest.UsageError(
            "LECTURE_REQUIRE_BROWSER is set but no Chromium was found: apt-get install chromium"
        )
