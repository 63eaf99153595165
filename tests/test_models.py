"""The registry of roles, the offline checkpoints and the loaders: plain from_pretrained."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from snippets import offline
from snippets.codehash import PACKAGE_DIR
from snippets.profiles import ROLES, Checkpoint, ModelUnavailableError, checkpoint, load, role


def test_every_role_has_a_hub_pin_or_is_trained_here():
    for name, entry in ROLES.items():
        assert entry.name == name
        assert callable(entry.loader) and callable(entry.make)
        if entry.hub_id is None:
            assert entry.trained and not entry.stand_in  # trained by the lecture, both profiles
            # ... and by a notebook run without a clone, from roles it can load by hub id
            assert callable(entry.train) and entry.train.__module__ != "snippets.offline"
            assert all(ROLES[name].hub_id for name in entry.train_inputs)
        else:
            assert len(entry.hub_revision) == 40  # pinned to a full commit hash
            assert entry.hub_caption and entry.offline_caption
    stand_ins = {name for name, entry in ROLES.items() if entry.is_stand_in("offline")}
    assert stand_ins == {"generator", "classifier", "encoder"}
    assert not any(entry.is_stand_in("hub") for entry in ROLES.values())
    # Models that this lecture trains: never what a pretrained model does (model-choices.toml)
    trained = {name for name, entry in ROLES.items() if entry.trained_here("offline")}
    assert trained == {"trained_gpt2", "classifier"}
    assert {name for name, entry in ROLES.items() if entry.trained_here("hub")} == {"trained_gpt2"}
    # Offline, the lecture's GPT-2 is SmolLM2's real pretrained weights, not a trained toy
    assert ROLES["generator"].make is ROLES["instruct_generator"].make


def test_unknown_profile_or_role_is_named():
    with pytest.raises(KeyError, match="unknown model profile 'cloud'"):
        checkpoint("generator", "cloud")
    with pytest.raises(KeyError, match="unknown model role 'translator'"):
        role("translator")


def test_hub_checkpoints_are_ids_at_pinned_revisions():
    assert checkpoint("generator", "hub") == Checkpoint(
        "openai-community/gpt2", "607a30d783dfa663caf39e06633721c8d4cfcd7e"
    )
    assert checkpoint("encoder", "hub").name_or_path == "google-bert/bert-base-uncased"
    # The tiny GPT-2 is trained by the lecture under both profiles.
    assert Path(checkpoint("trained_gpt2", "hub").name_or_path).is_dir()


@pytest.mark.parametrize("name", sorted(ROLES))
def test_offline_checkpoints_load_with_plain_from_pretrained(name):
    """Each offline folder is laid out like a hub snapshot: Auto classes read it as they are."""
    from transformers import AutoConfig, AutoTokenizer

    folder = Path(checkpoint(name).name_or_path)
    assert (folder / "config.json").exists()
    config = AutoConfig.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    # a real limit, not transformers' "very large" (SmolLM2: 8192 positions)
    smollm2 = name in ("instruct_generator", "generator")  # the same folder offline
    assert tokenizer.model_max_length <= (8192 if smollm2 else 1024)
    if name in ("gpt2_tokenizer", "gpt2_config"):
        assert config.n_layer == 12 and tokenizer.model_max_length == 1024
        assert tokenizer.encode("Counselor") == [31053, 741, 273]
    else:
        from transformers import AutoModel

        assert (folder / "model.safetensors").exists()
        if config.model_type == "llama":
            return  # SmolLM2 (0.5 GB): loaded once per session, in tests/test_smollm2.py
        model = AutoModel.from_pretrained(folder)
        assert model.config.model_type in ("gpt2", "bert")
        if config.model_type == "gpt2":
            assert tokenizer.model_max_length == config.n_positions == 128


def test_loaders_take_hub_ids_and_local_folders_alike(tmp_path, gpt2_tokenizer):
    """The lecture's loaders are plain from_pretrained: a saved model in a folder loads as a
    hub id would, with eager attention where attention weights are needed."""
    from transformers import GPT2Config, GPT2LMHeadModel

    from snippets.generation import load_generator

    folder = tmp_path / "tiny-gpt2"
    config = GPT2Config(n_layer=1, n_head=2, n_embd=16, n_positions=32)
    GPT2LMHeadModel(config).save_pretrained(folder)
    gpt2_tokenizer.save_pretrained(folder)
    generator = load_generator(str(folder))
    assert generator.model.config.n_layer == 1
    assert generator.model.config._attn_implementation == "eager"
    assert generator.tokenizer.padding_side == "left" and generator.tokenizer.pad_token_id == 50256


def test_unreachable_hub_model_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-hf-home" / "hub"))
    with pytest.raises(ModelUnavailableError) as error:
        load("encoder", "hub")
    message = str(error.value)
    assert "google-bert/bert-base-uncased at revision 86b5e0934494bd15c9632b12f734a8a67f723594" in (
        message
    )
    assert "HF_HUB_OFFLINE=1" in message and "--profile offline" in message
    assert "Traceback" not in message


def test_auto_profile_falls_back_to_offline_and_says_what_it_found(tmp_path, monkeypatch):
    import huggingface_hub.constants as constants

    from snippets.render.resolve import resolve_profile

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    profile, why = resolve_profile("auto")
    assert profile == "offline"
    assert "in the HuggingFace cache: none" in why
    assert "to download: openai-community/gpt2@607a30d783" in why
    assert "\n" not in why


def test_explicit_hub_profile_without_the_hub_stops_at_once(tmp_path, monkeypatch):
    import huggingface_hub.constants as constants

    from snippets.render.resolve import RenderError, resolve_profile

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(RenderError, match="--profile hub was asked for.*--profile offline"):
        resolve_profile("hub")
    assert resolve_profile("offline") == ("offline", "asked for")


def test_forcing_cuda_without_a_gpu_is_a_clear_error():
    import torch

    from snippets.render.resolve import RenderError, accelerator_possible, resolve_device

    # Judged without torch: a machine without a GPU driver has no device torch could use.
    assert accelerator_possible() or not torch.cuda.is_available()
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


def test_stand_in_folder_changes_with_code_device_and_versions(monkeypatch):
    make = ROLES["trained_gpt2"].make
    cpu = offline.folder_name(make, True, "cpu")
    assert cpu.startswith("tiny-gpt2-")
    assert offline.folder_name(make, True, "cuda") != cpu
    assert offline.folder_name(make, True, "cuda:1") == offline.folder_name(make, True, "cuda")
    real = offline.package_version
    monkeypatch.setattr(offline, "package_version", lambda n: "9.9.9" if n == "torch" else real(n))
    assert offline.folder_name(make, True, "cpu") != cpu
    monkeypatch.undo()
    monkeypatch.setattr(offline, "function_hash", lambda module, name: "0" * 64)
    assert offline.folder_name(make, True, "cpu") != cpu  # other training code


def test_stand_in_folder_follows_the_training_code(tmp_path):
    """Editing the training loop (a helper of the maker) changes the folder's name."""
    import shutil

    from snippets.codehash import function_hash

    copy = tmp_path / "snippets"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "render"))
    before = function_hash("snippets.offline", "make_tiny_gpt2", copy)
    path = copy / "training.py"
    path.write_text(path.read_text().replace("LEARNING_RATE = 3e-3", "LEARNING_RATE = 1e-3"))
    assert function_hash("snippets.offline", "make_tiny_gpt2", copy) != before


def test_lecture_modules_never_import_the_renderer():
    """Imports go one way: snippets/<topic>.py -> nothing of snippets.render."""
    offenders = []
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(n == "snippets.render" or n.startswith("snippets.render.") for n in names):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_materialize_never_leaves_a_half_made_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LECTURE_CACHE", str(tmp_path))
    monkeypatch.setattr(offline, "folder_name", lambda make, trained, device: "broken-0")

    def make_broken(folder, device="cpu"):
        (folder / "config.json").write_text(json.dumps({}))
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        offline.materialize(make_broken, False)
    assert list((tmp_path / "checkpoints").iterdir()) == []
