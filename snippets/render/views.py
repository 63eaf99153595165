"""bertviz views made to work offline: one self-contained HTML file per view.

bertviz returns HTML that loads require.js, d3 5.7.0 and jQuery from CDNs. Here the CDN script
tag and bertviz's ``require.config`` (which points at the CDNs) are removed, d3 and jQuery are
inlined *before* require.js (so they set globals instead of registering anonymous AMD modules)
and are then registered under the names bertviz asks for. The random element id is replaced by
the example id, and the attention weights are rounded to 4 decimals, so the same attentions give
the same bytes whatever the number of threads that computed them. A last small script scales the
view down to the width of its frame when bertviz draws it wider. bertviz writes its menus as
``Layer: <select id="layer">`` with the word beside the menu but not tied to it, so a screen reader
announces an unnamed list: each one is wrapped in a ``<label>``, which names it.

The tokens are untrusted text that bertviz writes into a ``<script>`` as JSON, twice: after
``const params = `` and again, raw, in the comment that follows on the same line. The JSON is read
by its grammar (``json.JSONDecoder.raw_decode``, so no token can end it early), the comment copy
is dropped (it also doubled the file), and the JSON is written back with ``<``, ``>`` and ``&`` as
``\\u003c``, ``\\u003e``, ``\\u0026``: no token can end the script (``</script>``), open an HTML
comment in it (``<!--``), or steer the rewriting of the rest of the page, whatever it contains.
"""

from __future__ import annotations

import html
import json
import re

from snippets.render.outputs import SCRIPT_SAFE
from snippets.render.vendor import VENDOR_DIR

_CDN_SCRIPT = re.compile(r'<script src="https://[^"]*require[^"]*"></script>')
_REQUIRE_CONFIG = re.compile(r"require\.config\(\{.*?\}\);", re.DOTALL)
_VIS_ID = re.compile(r"bertviz-[0-9a-f]{32}")
# bertviz's template line is ``const params = PYTHON_PARAMS; // HACK: PYTHON_PARAMS is a ...``
# and bertviz replaces *both* PYTHON_PARAMS with json.dumps(params): the tokens come twice, the
# second time raw in the comment. The JSON is read by its grammar from after "const params = ";
# the comment is dropped.
_PARAMS_START = re.compile(r"^[ \t]*const params = ", re.MULTILINE)
_PARAMS_SLOT = "/*bertviz-params*/"
_VIEW_ID = re.compile(r"[A-Za-z0-9_-]+")
# bertviz's menus: ``Layer: <select id="layer"></select>`` (options are added by its script) and,
# for encoder-decoder models, ``Attention: <select id="filter">...</select>``.
_MENU = re.compile(r'(\w+):\s*(<select id="\w+">.*?</select>)', re.DOTALL)
# The largest attention view a page may embed, in bytes of its file: bertviz's code and the
# vendored d3, jQuery and require.js (about 0.41 MB) plus the weights, which grow with layers x
# heads x tokens x tokens (the lecture's views: 0.55 and 0.43 MB; a head view of a 200-token text
# would be 21.6 MB, and a browser takes seconds to draw it). The widgets' budget is the same.
MAX_VIEW_BYTES = 1_500_000
# Attention weights are embedded to 4 decimals: finer than a reader can see in a line's opacity,
# and coarse enough that the view's bytes do not depend on how many threads summed the floats.
WEIGHT_DECIMALS = 4


def round_floats(value, decimals: int = WEIGHT_DECIMALS):
    """``value`` (JSON: dicts, lists, numbers, strings) with every float rounded to ``decimals``."""
    if isinstance(value, float):
        return round(value, decimals)
    if isinstance(value, list):
        return [round_floats(item, decimals) for item in value]
    if isinstance(value, dict):
        return {key: round_floats(item, decimals) for key, item in value.items()}
    return value


# bertviz draws at a fixed width (the model view is 970 px wide), wider than the page's text
# column: scale the view down to the frame's width instead of hiding heads behind a sideways
# scroll. Re-fitted whenever bertviz redraws (layer change, enlarged head) or the frame resizes;
# each fit also posts the view's height to the page, which sizes the frame to it.
_FIT_TO_WIDTH = """<script>/* Fit the view to the frame's width (added for the lecture site). */
(function () {
  var root = document.documentElement;
  function fit() {
    document.body.style.zoom = "";
    if (root.scrollWidth > root.clientWidth) {
      document.body.style.zoom = String(root.clientWidth / root.scrollWidth);
    }
    // Tell the page how tall the view is, so its frame can fit it (docs/assets/bertviz-frames.js).
    if (parent !== window) {
      var box = document.body.getBoundingClientRect();
      parent.postMessage({bertvizHeight: Math.ceil(box.bottom + window.scrollY)}, "*");
    }
  }
  new MutationObserver(fit).observe(document.body, {childList: true, subtree: true});
  addEventListener("resize", fit);
})();
</script>"""


def _script(name: str) -> str:
    code = (VENDOR_DIR / name).read_text(encoding="utf-8")
    return f"<script>/* {name}, vendored from npm (see VENDOR.json) */\n{code}\n</script>"


def label_menus(body: str) -> str:
    """Wrap each of bertviz's ``Word: <select ...>`` menus in a ``<label>``, which names it.

    Raises:
        ValueError: a ``<select>`` that is not in that form (bertviz's layout changed).
    """
    labelled, count = _MENU.subn(r"<label>\1: \2</label>", body)
    if count != body.count("<select"):
        raise ValueError("a bertviz menu (<select>) without its 'Word:' label: layout changed")
    return labelled


