"""The hub profile on a simulated HuggingFace cache (random weights, real files and layout)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from snippets.profiles import ROLES
from snippets.render import hub

REPO = Path(__file__).resolve().parent.parent
GPT2 = ROLES["generator"]


@pytest.fixture(scope="session")
def simulated_hf_home() -> Path:
    """Filled once per version of the filling code, in .cache/lecture (about 1.2 GB)."""
    return hub.simulated_cache()


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, check=False)  # fmt: skip


def test_simulated_cache_is_what_huggingface_hub_reads(simulated_hf_home):
    code = (
        "from huggingface_hub import scan_cache_dir\n"
        "from transformers import AutoConfig, AutoTokenizer\n"
        "for repo in sorted(scan_cache_dir().repos, key=lambda r: r.repo_id):\n"
        "    (revision,) = repo.revisions\n"
        "    name, commit = repo.repo_id, revision.commit_hash\n"
        "    config = AutoConfig.from_pretrained(name, revision=commit)\n"
        "    tokenizer = AutoTokenizer.from_pretrained(name, revision=commit)\n"
        "    print(name, commit, config.architectures[0],\n"
        "          tokenizer.model_max_length, len(tokenizer), config.id2label[0])\n"
    )
    result = run_python(code, hub.hub_environment(simulated_hf_home))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "HuggingFaceTB/SmolLM2-135M-Instruct 12fd25f77366fa6b3b4b768ec3050bf629380bac "
        "LlamaForCausalLM 8192 49152 LABEL_0",
        "distilbert/distilbert-base-uncased-finetuned-sst-2-english "
        "714eb0fa89d2f80546fda750413ed43d93601a13 DistilBertForSequenceClassification 512 30522 "
        "NEGATIVE",
        "google-bert/bert-base-uncased 86b5e0934494bd15c9632b12f734a8a67f723594 BertForMaskedLM "
        "512 30522 LABEL_0",
        "openai-community/gpt2 607a30d783dfa663caf39e06633721c8d4cfcd7e GPT2LMHeadModel 1024 "
        "50257 LABEL_0",
    ]


def test_auto_profile_says_what_it_found_in_the_cache(simulated_hf_home):
    code = "from snippets.render.resolve import resolve_profile\nprint(*resolve_profile('auto'))"
    result = run_python(code, hub.hub_environment(simulated_hf_home))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "hub in the HuggingFace cache: openai-community/gpt2@607a30d783, "
        "google-bert/bert-base-uncased@86b5e09344, "
        "distilbert/distilbert-base-uncased-finetuned-sst-2-english@714eb0fa89, "
        "HuggingFaceTB/SmolLM2-135M-Instruct@12fd25f773; to download: none"
    )


def generated_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted((REPO / "docs" / "generated").iterdir()):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.mark.slow
def test_every_example_renders_with_the_hub_profile(simulated_hf_home, tmp_path):
    """Renders every example (--profile hub, HF_HUB_OFFLINE=1) into a copy, then render --check
    and mkdocs build --strict of the copy; captions name the hub models, no stand-in note."""
    before = generated_fingerprint()
    seconds = hub.check(simulated_hf_home, tmp_path / "repo")
    assert set(seconds) == {"render", "check", "mkdocs"}
    assert generated_fingerprint() == before  # the working tree's outputs are untouched
    work = tmp_path / "repo" / "docs" / "generated"
    assert (
        "model: GPT-2 (124M parameters, openai-community/gpt2)"
        in (work / "generation-five-continuations.md").read_text()
    )
    assert (
        "layers: 12; each attention tensor: (1, 12, 15, 15)"
        in (work / "attention-shapes.txt").read_text()
    )
    assert "(0-11): 12 x GPT2Block(" in (work / "architecture-printout.txt").read_text()
    # SmolLM2's simulated repository holds its real weights, in bfloat16 as on the hub: the
    # hub render of the chat is a real answer, and its caption names the hub model.
    answer = work / "chat-answer"
    assert (
        "chat, greedy: 'The capital of France is Paris.'" in answer.with_suffix(".txt").read_text()
    )
    assert (
        "model: SmolLM2-135M-Instruct (135M parameters, HuggingFaceTB/SmolLM2-135M-Instruct)"
        in answer.with_suffix(".md").read_text()
    )
    assert (tmp_path / "repo" / "site" / "index.html").exists()


def test_a_missing_file_in_a_snapshot_names_the_model_and_the_ways_out(simulated_hf_home, tmp_path):
    """GPT-2's snapshot without model.safetensors: one message, not a traceback."""
    source = hub.repository_folder(simulated_hf_home, GPT2.hub_id)
    broken = hub.repository_folder(tmp_path / "hf", GPT2.hub_id)
    snapshot = broken / "snapshots" / GPT2.hub_revision
    snapshot.mkdir(parents=True)
    for file in (source / "snapshots" / GPT2.hub_revision).iterdir():
        if file.name != "model.safetensors":
            (snapshot / file.name).symlink_to(file.resolve())
    (broken / "refs").mkdir()
    (broken / "refs" / "main").write_text(GPT2.hub_revision)
    for other in (source.parent).iterdir():  # the other repositories, complete
        if other.name != source.name:
            (broken.parent / other.name).symlink_to(other)
    env = hub.hub_environment(tmp_path / "hf")
    result = subprocess.run(
        [sys.executable, "-m", "snippets.render", "--profile", "hub", "--device", "cpu",
         "--quiet", "--only", "generation-five-continuations",
         "--output-dir", str(tmp_path / "generated")],
        cwd=REPO, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    message = result.stderr
    assert f"Cannot load openai-community/gpt2 at revision {GPT2.hub_revision}" in message
    assert f"hf download openai-community/gpt2 --revision {GPT2.hub_revision}" in message
    assert "HF_HUB_OFFLINE=1" in message and "--profile offline" in message
    assert "Traceback" not in message
    assert not (tmp_path / "generated" / "generation-five-continuations.txt").exists()


def test_hub_environment_keeps_the_network_off(tmp_path):
    env = hub.hub_environment(tmp_path)
    assert env["HF_HUB_OFFLINE"] == "1" and env["HF_HOME"] == str(tmp_path)
    assert Path(env["LECTURE_CACHE"]) == Path(
        os.environ.get("LECTURE_CACHE", REPO / ".cache" / "lecture")
    )
