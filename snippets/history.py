"""A short history of transformer language models, as a timeline.

Dates are the first public release (paper or model) of each model. Sources: Vaswani et
al. 2017; the HuggingFace NLP course, chapter 1.4 ("How do Transformers work?"); the
model cards of the homework's models; MiniLM: Wang et al. 2020 (arXiv 2002.10957,
February 2020), the encoder of the offline profile; SmolLM2: its model card (November
2024) and Allal et al. 2025, the decoder of the notes' examples and homework."""

from __future__ import annotations

# --8<-- [start:setup]
# (name, year + (month - 1) / 12, family)
MODELS = [
    ("Transformer", 2017 + 5 / 12, "encoder-decoder"),
    ("GPT", 2018 + 5 / 12, "decoder"),
    ("BERT", 2018 + 9 / 12, "encoder"),
    ("GPT-2", 2019 + 1 / 12, "decoder"),
    ("DistilBERT", 2019 + 9 / 12, "encoder"),
    ("BART", 2019 + 9 / 12, "encoder-decoder"),
    ("T5", 2019 + 9 / 12, "encoder-decoder"),
    ("MiniLM", 2020 + 1 / 12, "encoder"),
    ("GPT-3", 2020 + 4 / 12, "decoder"),
    ("ESM-2 / ESMFold", 2022 + 6 / 12, "encoder"),
    ("GenSLM", 2022 + 9 / 12, "decoder"),
    ("Llama 2", 2023 + 6 / 12, "decoder"),
    ("Phi-3", 2024 + 3 / 12, "decoder"),
    ("Gemma 2", 2024 + 5 / 12, "decoder"),
    ("Llama 3.2", 2024 + 8 / 12, "decoder"),
    ("SmolLM2", 2024 + 10 / 12, "decoder"),
]
FAMILY_COLOURS = {
    "encoder": "tab:blue",
    "decoder": "tab:orange",
    "encoder-decoder": "tab:green",
}
# --8<-- [end:setup]


# --8<-- [start:timeline]
def example_timeline():
    """Transformer models by release date and family: after 2020 almost every large
    model is a decoder, like GPT-2."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for row, (name, when, family) in enumerate(
        MODELS
    ):  # one row per model, oldest on top
        ax.plot(when, row, "o", color=FAMILY_COLOURS[family], ms=6)
        ax.annotate(
            name, (when, row), xytext=(6, 0), textcoords="offset points", va="center"
        )
    for family, colour in FAMILY_COLOURS.items():
        ax.plot([], [], "o", color=colour, label=family)
    ax.legend(loc="lower left", frameon=False)
    ax.set(xlim=(2017, 2026), ylim=(len(MODELS), -1), yticks=[], xlabel="release")
    ax.spines[["left", "top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


# --8<-- [end:timeline]
