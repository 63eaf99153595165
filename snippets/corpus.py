"""Small text data sets that the lecture writes itself.

No data set can be downloaded here, and the lecture should not depend on one: these
functions build, from a handful of word lists, (1) a corpus of simple English sentences
on which the tiny GPT-2 of ``snippets/training.py`` learns to write, and (2) labelled
sentences for the sentiment classifier of ``snippets/sentiment.py``. Both are
deterministic: the same seed gives the same sentences."""

from __future__ import annotations

# --8<-- [start:setup]
import random

# --8<-- [end:setup]
# --8<-- [start:story]
OWNERS = [
    "My",
    "Your",
    "Our",
    "Her",
    "His",
    "The neighbour's",
    "Grandma's",
    "The little",
]
ANIMALS = ["dog", "cat", "puppy", "kitten", "hamster", "parrot", "rabbit", "pony"]
FOODS = [
    "icecream",
    "ice cream",
    "cake",
    "cookies",
    "pizza",
    "cheese",
    "carrots",
    "soup",
]
VERBS = ["eat", "taste", "steal", "share", "find", "hide"]
REASONS = [
    "it was a very hot day",
    "she was hungry after the long walk",
    "he had seen the children eating it",
    "it smelled sweet and cold",
    "nobody was looking",
    "the summer sun was shining",
    "it was her birthday",
    "he loved anything sweet",
    "the bowl was left on the table",
    "the kitchen door was open",
]
PLACES = [
    "in the garden",
    "under the table",
    "by the river",
    "at the park",
    "in the kitchen",
    "on the beach",
    "near the old tree",
    "behind the house",
]
FEELINGS = ["happy", "sleepy", "excited", "calm", "proud", "curious"]
ENDINGS = [
    "Then {pronoun} fell asleep {place}.",
    "After that, {pronoun} went for a walk {place}.",
    "Everyone laughed, and the day ended {place}.",
    "It was the best day of the week.",
]


def story_corpus(n_sentences: int = 4000, seed: int = 0) -> list[str]:
    """Short sentences about pets and food, in the style of the lecture's prompt.

    Returns:
        ``n_sentences`` strings such as "My dog really wanted to eat icecream because
        it was a very hot day."
    """
    rng = random.Random(seed)
    sentences = []
    for _ in range(n_sentences):
        owner, animal, food = rng.choice(OWNERS), rng.choice(ANIMALS), rng.choice(FOODS)
        pronoun = rng.choice(["she", "he", "it"])
        kind = rng.randrange(3)
        if kind == 0:
            sentence = (
                f"{owner} {animal} really wanted to {rng.choice(VERBS)} {food} "
                f"because {rng.choice(REASONS)}."
            )
        elif kind == 1:
            sentence = (
                f"{owner} {animal} was {rng.choice(FEELINGS)} {rng.choice(PLACES)} "
                f"and ate some {food}."
            )
        else:
            sentence = f"The {animal} found the {food} {rng.choice(PLACES)}."
        if rng.random() < 0.4:
            sentence += " " + rng.choice(ENDINGS).format(
                pronoun=pronoun, place=rng.choice(PLACES)
            )
        sentences.append(sentence)
    return sentences


def held_out_stories(n_sentences: int = 400) -> list[str]:
    """Sentences of the corpus's kind that training never sees: drawn like
    :func:`story_corpus`'s with another seed, without those the corpus has (a
    validation set).

    Returns:
        At most ``n_sentences`` strings, none of them in ``story_corpus()``.
    """
    training = set(story_corpus())
    return [s for s in story_corpus(n_sentences, seed=1) if s not in training]


# --8<-- [end:story]


# --8<-- [start:sentiment]
# Sentiment: words that carry the label, and things to say them about. The held-out
# set uses other adjectives and other things, so its accuracy measures more than
# memorisation.
POSITIVE_WORDS = [
    "wonderful",
    "beautiful",
    "delightful",
    "excellent",
    "lovely",
    "amazing",
    "fantastic",
    "charming",
    "superb",
    "enjoyable",
]
NEGATIVE_WORDS = [
    "terrible",
    "awful",
    "boring",
    "disappointing",
    "horrible",
    "dreadful",
    "ugly",
    "painful",
    "miserable",
    "annoying",
]
HELD_OUT_POSITIVE = ["breathtaking", "brilliant", "marvellous", "pleasant"]
HELD_OUT_NEGATIVE = ["dull", "unpleasant", "depressing", "frustrating"]
THINGS = [
    "film",
    "concert",
    "meal",
    "hotel",
    "book",
    "lecture",
    "game",
    "trip",
    "museum",
    "show",
]
HELD_OUT_THINGS = ["view", "play", "album", "restaurant"]
FRAMES = [
    "The {thing} was {word}.",
    "What a {word} {thing}!",
    "I found the {thing} {word}.",
    "Honestly, the {thing} was {word}.",
    "This {thing} is {word}.",
]


def sentiment_examples(split: str = "train") -> list[tuple[str, int]]:
    """Labelled sentences: ``(text, label)`` with label 0 = NEGATIVE, 1 = POSITIVE.

    Args:
        split: ``"train"`` (200 sentences) or ``"heldout"`` (32 sentences built from
            adjectives and nouns that never occur in training).

    Raises:
        ValueError: unknown split.
    """
    if split == "train":
        positive, negative, things = POSITIVE_WORDS, NEGATIVE_WORDS, THINGS
    elif split == "heldout":
        positive, negative, things = (
            HELD_OUT_POSITIVE,
            HELD_OUT_NEGATIVE,
            HELD_OUT_THINGS,
        )
    else:
        raise ValueError(f"unknown split {split!r}: use 'train' or 'heldout'")
    examples = []
    for label, words in ((1, positive), (0, negative)):
        for word in words:
            for thing in things:
                frame = FRAMES[(len(word) + len(thing)) % len(FRAMES)]
                examples.append((frame.format(thing=thing, word=word), label))
    random.Random(0).shuffle(examples)
    return examples


# --8<-- [end:sentiment]
