"""Tokenization: from text to token ids and back.

A tokenizer cuts text into *tokens* from a fixed vocabulary and maps each to an integer
id. GPT-2 uses byte-level Byte-Pair Encoding (BPE): start from the 256 byte values and
repeatedly merge the most frequent adjacent pair seen in training; the merges, in order,
and the resulting vocabulary of 50257 tokens are the tokenizer. A leading space is part
of a token and shows as ``Ġ``. BERT uses WordPiece (word-internal pieces start with
``##``).

References: Sennrich et al. 2016, "Neural Machine Translation of Rare Words with Subword
Units" (BPE); Radford et al. 2019 (byte-level BPE of GPT-2); Wu et al. 2016 (WordPiece);
Kudo and Richardson 2018 (SentencePiece); HuggingFace course chapter 6."""

from __future__ import annotations

# --8<-- [start:setup]
import json
import random
import re

SEQUENCE = (
    "Counselor, please adjust your Zoom filter to appear as a human, "
    "rather than as a cat"
)
# --8<-- [end:setup]


# --8<-- [start:load]
def load_gpt2_tokenizer(checkpoint: str, revision: str | None = None):
    """GPT-2's tokenizer: ``checkpoint`` is a hub id (``"openai-community/gpt2"``) or a
    folder with the same files (``vocab.json``, ``merges.txt``, ``tokenizer.json``,
    ...)."""
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(checkpoint, revision=revision)


# --8<-- [end:load]


# --8<-- [start:granularities]
def example_granularities(gpt2_tokenizer):
    """The same sentence cut three ways: characters, words, and GPT-2's subword
    tokens."""
    characters = list(SEQUENCE)
    # words: split on spaces, with punctuation on its own
    words = re.findall(r"\w+|[^\w\s]", SEQUENCE)
    subwords = gpt2_tokenizer.tokenize(SEQUENCE)
    for name, tokens in (
        ("characters", characters),
        ("words", words),
        ("subwords", subwords),
    ):
        more = " ..." if len(tokens) > 12 else ""
        print(f"{name:10} {len(tokens):3} tokens: {tokens[:12]}{more}")


# --8<-- [end:granularities]


# --8<-- [start:summary]
def tokenization_summary(tokenizer, sequence: str, n_vocab_samples: int = 10) -> None:
    """Print what a tokenizer does to ``sequence``: vocabulary, tokens, ids, decoded
    text."""
    vocab = tokenizer.get_vocab()  # token string -> id
    by_id = sorted(vocab.items(), key=lambda item: item[1])
    print("A few entries of the vocabulary (token: id):")
    for token, index in random.Random(0).sample(by_id, n_vocab_samples):
        print(f"  {token}: {index}")
    print(f"Vocabulary size: {len(tokenizer)}")
    tokens = tokenizer.tokenize(sequence)  # text -> token strings
    print(f"Tokens: {tokens}")
    # text -> ids (adds special tokens, if the model uses any)
    ids = tokenizer.encode(sequence)
    print(f"Token ids: {ids}")
    print(f"Decoded: {tokenizer.decode(ids)!r}")  # ids -> text


def example_summary(gpt2_tokenizer):
    """GPT-2's tokenizer on the sentence: 20 tokens, each a piece of a word with its
    leading space (Ġ), and a lossless round trip back to the text."""
    tokenization_summary(gpt2_tokenizer, SEQUENCE)


# --8<-- [end:summary]


# --8<-- [start:merges]
def bpe_merges(tokenizer) -> list[tuple[str, str]]:
    """The BPE merge rules of a fast tokenizer, in the order they were learned."""
    model = json.loads(tokenizer.backend_tokenizer.to_str())["model"]
    return [
        tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]
    ]


def example_merges(gpt2_tokenizer):
    """The first BPE merges GPT-2 learned, and the merges that build "Counselor"."""
    merges = bpe_merges(gpt2_tokenizer)
    print(f"{len(merges)} merges; the first ten: {[''.join(m) for m in merges[:10]]}")
    rank = {pair: index for index, pair in enumerate(merges)}
    pieces = list("Counselor")
    while len(pieces) > 1:  # apply the earliest-learned merge available, as BPE does
        pairs = zip(pieces, pieces[1:], strict=False)  # neighbouring pieces
        best, i = min((rank.get(pair, len(rank)), i) for i, pair in enumerate(pairs))
        if best == len(rank):
            break
        pieces[i : i + 2] = [pieces[i] + pieces[i + 1]]
        print(f"  merge #{best:5}: {pieces}")


