"""Every claim a page makes about an output is true of the committed output.

A claim quotes words of a page (whitespace and line breaks do not matter) and reads the output
files in ``docs/generated/`` to check what they say. A number the sentence states is written
``{name}`` in the quote: the test takes it from the page and compares it with the output, so
the number lives in one place, the page. A re-render that makes a sentence false fails here,
naming the page and the sentence; a sentence edited away fails too, naming the claim to update.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
GENERATED = DOCS / "generated"
NUMBER = r"-?\d[\d,]*(?:\.\d+)?"


class Claim(NamedTuple):
    page: str  # docs/<page>, or a lecture module whose docstring (a caption) makes the claim
    quotes: tuple[str, ...]
    check: Callable[..., None]


CLAIMS: list[Claim] = []


def claim(page: str, *quotes: str):
    """Register ``check`` for the sentences ``quotes`` of ``page``; it receives the numbers
    written ``{name}`` in the quotes, as floats, by name."""

    def register(check: Callable[..., None]) -> Callable[..., None]:
        CLAIMS.append(Claim(page, quotes, check))
        return check

    return register


def flat(text: str) -> str:
    return " ".join(text.split())


def quote_pattern(quote: str) -> re.Pattern:
    parts = re.split(r"(\{\w+\})", flat(quote))
    regex = "".join(
        f"(?P<{part[1:-1]}>{NUMBER})" if re.fullmatch(r"\{\w+\}", part) else re.escape(part)
        for part in parts
    )
    return re.compile(regex.replace(r"\ ", r"\s+"))


def read_claimed(page: str, quotes: tuple[str, ...]) -> dict[str, float]:
    path = REPO / page if page.startswith("snippets/") else DOCS / page
    text = flat(path.read_text(encoding="utf-8"))
    numbers: dict[str, float] = {}
    for quote in quotes:
        match = quote_pattern(quote).search(text)
        assert match, (
            f"{page} no longer says {flat(quote)!r}: the claim in tests/test_claims.py that "
            "checks it against its output must change with the page"
        )
        numbers.update({k: float(v.replace(",", "")) for k, v in match.groupdict().items()})
    return numbers


# --- Reading outputs ----------------------------------------------------------------------


def out(example_id: str) -> str:
    return (GENERATED / f"{example_id}.txt").read_text(encoding="utf-8")


def numbers_in(text: str) -> list[float]:
    return [float(n.replace(",", "")) for n in re.findall(NUMBER, text)]


def field(example_id: str, pattern: str) -> str:
    """The first group of ``pattern`` in an output (a line of it, usually)."""
    match = re.search(pattern, out(example_id), re.M)
    assert match, f"{example_id}: no {pattern!r} in its output"
    return match[1]


def view(example_id: str) -> dict:
    """The data of a bertviz view: attention weights (layers x heads x T x T), tokens, layers."""
    text = (GENERATED / f"{example_id}.html").read_text(encoding="utf-8")
    match = re.search(r"const params = (\{.*?\});\n", text)
    assert match, f"{example_id}.html holds no bertviz parameters"
    return json.loads(match[1])


def first_token_share(weights: list) -> list[float]:
    """Per head of one layer (heads x T x T): the mean weight on the first token, from the
    second row on."""
    return [sum(row[0] for row in head[1:]) / (len(head) - 1) for head in weights]


def normalized_entropy(weights: list) -> float:
    """Mean normalized entropy of a causal layer (heads x T x T), rows 2..T."""
    values = []
    for head in weights:
        for i, row in enumerate(head[1:], start=2):
            entropy = -sum(p * math.log2(p) for p in row if p > 0)
            values.append(entropy / math.log2(i))
    return sum(values) / len(values)


def literal_lines(example_id: str) -> list:
    """The Python literals an output prints one per line, as ``n. 'text'`` or ``  n. 'text'``."""
    import ast

    found = re.findall(r"^\s*\d+\. (?:\(\s*\d+ new tokens\) )?(.+)$", out(example_id), re.M)
    return [ast.literal_eval(text) for text in found]


def close(a: float, b: float, digits: int = 2) -> bool:
    return abs(a - b) <= 0.5 * 10**-digits + 1e-9


# --- The cover page -----------------------------------------------------------------------


@claim(
    "index.md",
    "The original lecture downloads GPT-2, BERT and DistilBERT from the HuggingFace hub; these "
    "notes add SmolLM2-135M-Instruct",
)
def _cover_names_every_model():
    """The box names every model of every role, under both profiles."""
    from snippets.profiles import ROLES

    box = flat((DOCS / "index.md").read_text().split('!!! info "Which models')[1].split("!!!")[0])
    names = {"openai-community/gpt2": "GPT-2", "google-bert/bert-base-uncased": "BERT base",
             "distilbert/distilbert-base-uncased-finetuned-sst-2-english": "DistilBERT",
             "HuggingFaceTB/SmolLM2-135M-Instruct": "SmolLM2-135M-Instruct"}  # fmt: skip
    for role in ROLES.values():
        if role.hub_id:
            assert names[role.hub_id] in box, role.hub_id
        offline = {"tiny GPT-2 (trained here)": "tiny GPT-2",
                   "MiniLM fine-tuned here": "sentiment classifier (MiniLM fine-tuned)",
                   "all-MiniLM-L6-v2 (pretrained)": "MiniLM encoder",
                   "SmolLM2-135M-Instruct (pretrained)": "SmolLM2-135M-Instruct",
                   "GPT-2's tokenizer files": "GPT-2's real tokenizer files",
                   "GPT-2's configuration": "architecture"}[role.offline_name]  # fmt: skip
        assert offline in box, role.name


@claim(
    "index.md",
    "(GPT-2, BERT base, DistilBERT and SmolLM2-135M-Instruct, about 1.5 GB downloaded once)",
)
def _notebooks_list_every_hub_model_they_load():
    from snippets.profiles import ROLES

    loaded = set()
    for notebook in ("lecture", "homework"):
        text = (DOCS / "notebooks" / f"{notebook}.ipynb").read_text()
        loaded |= {r.hub_id for r in ROLES.values() if r.hub_id and r.hub_id in text}
    assert loaded == {r.hub_id for r in ROLES.values() if r.hub_id}


# --- Modeling sequential data --------------------------------------------------------------


@claim(
    "sequential-data.md",
    "(*he*, *it*, *she*, *of*, *his*)",
    "all {vocabulary} tokens of its vocabulary add up to 1",
)
def _next_token(vocabulary):
    tokens = re.findall(r"^\s+'(.+?)'\s+\d\.\d+$", out("sequences-next-token"), re.M)
    assert tokens == [" he", " it", " she", " of", " his"]
    total = field("sequences-next-token", rf"sum over all {int(vocabulary)} tokens: (\S+)")
    assert float(total) == 1.0


@claim(
    "sequential-data.md",
    "most probable (log P = {fluent}), the shuffled one the least ({shuffled}), and the "
    "unusual one falls in between ({unusual})",
)
def _chain_rule(fluent, shuffled, unusual):
    scores = [float(n) for n in re.findall(r"log P = +(\S+)", out("sequences-chain-rule"))]
    assert scores == [fluent, unusual, shuffled]  # fluent, unusual, shuffled: in that order
    assert fluent > unusual > shuffled


# --- Transformers, briefly -----------------------------------------------------------------


@claim(
    "transformers.md",
    "A few of them, with the month each was released and the half of the transformer it keeps",
)
@claim("snippets/history.py", "after 2020 almost every large model is a decoder")
def _timeline():
    from snippets.history import MODELS

    after = [family for _, when, family in MODELS if when >= 2021]
    assert after.count("decoder") >= len(after) - 1 and len(after) >= 5
    assert max(MODELS, key=lambda m: m[1])[0] == "SmolLM2"  # up to the notes' own models


# --- An LLM in action ----------------------------------------------------------------------


@claim("llm-in-action.md", "135 million parameters (GPT-2 has 124 million)")
def _sizes():
    assert "llama, 134.5 M parameters" in out("generation-two-generators")
    total = field("architecture-parameters", r"^total \(lm_head tied to wte\)\s+([\d,]+)$")
    assert round(int(total.replace(",", "")) / 1e6) == 124


@claim(
    "llm-in-action.md",
    "(it is lazy, loves chocolate, is hungry)",
    "the third starts a new paragraph about a birthday",
)
def _five_continuations():
    texts = literal_lines("generation-five-continuations")
    assert len(texts) == 5
    assert "lazy" in texts[0] and "chocolate" in texts[1] and "hungry" in texts[3]
    assert "\n\n" in texts[2] and "birthday" in texts[2].split("\n\n", 1)[1]


@claim(
    "llm-in-action.md",
    "The prompt is {prompt} tokens here, so `max_length=20` leaves at most {left} new ones",
)
def _one_liner_lengths(prompt, left):
    assert int(field("generation-seed-one-liner", r"^prompt: (\d+) tokens$")) == prompt
    assert left == 20 - prompt
    found = re.findall(r"\((\s*\d+) new tokens\)", out("generation-seed-one-liner"))
    counts = [int(n) for n in found]
    assert len(counts) == 5 and all(1 <= n <= left for n in counts)


@claim("llm-in-action.md", "Each text is the beginning of the draw with the same number above")
def _one_liner_prefixes():
    short = literal_lines("generation-seed-one-liner")
    long = literal_lines("generation-five-continuations")
    assert len(short) == len(long) == 5
    assert all(b.startswith(a) for a, b in zip(short, long, strict=True))


@claim(
    "llm-in-action.md",
    "(`do_sample=True`, `temperature=0.7`)",
    "(`top_k=50`, `top_p=1.0`)",
    "so `generate()` receives `max_length=20` alone",
)
def _one_liner_defaults():
    text = out("generation-seed-one-liner")
    receives = field("generation-seed-one-liner", r"^generate\(\) receives: (.*)$")
    assert "'do_sample': True" in receives and "'temperature': 0.7" in receives
    assert "'max_length': 20" in receives and "max_new_tokens" not in receives
    assert "takes from its own defaults: top_k=50, top_p=1.0" in text


@claim("llm-in-action.md", "added the pipeline's default `max_new_tokens=256` to the call")
def _one_liner_pipeline_default():
    defaults = field("generation-seed-one-liner", r"^the pipeline's defaults: (.*)$")
    assert "max_new_tokens=256" in defaults
    seed = REPO.parent / "shared" / "seed" / "000_56e7be6104fc9d17.txt"
    if seed.exists():  # the original lecture's own output, where this checkout has it
        text = seed.read_text(encoding="utf-8")
        assert "Both `max_new_tokens` (=256) and `max_length`(=20) seem to have been set" in text
        assert re.search(r"satisfied: transformers in \S+ \(4\.53\.3\)", text)


@claim(
    "llm-in-action.md",
    "which has only 128 positions",
    "the long prompt is {long} tokens, {more} more than the model's 128 positions",
)
def _length_limit(long, more):
    text = out("generation-length-limit")
    assert f"positions: 128; the long prompt: {int(long)}" in text
    assert long - 128 == more
    assert f"({int(long)} > 128)" in text  # the tokenizer's warning, printed where it happened
    assert re.search(r"^ValueError: .*exceeds the models max length$", text, re.M)
    assert field("generation-length-limit", r"^continuation: '(.+)'$")  # it did continue


@claim(
    "llm-in-action.md",
    "(GPT-2 has 12 blocks of width 768)",
    "4000 short sentences about pets and food",
)
def _training_sizes():
    assert "(0-11): 12 x GPT2Block(" in out("architecture-printout")
    assert "(wte): Embedding(50257, 768)" in out("architecture-printout")
    assert field("training-summary", r"^corpus: (\d+) sentences") == "4000"


@claim(
    "llm-in-action.md",
    "ends no higher ({held_out} after the last step, against {training} on the last ten "
    "training batches",
)
def _validation(held_out, training):
    assert float(field("training-summary", r"last 10 steps (\S+)$")) == training
    assert float(field("training-summary", r"after step \d+: (\S+)$")) == held_out
    assert held_out <= training


@claim(
    "llm-in-action.md",
    "costs no more than the one it trained on ({held_out} against {trained} nats per token)",
    "the ordinary English sentence costs {english} nats per token, as much as a uniform guess "
    "over the vocabulary",
)
def _memorisation(held_out, trained, english):
    def loss(kind):
        return float(field("training-memorisation", rf"^{kind} +(\S+) nats per token"))

    assert (loss("trained on"), loss("held out"), loss("ordinary English")) == (
        trained, held_out, english)  # fmt: skip
    assert held_out <= trained
    assert abs(english - math.log(50257)) < 0.2  # a uniform guess: ln 50257 = 10.82


@claim(
    "llm-in-action.md",
    "built from its corpus's phrases (a hot day, the kitchen)",
    "about things the corpus never mentions (biscuits, an allergy, a brother)",
)
def _two_generators():
    from snippets.corpus import story_corpus

    texts = literal_lines("generation-two-generators")
    tiny, pretrained = texts[:3], texts[3:]
    assert len(pretrained) == 3
    assert any("hot day" in t for t in tiny) and any("kitchen" in t for t in tiny)
    joined = " ".join(pretrained)
    assert "biscuits" in joined and "allergy" in joined and "brother" in joined
    corpus = " ".join(story_corpus()).lower()
    assert not any(word in corpus for word in ("biscuit", "allergy", "brother"))
    assert min(map(len, pretrained)) > max(map(len, tiny))  # longer, every one of them


# --- Tokenization --------------------------------------------------------------------------


@claim(
    "tokenization.md",
    "Note the `Ġ` at the start of most tokens",
    "BPE builds it from three pieces",
)
def _gpt2_tokens():
    import ast

    tokens = ast.literal_eval(field("tokenization-summary", r"^Tokens: (\[.*\])$"))
    assert sum(t.startswith("Ġ") for t in tokens) > len(tokens) / 2
    assert tokens[:3] == ["Coun", "sel", "or"]


@claim(
    "tokenization.md",
    '"Counselor" splits differently, and not one id is the same',
    "hundreds of merges of digit strings",
    '("Ġ2024", but "Ġ123" + "45")',
    "SmolLM2's merges never join two digits, so every digit is a token of its own",
)
def _two_vocabularies():
    import ast

    text = out("tokenization-two-vocabularies")
    gpt2, smol = text.split("SmolLM2:")
    ids = [ast.literal_eval(m) for m in re.findall(r"ids of the first sentence: (\[.*\])", text)]
    assert not set(ids[0]) & set(ids[1])
    assert 100 <= int(re.search(r"(\d+) of them join two digit strings", gpt2)[1]) < 1000
    assert "0 of them join two digit strings" in smol
    gpt2_numbers = ast.literal_eval(re.search(r"9 tokens: (\[.*\])", gpt2)[1])
    assert "Ġ2024" in gpt2_numbers and gpt2_numbers[5:7] == ["Ġ123", "45"]
    smol_lists = [ast.literal_eval(m) for m in re.findall(r"tokens: (\[.*\])", smol)]
    gpt2_words = ast.literal_eval(re.search(r"20 tokens: (\[.*\])", gpt2)[1])
    assert smol_lists[0][:2] == ["C", "ounsel"] and gpt2_words[:2] == ["Coun", "sel"]
    assert smol_lists[0][2:] == gpt2_words[2:]  # the other words: one token each, in both
    assert all(len(t) == 1 for t in smol_lists[1] if t.isdigit())


@claim(
    "tokenization.md",
    "(its configuration's `model_type` is `llama`, as the outputs of [An LLM in "
    "action](llm-in-action.md) print)",
)
def _smollm2_is_llama():
    assert re.search(r"^llama, ", out("generation-two-generators"), re.M)


@claim("tokenization.md", "with its {vocabulary} tokens and its merges")
def _playground_vocabulary(vocabulary):
    assert int(field("tokenization-summary", r"^Vocabulary size: (\d+)$")) == vocabulary


@claim("tokenization.md", "`[CLS]` (id {cls}) and `[SEP]` (id {sep})")
def _wordpiece_specials(cls, sep):
    import ast

    for ids in re.findall(r"^Token ids: (\[.*\])$", out("tokenization-wordpiece"), re.M):
        ids = ast.literal_eval(ids)
        assert ids[0] == cls and ids[-1] == sep


@claim(
    "tokenization.md",
    "Three smiling faces and a snowman all become `[UNK]`",
    "The accents of *naïve café* disappear too",
)
def _unknowns():
    text = out("tokenization-bytes-and-unknowns")
    assert "'I love it 😃😃😃' -> ['i', 'love', 'it', '[UNK]']" in text
    assert "'☃ snow' -> ['[UNK]', 'snow']" in text
    assert "'naïve café' -> ['naive', 'cafe']" in text
    assert "decoded alone: ['�', '�']" in text  # a part of a character decodes to U+FFFD


# --- Embeddings ----------------------------------------------------------------------------


@claim("embeddings.md", 'id {cat} (`" cat"`)', "GPT-2 uses {width}")
def _embedding_numbers(cat, width):
    import ast

    tokens = ast.literal_eval(field("tokenization-summary", r"^Tokens: (\[.*\])$"))
    ids = ast.literal_eval(field("tokenization-summary", r"^Token ids: (\[.*\])$"))
    assert ids[tokens.index("Ġcat")] == cat
    assert f"token embedding table:    (50257, {int(width)})" in out("embeddings-lookup")


@claim(
    "embeddings.md",
    "the animals {among} among themselves against {others} to the rest, the royalty pair "
    "closest of all ({royalty})",
)
def _embedding_groups(among, others, royalty):
    rows = re.findall(r"^  (\w+) +(\S+) \| +(\S+)$", out("embeddings-similarity"), re.M)
    groups = {name: (float(a), float(b)) for name, a, b in rows}
    assert len(groups) == 5 and all(a > b for a, b in groups.values())  # every group together
    assert groups["animals"] == (among, others)
    assert groups["royalty"][0] == royalty == max(a for a, _ in groups.values())


# --- The architecture ----------------------------------------------------------------------


@claim(
    "architecture.md",
    "50257 tokens x 768 numbers; `wpe` the position embedding table, 1024 positions x 768",
    "`h` holds 12 identical `GPT2Block`s",
    "768 -> 3072 -> 768",
    "2304 = 3 x 768 outputs",
    "It shares its weights with `wte`",
)
def _architecture():
    text = out("architecture-printout")
    for part in ("(wte): Embedding(50257, 768)", "(wpe): Embedding(1024, 768)",
                 "(0-11): 12 x GPT2Block(", "(c_fc): Conv1D(nf=3072, nx=768)",
                 "(c_proj): Conv1D(nf=768, nx=3072)", "(c_attn): Conv1D(nf=2304, nx=768)",
                 "(lm_head): Linear(in_features=768, out_features=50257, bias=False)"):  # fmt: skip
        assert part in text, part
    rows = re.findall(r"^(.+?)\s{2,}([\d,]+)$", out("architecture-parameters"), re.M)
    counts = {name.strip(): int(n.replace(",", "")) for name, n in rows}
    parts = ["wte (token embeddings)", "wpe (position embeddings)", "all 12 blocks",
             "ln_f (final norm)"]  # fmt: skip
    assert counts["total (lm_head tied to wte)"] == sum(counts[p] for p in parts)  # no lm_head
    assert counts["all 12 blocks"] == 12 * counts["one block (attn + mlp + 2 norms)"]


# --- Attention -----------------------------------------------------------------------------


def habits() -> dict[str, tuple[int, int, float]]:
    pattern = r"^  (.+?) +layer (\d+), head +(\d+): (\S+)$"
    found = re.findall(pattern, out("attention-head-roles"), re.M)
    return {name: (int(layer), int(head), float(score)) for name, layer, head, score in found}


@claim(
    "attention.md",
    "Head 2 of layer 0 puts all of every token's attention ({previous}) on the token before it",
    "head 8 of layer 1 puts more than half ({following}) on the token after it",
    "head 5 of layer 4 sends {first} of it to the first token, `[CLS]`",
    "head 3 of layer 0 spreads it almost evenly, {bits} bits where {most} is the most that "
    "{tokens} tokens allow",
    "the most any head gives it is {last}",
)
def _head_habits(previous, following, first, bits, most, tokens, last):
    found = habits()
    assert found["previous token"] == (0, 2, previous) and previous == 1.0
    assert found["next token"] == (1, 8, following) and following > 0.5
    assert found["first token"] == (4, 5, first)
    assert found["broadest (bits)"] == (0, 3, bits) and bits > 0.9 * most
    assert found["last token"][2] == last and last < 0.25
    assert f"log2({int(tokens)}) = {most:.2f} bits" in out("attention-head-roles")
    assert field("attention-shapes", r"^tokens \((\d+)\)") == str(int(tokens))
    assert field("attention-shapes", r"^tokens \(\d+\): \[('\[CLS\]')") == "'[CLS]'"


@claim(
    "snippets/attention.py",
    "some heads look at the previous or next token (diagonal stripes), some at [CLS] or [SEP] "
    "(vertical bars), a few spread out",
)
def _grid_caption():
    found = habits()
    assert found["previous token"][2] > 0.9 and found["next token"][2] > 0.5
    assert found["first token"][2] > 0.8


@claim(
    "attention.md",
    "In head {head} of the last layer (layer {layer}), *it* puts {weight} of its attention on "
    "*animal*, more than on any other token",
)
def _it_head(head, layer, weight):
    text = out("attention-it-head")
    assert f"layer {int(layer)}, head {int(head)}: it -> animal = {weight:.2f}" in text
    assert "the token \"it\" looks at most in that head: 'animal'" in text
    assert int(field("attention-shapes", r"^layers: (\d+);")) == layer + 1  # the last layer


@claim(
    "attention.md",
    "its first layer and the two layers that hold the heads of the next section",
)
def _model_view_layers():
    layers = view("attention-model-view")["include_layers"]
    found = re.findall(r"^layer (\d+), head \d+ \(", out("attention-causal-mask"), re.M)
    heads = [int(n) for n in found]
    assert layers == sorted({0, *heads})


@claim(
    "attention.md",
    "No weight above the diagonal is larger than 0 in any of the {heads} heads",
    "Head {prev_head} of layer {prev_layer} looks mostly at the previous token ({prev} on average",
    "Head {first_head} of layer {first_layer} sends every token's attention to the first "
    "token, *No* ({first} in every row)",
)
def _causal_mask(heads, prev_head, prev_layer, prev, first_head, first_layer, first):
    text = out("attention-causal-mask")
    layers, per_layer, largest = re.search(
        r"all (\d+) layers x (\d+) heads: (\S+)$", text, re.M).groups()  # fmt: skip
    assert int(layers) * int(per_layer) == heads and float(largest) == 0.0
    assert f"layer {int(prev_layer)}, head {int(prev_head)} (previous token: {prev:.2f})" in text
    first_block = text.split(f"layer {int(first_layer)}, head {int(first_head)} (first token: ")[1]
    assert first_block.startswith(f"{first:.2f})")
    rows = re.findall(r"^ +\S+ ((?:\d\.\d\d ?)+)$", first_block, re.M)
    assert len(rows) == 6 and all(row.split()[0] == "1.00" for row in rows)
    assert "'No'" in field("attention-causal-mask", r"^tokens: \[('No')")


# --- The pipeline, saving ------------------------------------------------------------------


@claim(
    "pipeline.md",
    "0 is NEGATIVE, 1 is POSITIVE",
    "(512 for BERT and DistilBERT)",
    "Both models of this page use BERT's uncased WordPiece vocabulary",
)
def _classifier_config():
    config = out("classification-step2-config")
    assert '"0": "NEGATIVE"' in config and '"1": "POSITIVE"' in config
    assert '"max_position_embeddings": 512' in config and '"vocab_size": 30522' in config


@claim(
    "pipeline.md",
    "The last line has the shape of the pipeline's own answer, `[{'label': ..., 'score': ...}]`",
)
def _classifier_answer():
    last = out("classification-step45-inference").strip().splitlines()[-1]
    assert re.fullmatch(r"\[\{'label': '(POSITIVE|NEGATIVE)', 'score': \d\.\d+\}\]", last)


@claim("saving-and-hub.md", "the logits must not change")
def _saved_logits():
    text = out("saving-save-and-reload")
    before = field("saving-save-and-reload", r"^logits before: (.*)$")
    assert f"logits after:  {before}" in text and "identical: True" in text


# --- Reading and homework ------------------------------------------------------------------


@claim("homework.md", 'goes on with *"The answer is: 1."*, twice')
def _batch():
    second = out("generation-batch-of-prompts").splitlines()[1]
    assert second.startswith("'The kitten found the cake' -> '.")
    assert second.count("The answer is") == 2 and "The answer is: 1." in second


def settings_rows() -> list[str]:
    return re.findall(r"^\| .+? \| .+? \| (.+)$", out("generation-settings-table"), re.M)[1:]


@claim(
    "homework.md",
    "(SmolLM2 says *lazy* twice in twenty tokens)",
    "greedy decoding gives the same first five tokens as the first row",
    "the last row is the tiny GPT-2's greedy text, shorter",
)
def _settings_table():
    import ast

    rows = [ast.literal_eval(row.strip()) for row in settings_rows()]
    assert len(rows) == 6
    assert rows[0].count("lazy") == 2
    assert rows[0].startswith(rows[4]) and len(rows[4]) < len(rows[0])
    assert re.search(r"^\| gpt2, .+\| greedy", out("generation-settings-table"), re.M)
    assert len(rows[5]) < min(len(r) for r in rows[:4])


@claim(
    "homework.md",
    "each marker is one special token (ids 1 and 2)",
    '(*"You are a helpful AI assistant named SmolLM..."*)',
)
def _chat_template():
    text = out("chat-template")
    assert "<|im_start|> is id 1" in text and "<|im_end|> is id 2" in text
    assert "You are a helpful AI assistant named SmolLM" in text


@claim(
    "homework.md",
    "stops long before the {allowed} new tokens it was allowed",
    "greedy decoding produces `<|im_end|>` at once",
    "names Paris, and goes on past the answer into unrelated text",
    "a chat longer than the model's {positions} positions",
)
def _chat_answer(allowed, positions):
    text = out("chat-answer")
    used = int(field("chat-answer", rf"^  (\d+) tokens of the {int(allowed)} allowed$"))
    assert used < allowed / 2
    assert "'What is the capital of France?' -> '<|im_end|>'" in text
    pattern = r"^plain text, greedy: 'The capital of France is' -> '(.*)'$"
    continuation = field("chat-answer", pattern)
    assert "Paris" in continuation and len(continuation) > len(" Paris.") + 10
    assert f"reads at most {int(positions)} positions" in text


@claim(
    "homework.md",
    "(135 million parameters, 30 layers)",
    "(30 layers of 9 heads, 134.5 M parameters)",
    "(6 layers of 12 heads; offline MiniLM, 22.7 M parameters",
    "a sentence that makes {tokens} tokens in both vocabularies",
    "The decoder has five times as many layers",
)
def _two_sizes_models(tokens):
    text = out("homework-two-sizes")
    assert f"decoder (134.5 M parameters): 30 layers x 9 heads, {int(tokens)} tokens" in text
    assert f"encoder (22.7 M parameters): 6 layers x 12 heads, {int(tokens)} tokens" in text


def entropies(model: str) -> list[float]:
    import ast

    line = field("homework-two-sizes", rf"^{model} .*normalized entropy per layer: (\[.*\])$")
    return ast.literal_eval(line)


@claim(
    "homework.md",
    "({decoder_first} for the decoder, {encoder_first} for the encoder)",
    "with its sharpest layers in the last third (down to {lowest})",
    "broad again at its last layer ({encoder_last})",
    "the sharper of the two ({decoder_mean} against {encoder_mean})",
)
def _two_sizes_entropy(decoder_first, encoder_first, lowest, encoder_last, decoder_mean,
                       encoder_mean):  # fmt: skip
    decoder, encoder = entropies("decoder"), entropies("encoder")
    assert (decoder[0], encoder[0], encoder[-1]) == (decoder_first, encoder_first, encoder_last)
    assert min(decoder) == lowest and decoder.index(lowest) >= 2 * len(decoder) / 3
    third = len(decoder) // 3
    assert sum(decoder[-third:]) / third < sum(decoder[:third]) / third  # sharper with depth
    assert encoder[-1] == max(encoder[1:])
    assert close(sum(decoder) / len(decoder), decoder_mean)
    assert close(sum(encoder) / len(encoder), encoder_mean) and decoder_mean < encoder_mean


@claim(
    "homework.md",
    "to 3 heads x 64 = 192 numbers where the query projection makes 9 x 64 = 576",
    "still (1, 9, tokens, tokens), nine patterns",
    "only a third of the keys and values",
)
def _grouped_query():
    text = out("homework-grouped-query-attention")
    assert "query heads: 9, key/value heads: 3, head size: 64" in text
    assert "k_proj: (192, 576)" in text and "q_proj: (576, 576)" in text
    assert re.search(r"one layer: \(1, 9, (\d+), \1\)", text)
    kept, full = re.search(r"(\d+) numbers \((\d+) with 9 key/value heads\)", text).groups()
    assert int(kept) * 3 == int(full)


@claim(
    "homework.md",
    "In the first two layers the lines spread over many tokens; in the last two, many heads "
    "send most of every token's attention to the first token of the sentence",
)
def _decoder_view():
    data = view("homework-decoder-model-view")
    assert data["include_layers"] == [0, 1, 28, 29]
    attention = data["attention"][0]["attn"]  # layers x heads x T x T
    first, last = attention[:2], attention[2:]
    for layer in last:
        assert sum(share > 0.5 for share in first_token_share(layer)) >= 5  # of 9 heads
    spread = min(normalized_entropy(layer) for layer in first)
    assert spread > max(normalized_entropy(layer) for layer in last)


# --- The test -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "claim_", CLAIMS, ids=[f"{c.page}: {flat(c.quotes[0])[:50]}" for c in CLAIMS]
)
def test_the_page_says_what_its_output_shows(claim_: Claim):
    numbers = read_claimed(claim_.page, claim_.quotes)
    claim_.check(**numbers)


def test_every_page_with_outputs_has_its_claims_checked():
    """A page that includes outputs and states what they show is in this file."""
    checked = {c.page for c in CLAIMS}
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        if '--8<-- "docs/generated/' in text and page.name not in checked:
            pytest.fail(f"{page.name} includes outputs but no claim of it is checked here")
