"""MkDocs hooks: the build report page, read from the manifest (no torch needed).

Registered in ``mkdocs.yml`` under ``hooks:``. The page ``docs/build-report.md`` holds the marker
``<!-- build-report -->``, replaced here by a table of every rendered example.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

MARKER = "<!-- build-report -->"


def _load(docs_dir: Path) -> tuple[dict, dict]:
    generated = docs_dir / "generated"
    manifest = json.loads((generated / "manifest.json").read_text(encoding="utf-8"))
    timings_path = generated / "timings.json"
    timings = json.loads(timings_path.read_text(encoding="utf-8")) if timings_path.exists() else {}
    return manifest, {"examples": {}, "model_loads": {}, **timings}


def report_markdown(manifest: dict, timings: dict, pages: dict[str, list[str]]) -> str:
    """The build report: a summary line and one table row per example."""
    entries = manifest["examples"]
    durations = timings["examples"]
    total = sum(durations.get(i, 0.0) for i in entries)
    loads = ", ".join(f"{role} {s:.1f} s" for role, s in sorted(timings["model_loads"].items()))
    versions = next(
        (e["key_parts"]["versions"] for e in entries.values() if e["key_parts"]["versions"]), {}
    )
    devices = sorted({e["device_name"] for e in entries.values()})
    lines = [
        f"**{len(entries)} examples**, profile **{manifest.get('profile')}**, device "
        f"{', '.join(devices)}; "
        + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
        + f". Sum of the examples' last execution times: {total:.1f} s. Loading each model "
        f"(training a stand-in the first time) took, at its last load: {loads or 'n/a'}.",
        "",
        "| example | page | source | models | seconds |",
        "|---|---|---|---|---:|",
    ]
    for example_id, entry in entries.items():
        models = (
            "<br>".join(
                html.escape(m["name"])
                + (" (stand-in)" if m["stand_in"] == "yes" else "")
                + f" <small>{html.escape(m['revision'][:19])}</small>"
                for m in entry["models"]
            )
            or "none"
        )
        where = (
            ", ".join(
                f"[{p.removesuffix('.md')}]({p}#output-{example_id})"
                for p in pages.get(example_id, [])
            )
            or "not used"
        )
        seconds = durations.get(example_id)
        lines.append(
            f"| `{example_id}` | {where} | `{html.escape(entry['source'])}` | {models} | "
            f"{'' if seconds is None else f'{seconds:.2f}'} |"
        )
    return "\n".join(lines) + "\n"


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER not in markdown:
        return markdown
    docs_dir = Path(config["docs_dir"])
    manifest, timings = _load(docs_dir)
    pages: dict[str, list[str]] = {}
    for source in sorted(docs_dir.glob("*.md")):
        text = source.read_text(encoding="utf-8")
        for example_id in manifest["examples"]:
            if f'"docs/generated/{example_id}.md"' in text:
                pages.setdefault(example_id, []).append(source.name)
    return markdown.replace(MARKER, report_markdown(manifest, timings, pages))
