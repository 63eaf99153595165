"""What a reader sees of a matplotlib figure's text: overlaps, clipping and on-screen size.

matplotlib reports where each text is drawn (``Text.get_window_extent`` with the figure's
renderer, in pixels at the figure's dpi). From that, :func:`layout_problems` lists

* two texts whose boxes overlap (tick labels, titles, axis labels, annotations, legends);
* a text not wholly inside the figure, or, for a text placed in an axes' data coordinates (a
  label of a point or a line), not wholly inside that axes, where the frame would cut through it;
* a plotted line (``plot``, ``vlines``, ...) that runs through such a label;
* a text smaller than ``MIN_FONT_PX`` on screen when the page shows the figure at
  ``min(PNG width, DISPLAY_WIDTH_PX)``: the renderer saves at ``RENDER_DPI`` with a tight box
  (``snippets/render/outputs.py``), and the theme scales an image down to the text column.

The column width is measured, not assumed: ``tests/test_accessibility.py`` checks that the
site shows every figure at least this wide in a 1280 x 900 window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snippets.render.outputs import FIGURE_DPI as RENDER_DPI
from snippets.render.outputs import figure_png

DISPLAY_WIDTH_PX = 688  # Material's text column in a 1280 x 900 window (measured in Chromium)
PHONE_WIDTH_PX = 390  # a phone's screen, in CSS pixels (an iPhone 12 to 15)
PHONE_DISPLAY_WIDTH_PX = 358  # the text column on it (measured in Chromium, mobile emulation)
MIN_FONT_PX = 9.0  # the smallest legible text on screen, as the issue asks (~9 px)
TOLERANCE_PX = 1.0  # boxes that merely touch do not overlap


@dataclass(frozen=True)
class Label:
    """One visible text of a figure: its string, box (display pixels) and font size (pt)."""

    text: str
    artist: Any  # matplotlib.text.Text
    box: Any  # matplotlib.transforms.Bbox
    axes: Any  # the axes it is placed in by data coordinates, or None

    def __str__(self) -> str:
        return repr(self.text)


def _tick_labels_out_of_view(fig) -> set[int]:
    """ids of tick labels that matplotlib will not draw (their tick is outside the view, or the
    axes' axis is switched off, ``ax.axis("off")``)."""
    hidden = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if not ax.axison:
                for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                    hidden.update((id(tick.label1), id(tick.label2)))
                continue
            low, high = sorted(axis.get_view_interval())
            span = (high - low) * 1e-9
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not low - span <= tick.get_loc() <= high + span:
                    hidden.update((id(tick.label1), id(tick.label2)))
    return hidden


def visible_labels(fig) -> list[Label]:
    """Every text matplotlib draws in ``fig``, with its box; the figure is drawn first."""
    import matplotlib.text

    fig.set_dpi(RENDER_DPI)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    hidden = _tick_labels_out_of_view(fig)
    labels = []
    for artist in fig.findobj(matplotlib.text.Text):
        if (
            id(artist) in hidden
            or not artist.get_visible()
            or not artist.get_text().strip()
            or (artist.axes is not None and not artist.axes.get_visible())
        ):
            continue
        in_data = artist.axes is not None and artist in artist.axes.texts
        labels.append(
            Label(
                artist.get_text(),
                artist,
                artist.get_window_extent(renderer),
                artist.axes if in_data else None,
            )
        )
    return labels


def _overlap(a, b) -> bool:
    return (
        min(a.x1, b.x1) - max(a.x0, b.x0) > TOLERANCE_PX
        and min(a.y1, b.y1) - max(a.y0, b.y0) > TOLERANCE_PX
    )


def _inside(inner, outer) -> bool:
    return (
        inner.x0 >= outer.x0
        and inner.x1 <= outer.x1
        and inner.y0 >= outer.y0
        and inner.y1 <= outer.y1
    )


def _lines_of(ax) -> list[Any]:
    """The plotted lines of ``ax`` as display-coordinate paths."""
    from matplotlib.collections import LineCollection

    paths = [line.get_transform().transform_path(line.get_path()) for line in ax.lines]
    for collection in ax.collections:
        if isinstance(collection, LineCollection):
            transform = collection.get_transform()
            paths.extend(transform.transform_path(path) for path in collection.get_paths())
    return paths


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's header."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def layout_problems(fig, display_width_px: float = DISPLAY_WIDTH_PX) -> list[str]:
    """What a reader would find wrong with the texts of ``fig``; an empty list if nothing.

    Args:
        fig: a matplotlib figure, as an example returns it.
        display_width_px: the widest the page shows a figure (CSS pixels).

    Returns:
        One sentence per problem, naming the texts.
    """
    from matplotlib.transforms import Bbox

    labels = visible_labels(fig)
    problems = []
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            if _overlap(a.box, b.box):
                problems.append(f"{a} and {b} overlap")
    for label in labels:
        if not _inside(label.box, fig.bbox):
            problems.append(f"{label} runs off the figure")
        if label.axes is not None:
            if not _inside(label.box, label.axes.bbox):
                problems.append(f"{label} crosses the frame of its axes")
            shrunk = Bbox.from_extents(
                label.box.x0 + TOLERANCE_PX,
                label.box.y0 + TOLERANCE_PX,
                label.box.x1 - TOLERANCE_PX,
                label.box.y1 - TOLERANCE_PX,
            )
            if any(path.intersects_bbox(shrunk, filled=False) for path in _lines_of(label.axes)):
                problems.append(f"a plotted line runs through {label}")
    scale = min(1.0, display_width_px / png_size(figure_png(fig))[0])
    for label in labels:
        size_px = label.artist.get_fontsize() * RENDER_DPI / 72 * scale
        if size_px < MIN_FONT_PX:
            problems.append(
                f"{label} is {size_px:.1f} px on screen (at most {display_width_px:.0f} px wide),"
                f" under {MIN_FONT_PX:.0f} px"
            )
    return problems