class ViewTooLargeError(ValueError):
    """An attention view larger than :data:`MAX_VIEW_BYTES`; the message says what to shorten."""


def attention_shape(params: object) -> tuple[int, int, int, int] | None:
    """``(layers, heads, tokens on the left, tokens on the right)`` of the first attention a
    bertviz view's params hold (``{"attention": [{"attn": [layer][head][i][j], "left_text":
    [...], "right_text": [...]}, ...]}``), or None when they hold none in that form."""
    try:
        first = params["attention"][0]  # type: ignore[index]
        attn = first["attn"]
        return len(attn), len(attn[0]), len(first["left_text"]), len(first["right_text"])
    except (KeyError, IndexError, TypeError):
        return None


def check_view_size(document: str, params_bytes: int, params: object, limit: int) -> None:
    """Raise :class:`ViewTooLargeError` if ``document`` (a self-contained view whose attention
    data takes ``params_bytes`` of it) is larger than ``limit`` bytes, saying how large, of
    what shape, and how many tokens would fit at the same layers and heads."""
    size = len(document.encode("utf-8"))
    if size <= limit:
        return
    shape = attention_shape(params)
    what = ""
    hint = "shorten the text (the weights grow with the square of its length)"
    if shape:
        layers, heads, left, right = shape
        what = (f" ({layers} layer(s) x {heads} head(s) x {left} x {right} tokens of attention "
                "weights)")  # fmt: skip
        per_weight = params_bytes / max(1, layers * heads * left * right)
        room = max(0, limit - (size - params_bytes))
        fits = int((room / max(per_weight * layers * heads, 1e-9)) ** 0.5)
        hint += f": about {fits} tokens fit at these layers and heads"
    raise ViewTooLargeError(
        f"its attention view is {size / 1e6:.1f} MB{what}; a page embeds at most "
        f"{limit / 1e6:.1f} MB: {hint}, or show fewer layers or heads (bertviz's "
        "include_layers=[...] and include_heads=[...])"
    )


def read_params(html: str) -> dict:
    """The parameters a view written by :func:`make_self_contained` draws: the JSON after its
    line ``const params = ``, read by its grammar; ``attention`` is a list of ``{"name",
    "attn": [layer][head][query][key], "left_text", "right_text"}``.

    Raises:
        ValueError: the file holds no bertviz parameters.
    """
    match = _PARAMS_START.search(html)
    if match is None:
        raise ValueError("no bertviz parameters (const params = ...) in the view")
    return json.JSONDecoder().raw_decode(html, match.end())[0]


def make_self_contained(view_html: str, view_id: str, max_bytes: int = MAX_VIEW_BYTES) -> str:
    """A complete HTML document that draws ``view_html`` with no network.

    Args:
        view_html: what ``bertviz.head_view(..., html_action="return").data`` gives.
        view_id: stable id for the view's root element (the example id).
        max_bytes: the largest document allowed.

    Raises:
        ValueError: the HTML does not look like a bertviz view (its layout changed).
        ViewTooLargeError: the document is larger than ``max_bytes``.
    """
    if not _VIEW_ID.fullmatch(view_id):
        raise ValueError(f"view id {view_id!r}: use letters, digits, '-' and '_' only")
    if "requirejs(" not in view_html or not _VIS_ID.search(view_html):
        raise ValueError("not a bertviz view: expected a requirejs(...) call and a bertviz-<id>")
    starts = list(_PARAMS_START.finditer(view_html))
    if len(starts) != 1:
        raise ValueError(f"not a bertviz view: {len(starts)} 'const params = ' lines, not 1")
    start = starts[0].end()
    try:
        params, end = json.JSONDecoder().raw_decode(view_html, start)
    except ValueError as error:
        raise ValueError(f"bertviz's params are not JSON: {error}") from None
    line_end = view_html.find("\n", end)
    if line_end == -1:
        line_end = len(view_html)
    rest = view_html[end:line_end]
    if not re.fullmatch(r";\s*(//.*)?", rest):
        raise ValueError(f"unexpected code after bertviz's params: {rest[:80]!r}")
    if isinstance(params, dict) and "root_div_id" in params:
        params["root_div_id"] = f"bertviz-{view_id}"
    params = round_floats(params)
    # The JSON (with the untrusted tokens) is set aside while the rest is rewritten; the
    # comment after it, a second raw copy of the JSON, is dropped.
    body = view_html[:start] + _PARAMS_SLOT + ";" + view_html[line_end:]
    body = _CDN_SCRIPT.sub("", body)
    body = _REQUIRE_CONFIG.sub("", body)
    body = _VIS_ID.sub(f"bertviz-{view_id}", body)
    body = label_menus(body)
    params_json = json.dumps(params).translate(SCRIPT_SAFE)
    body = body.replace(_PARAMS_SLOT, params_json, 1)
    document = "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>Attention view {html.escape(view_id)}</title>",
            "<style>body{margin:0;background:#fff;color:#000}</style>",
            "</head><body>",
            _script("d3.min.js"),
            _script("jquery.min.js"),
            _script("require.js"),
            "<script>define('d3', [], function () { return d3; });"
            "define('jquery', [], function () { return jQuery; });</script>",
            body.strip(),
            _FIT_TO_WIDTH,
            "</body></html>",
            "",
        ]
    )
    check_view_size(document, len(params_json.encode("utf-8")), params, max_bytes)
    return document
