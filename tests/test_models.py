"""Model profiles and loaders: hub loading code on local folders, clear errors, offline files."""

from __future__ import annotations

import pytest

from snippets.models import ModelUnavailableError, load_causal_lm, load_encoder, load_role
from snippets.profiles import PROFILE_TABLE, ROLES, ModelSpec, model_spec


def test_every_profile_fills_every_role():
    for profile, table in PROFILE_TABLE.items():
        assert set(table) == set(ROLES), profile
        for role, spec in table.items():
            assert spec.role == role
    for spec in PROFILE_TABLE["hub"].values():
        if spec.source == "hub":
            assert len(spec.revision) == 40  # pinned to a full commit hash
    stand_ins = [s.role for s in PROFILE_TABLE["offline"].values() if s.stand_in]
    assert {"generator", "classifier", "encoder"} <= set(stand_ins)


def test_unknown_profile_or_role_is_named():
    with pytest.raises(KeyError, match="unknown model profile 'cloud'"):
        model_spec("cloud", "generator")
    with pytest.raises(KeyError, match="unknown model role 'translator'"):
        model_spec("offline", "translator")


def test_hub_loading_code_works_on_a_locally_saved_model(tmp_path, gpt2_tokenizer):
    from transformers import GPT2Config, GPT2LMHeadModel

    folder = tmp_path / "tiny-gpt2"
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=16, n_positions=32)).save_pretrained(
        folder
    )
    gpt2_tokenizer.save_pretrained(folder)
    spec = ModelSpec("generator", "hub", str(folder), "main", False, "local test model")
    model, tokenizer = load_causal_lm(spec)
    assert model.config.n_layer == 1
    assert model.config._attn_implementation == "eager"
    assert tokenizer.encode("Counselor") == [31053, 741, 273]
    assert (folder / "model.safetensors").exists()


def test_unreachable_hub_model_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-hf-home" / "hub"))
    spec = model_spec("hub", "encoder")
    with pytest.raises(ModelUnavailableError) as error:
        load_encoder(spec)
    message = str(error.value)
    assert "google-bert/bert-base-uncased" in message
    assert "HF_HUB_OFFLINE=1" in message and "--profile offline" in message


def test_auto_profile_falls_back_to_offline_and_says_why(tmp_path, monkeypatch):
    import huggingface_hub.constants as constants

    from snippets.render.runner import resolve_profile

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    profile, why = resolve_profile("auto")
    assert profile == "offline"
    assert "openai-community/gpt2" in why


def test_forcing_cuda_without_a_gpu_is_a_clear_error():
    import torch

    from snippets.render.runner import RenderError, resolve_device

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(RenderError, match="--device cuda was asked for.*--device cpu"):
        resolve_device("cuda")
    assert resolve_device("auto") in ("cpu", "mps")


def test_offline_encoder_has_eager_attention(encoder):
    model, tokenizer = encoder
    assert model.config._attn_implementation == "eager"
    assert model.config.num_hidden_layers == 6 and model.config.num_attention_heads == 12
    assert tokenizer.vocab_size == 30522


def test_saved_model_source_is_a_local_folder():
    from pathlib import Path

    source = load_role("saved_model", "offline")
    assert (Path(source) / "config.json").exists()
    assert (Path(source) / "model.safetensors").exists()


def test_explicit_hub_profile_without_the_hub_stops_at_once(tmp_path, monkeypatch):
    import huggingface_hub.constants as constants

    from snippets.render.runner import RenderError, resolve_profile

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(RenderError, match="--profile hub was asked for.*--profile offline"):
        resolve_profile("hub")
    assert resolve_profile("offline") == ("offline", "asked for")


def test_hub_snapshot_for_saving_fails_clearly_offline(tmp_path, monkeypatch):
    import huggingface_hub.constants as constants

    from snippets.models import saved_model_source

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ModelUnavailableError, match="google-bert/bert-base-uncased.*offline"):
        saved_model_source(model_spec("hub", "saved_model"))
