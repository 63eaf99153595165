"""Every figure of the lecture reads cleanly: no text on top of another, none cut off or crossed
by a line, none too small on screen (``tests/figure_layout.py`` says how each is measured).

The figures are made again here by their example functions, with the offline profile's models
and the seed they were rendered with, exactly as ``python -m snippets.render`` makes them; each
must give a PNG of the committed size. The checker itself is tried on planted faults first.
"""

from __future__ import annotations

import importlib

import pytest

from snippets.render.manifest import GENERATED_DIR, Manifest
from snippets.render.outputs import figure_png, use_figure_fonts
from tests.figure_layout import MIN_FONT_PX, PHONE_DISPLAY_WIDTH_PX, layout_problems, png_size
from tests.reproduce import reproducible_here

plt = pytest.importorskip("matplotlib.pyplot")

# Figures drawn to read on a phone too: their text stays at least MIN_FONT_PX on a 390 px wide
# screen (the older figures are checked at the desktop's width only).
PHONE_FIGURES = ("attention-scratch-one-query-row", "diagrams-gpt2", "diagrams-smollm2")


def _figure():
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot([0, 1], [0, 1])
    ax.set(xlabel="x", ylabel="y", title="a clean figure")
    fig.tight_layout()
    return fig, ax


# -- The checker on planted faults ------------------------------------------------------------


def test_a_clean_figure_has_no_problem():
    fig, ax = _figure()
    ax.annotate("a point", (0.2, 0.8), fontsize=10)
    assert layout_problems(fig) == []
    plt.close(fig)


def test_overlapping_labels_are_found():
    fig, ax = _figure()
    ax.annotate("car", (0.5, 0.2), fontsize=10)
    ax.annotate("truck", (0.51, 0.21), fontsize=10)
    assert layout_problems(fig) == ["'car' and 'truck' overlap"]
    plt.close(fig)


def test_a_label_across_the_frame_is_found():
    fig, ax = _figure()
    ax.text(1.0, 1.0, "uniform guess", ha="right", va="bottom", fontsize=10)
    ax.set_ylim(0, 1.02)
    assert "'uniform guess' crosses the frame of its axes" in layout_problems(fig)
    plt.close(fig)


def test_a_label_off_the_figure_is_found():
    fig, ax = _figure()
    fig.text(0.95, 0.5, "far out on the right", fontsize=10)
    assert "'far out on the right' runs off the figure" in layout_problems(fig)
    plt.close(fig)


def test_a_line_through_a_label_is_found():
    fig, ax = _figure()
    ax.vlines(0.5, 0, 0.9)
    ax.text(0.5, 0.4, "BART", ha="center", fontsize=10)
    assert layout_problems(fig) == ["a plotted line runs through 'BART'"]
    plt.close(fig)


def test_small_text_on_a_wide_figure_is_found():
    fig, ax = plt.subplots(figsize=(10, 3))  # 1100 px, shown 688 px wide: scaled by 0.63
    ax.set_xticks([0, 1], ["small", "tick"], fontsize=7)  # 7 pt = 10.7 px, 6.7 px on screen
    ax.set_yticks([])
    fig.tight_layout()
    problems = layout_problems(fig)
    assert len(problems) == 2 and all(f"under {MIN_FONT_PX:.0f} px" in p for p in problems)
    assert problems[0].startswith("'small' is 6.")
    plt.close(fig)


def test_the_ticks_of_an_axes_switched_off_are_not_read():
    """ax.axis("off") draws no tick labels (a diagram); its texts are still checked."""
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.set(xlim=(0, 10), ylim=(0, 10))
    ax.axis("off")
    ax.text(5, 5, "a box", ha="center")
    assert layout_problems(fig) == []
    ax.text(5.1, 5.1, "another box", ha="center")
    assert layout_problems(fig) == ["'a box' and 'another box' overlap"]
    plt.close(fig)


# -- The lecture's figures ---------------------------------------------------------------------


def _figure_examples() -> list:
    """The examples whose committed output is a figure, in file order."""
    from snippets.render.examples import discover_examples

    return [e for e in discover_examples() if (GENERATED_DIR / f"{e.id}.png").exists()]


@pytest.fixture(scope="module")
def store():
    from snippets.render.store import ModelStore

    return ModelStore("offline", "cpu")


@pytest.mark.slow  # loads (or, on a fresh machine, trains) the offline profile's models
@pytest.mark.parametrize("example", _figure_examples(), ids=lambda e: e.id)
def test_lecture_figure_reads_cleanly(example, store):
    from snippets.profiles import ROLES
    from snippets.render.execute import seed_everything

    entry = Manifest.read().entries[example.id]
    function = getattr(importlib.import_module(example.module), example.function)
    kwargs = {
        name: store.get(name) if name in ROLES else store.device for name in example.parameters
    }
    plt.close("all")
    use_figure_fonts()  # the fonts a render draws with
    seed_everything(entry.settings.seed)
    fig = function(**kwargs)
    try:
        committed = (GENERATED_DIR / f"{example.id}.png").read_bytes()
        if reproducible_here(entry):  # a GPU runner's figure may differ by a pixel
            assert png_size(figure_png(fig)) == png_size(committed), "not the committed figure"
        assert layout_problems(fig) == []
        if example.id in PHONE_FIGURES:
            assert layout_problems(fig, PHONE_DISPLAY_WIDTH_PX) == [], "on a phone"
    finally:
        plt.close("all")


def test_every_figure_is_checked():
    assert len(_figure_examples()) == len(list(GENERATED_DIR.glob("*.png"))) >= 8
