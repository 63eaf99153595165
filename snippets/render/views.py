"""bertviz views made to work offline: one self-contained HTML file per view.

bertviz returns HTML that loads require.js, d3 5.7.0 and jQuery from CDNs. Here the CDN script
tag and bertviz's ``require.config`` (which points at the CDNs) are removed, d3 and jQuery are
inlined *before* require.js (so they set globals instead of registering anonymous AMD modules)
and are then registered under the names bertviz asks for. The random element id is replaced by
the example id, so the same attentions give the same bytes.
"""

from __future__ import annotations

import html
import re

from snippets.render.vendor import VENDOR_DIR

_CDN_SCRIPT = re.compile(r'<script src="https://[^"]*require[^"]*"></script>')
_REQUIRE_CONFIG = re.compile(r"require\.config\(\{.*?\}\);", re.DOTALL)
_VIS_ID = re.compile(r"bertviz-[0-9a-f]{32}")
_PARAMS = re.compile(r"(const params = )(.*?)(; // HACK)", re.DOTALL)


def _script(name: str) -> str:
    code = (VENDOR_DIR / name).read_text(encoding="utf-8")
    return f"<script>/* {name}, vendored from npm (see VENDOR.json) */\n{code}\n</script>"


def make_self_contained(view_html: str, view_id: str) -> str:
    """A complete HTML document that draws ``view_html`` with no network.

    Args:
        view_html: what ``bertviz.head_view(..., html_action="return").data`` gives.
        view_id: stable id for the view's root element (the example id).

    Raises:
        ValueError: the HTML does not look like a bertviz view (its layout changed).
    """
    if "requirejs(" not in view_html or not _VIS_ID.search(view_html):
        raise ValueError("not a bertviz view: expected a requirejs(...) call and a bertviz-<id>")
    body = _CDN_SCRIPT.sub("", view_html)
    body = _REQUIRE_CONFIG.sub("", body)
    body = _VIS_ID.sub(f"bertviz-{view_id}", body)
    # Tokens are untrusted text inside a <script>: keep them from closing it.
    body = _PARAMS.sub(
        lambda m: m[1] + m[2].replace("</", "<\\/").replace("<!--", "<\\!--") + m[3], body
    )
    return "\n".join(
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
            "</body></html>",
            "",
        ]
    )
