"""Token embeddings: from token ids to vectors.

An embedding layer is a table with one learned row per token id; looking a token up
gives its vector. GPT-2's table is 50257 x 768. A second table adds a vector per
*position* (GPT-2: 1024 x 768), so the same token at two positions gets two different
inputs. Training moves the rows so that tokens used alike end up close (by cosine
similarity).

Reference: Vaswani et al. 2017, section 3.4-3.5; Radford et al. 2019.
"""

from __future__ import annotations

# --8<-- [start:setup]
# Words in groups of related meaning; the figure shows that each group stays together.
GROUPS = {
    "animals": ["cat", "dog", "kitten", "puppy"],
    "water": ["ocean", "sea", "river"],
    "royalty": ["king", "queen"],
    "vehicles": ["car", "truck"],
    "feelings": ["happy", "sad"],
}
WORDS = [word for group in GROUPS.values() for word in group]
# --8<-- [end:setup]


# --8<-- [start:lookup]
def example_lookup(gpt2_config, gpt2_tokenizer):
    """Shapes along GPT-2's input: ids (1, T) -> token vectors (1, T, 768) + position
    vectors."""
    import torch
    width = gpt2_config.n_embd
    token_embedding = torch.nn.Embedding(gpt2_config.vocab_size, width)  # wte
    position_embedding = torch.nn.Embedding(gpt2_config.n_positions, width)  # wpe
    text = "Counselor, please adjust your Zoom filter"
    input_ids = gpt2_tokenizer(text, return_tensors="pt").input_ids  # (1, T)
    positions = torch.arange(input_ids.shape[1]).unsqueeze(0)  # (1, T): 0, 1, ..., T-1
    # (1, T, n_embd): each token's vector plus the vector of its position
    hidden = token_embedding(input_ids) + position_embedding(positions)
    print(f"token embedding table:    {tuple(token_embedding.weight.shape)}")
    print(f"position embedding table: {tuple(position_embedding.weight.shape)}")
    print(f"input ids:                {tuple(input_ids.shape)}")
    print(f"input to the first block: {tuple(hidden.shape)}")


# --8<-- [end:lookup]


# --8<-- [start:similarity]
def word_vectors(encoder, words: list[str]):
    """The input-embedding row of each word (each word is one WordPiece token here).

    Returns:
        A tensor of shape (len(words), hidden_size).

    Raises:
        ValueError: a word is split into several tokens.
    """
    model, tokenizer = encoder
    ids = []
    for word in words:
        pieces = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(word))
        if len(pieces) != 1:
            raise ValueError(
                f"{word!r} is {len(pieces)} tokens; pick single-token words"
            )
        ids.append(pieces[0])
    return model.get_input_embeddings().weight[ids].detach().cpu()


def example_similarity(encoder):
    """Cosine similarity of word embeddings (left) and a 2-D projection of them (right):
    animals, water, royalty, vehicles and feelings form their own groups."""
    import matplotlib.pyplot as plt
    import torch
    vectors = word_vectors(encoder, WORDS)  # (W, d)
    unit = torch.nn.functional.normalize(vectors, dim=-1)
    similarity = unit @ unit.T  # (W, W) cosine similarities
    print("mean cosine similarity of each group's words: among them | to the others")
    for name, words in GROUPS.items():
        inside = torch.tensor([word in words for word in WORDS])  # (W,) booleans
        block = similarity[inside][:, inside]  # (n, n), with 1 on its diagonal
        among = (block.sum() - len(words)) / (len(words) * (len(words) - 1))
        others = similarity[inside][:, ~inside].mean()
        print(f"  {name:9} {among:5.2f} | {others:5.2f}")
    centred = vectors - vectors.mean(dim=0)
    _, _, v = torch.linalg.svd(centred, full_matrices=False)
    projected = centred @ v[:2].T  # (W, 2): the two principal components
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.4, 4))
    image = left.imshow(similarity.numpy(), cmap="viridis")  # matplotlib: NumPy
    left.set_xticks(range(len(WORDS)), WORDS, rotation=90)
    left.set_yticks(range(len(WORDS)), WORDS)
    left.set_title("cosine similarity")
    fig.colorbar(image, ax=left, shrink=0.8)
    right.scatter(*projected.T.numpy(), s=12)
    # Each word's label goes on the side of its point away from its group's centre, so
    # two words that land on the same spot (car, truck) get labels on either side.
    point = dict(zip(WORDS, projected.tolist(), strict=True))
    for words in GROUPS.values():
        centre_x = sum(point[word][0] for word in words) / len(words)
        for word in words:
            x, y = point[word]
            side = 1 if x >= centre_x else -1
            right.annotate(
                word,
                (x, y),
                xytext=(5 * side, 0),  # 5 points to the right (or left) of the point
                textcoords="offset points",
                ha="left" if side > 0 else "right",
                va="center",
            )
    right.margins(x=0.25, y=0.1)  # room for the labels inside the frame
    right.set_title("projection on two principal components")
    fig.tight_layout()
    return fig


# --8<-- [end:similarity]