# --8<-- [end:merges]


# --8<-- [start:two-vocabularies]
NUMBERS = "In 2024 the model read 12345 tokens."


def example_two_vocabularies(gpt2_tokenizer, instruct_generator):
    """The same sentences through two byte-level BPE tokenizers, GPT-2's and
    SmolLM2's: other merges learned from other text give other tokens and ids."""
    smollm2_tokenizer = instruct_generator.tokenizer
    for name, tokenizer in (("GPT-2", gpt2_tokenizer), ("SmolLM2", smollm2_tokenizer)):
        merges = bpe_merges(tokenizer)
        digits = sum(a.isdigit() and b.isdigit() for a, b in merges)  # "1" + "2"
        print(
            f"{name}: {len(tokenizer)} tokens in the vocabulary, {len(merges)} merges, "
            f"{digits} of them join two digit strings"
        )
        for text in (SEQUENCE, NUMBERS):
            tokens = tokenizer.tokenize(text)
            print(f"  {len(tokens):2} tokens: {tokens}")
        print(f"  ids of the first sentence: {tokenizer.encode(SEQUENCE)}")


# --8<-- [end:two-vocabularies]


# --8<-- [start:playground]
# The lecture's sentence, an emoji (\N{...} names a character), a German and a
# Russian word
PLAYGROUND_TEXTS = [SEQUENCE, "\N{HUGGING FACE}", "Übersetzung", "язык"]


def example_playground_ids(gpt2_tokenizer):
    """GPT-2's tokens and ids for the playground's test texts, from the transformers
    tokenizer: the playground, running in the browser, must give the same."""
    return [
        {
            "text": text,
            "tokens": gpt2_tokenizer.tokenize(text),  # token strings, Ġ for a space
            "ids": gpt2_tokenizer.encode(text),
        }
        for text in PLAYGROUND_TEXTS
    ]


# --8<-- [end:playground]


# --8<-- [start:wordpiece]
PANORAMIC = "The panoramic view of the ocean was breathtaking."


def example_wordpiece(encoder):
    """BERT's WordPiece tokenizer (uncased): lower-cased pieces, ## marks a word's
    continuation, and [CLS] ... [SEP] around the ids."""
    _, tokenizer = encoder
    for text in (SEQUENCE, PANORAMIC):
        print(f"Tokens: {tokenizer.tokenize(text)}")
        print(f"Token ids: {tokenizer(text)['input_ids']}")


# --8<-- [end:wordpiece]


# --8<-- [start:odd-characters]
def example_bytes_and_unknowns(gpt2_tokenizer, encoder):
    """Characters outside the vocabulary. GPT-2's byte-level BPE never fails: an emoji
    becomes pieces of its UTF-8 bytes, and a piece alone decodes to "�" (U+FFFD, the
    replacement character), since it is no whole character. BERT's WordPiece has no
    bytes to fall back on: a word it cannot spell becomes [UNK]."""
    for text in ("😃", "“quoted”", "Привет"):
        ids = gpt2_tokenizer.encode(text)
        n_bytes = len(text.encode("utf-8"))
        print(f"{text!r}: {n_bytes} UTF-8 bytes -> {len(ids)} GPT-2 tokens")
        tokens = gpt2_tokenizer.convert_ids_to_tokens(ids)
        print(f"  tokens:        {tokens}  ids {ids}")
        print(f"  decoded alone: {[gpt2_tokenizer.decode([i]) for i in ids]}")
        print(f"  all together:  {gpt2_tokenizer.decode(ids)!r}")
    _, bert_tokenizer = encoder
    for text in ("I love it 😃😃😃", "☃ snow", "naïve café"):
        print(f"BERT WordPiece: {text!r} -> {bert_tokenizer.tokenize(text)}")


# --8<-- [end:odd-characters]
