"""MkDocs hooks: the build report page, read from the manifest (no torch needed).

Registered in ``mkdocs.yml`` under ``hooks:``. The page ``docs/build-report.md`` holds the marker
``<!-- build-report -->``, replaced here by a table of every rendered example, and
``<!-- expected-warnings -->``, replaced by the warnings the examples are declared to emit;
``docs/maintainers/models.md`` holds ``<!-- model-choices -->``, replaced by every example's
point and models (``docs/model-choices.toml``).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from mkdocs.exceptions import PluginError

from snippets.render.manifest import TIMINGS_NAME, Manifest, ManifestError

MARKER = "<!-- build-report -->"
WARNINGS_MARKER = "<!-- expected-warnings -->"
CHOICES_MARKER = "<!-- model-choices -->"


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise PluginError(
            f"build report: cannot read {path} ({error}); restore it with git or re-render "
            "with `nox -s render`"
        ) from error
    if not isinstance(data, dict):
        raise PluginError(f"build report: {path} is not a JSON object; restore it with git")
    return data


def _load(docs_dir: Path) -> tuple[Manifest, dict]:
    generated = docs_dir / "generated"
    try:
        manifest = Manifest.read(generated)
    except ManifestError as error:
        raise PluginError(f"build report: {error}") from error
    timings_path = generated / TIMINGS_NAME
    timings = _read(timings_path) if timings_path.exists() else {}
    return manifest, {"examples": {}, "model_loads": {}, **timings}


def short_revision(revision: str) -> str:
    """A readable revision: a stand-in's code hash, a commit or checksum prefix, a version."""
    if "@" in revision:  # "module:function@codehash" of a trained stand-in
        return f"code {revision.rsplit('@', 1)[1]}"
    if re.fullmatch(r"[0-9a-f]{40,64}", revision):
        return revision[:12]
    return revision


def report_markdown(manifest: Manifest, timings: dict, pages: dict[str, list[str]]) -> str:
    """The build report: a summary line and one table row per example."""
    entries = manifest.entries
    durations = timings["examples"]
    total = sum(durations.get(i, 0.0) for i in entries)
    loads = ", ".join(f"{role} {s:.1f} s" for role, s in sorted(timings["model_loads"].items()))
    imports = f"{timings['imports']:.1f} s" if "imports" in timings else "n/a"
    versions: dict[str, str] = {}
    for entry in entries.values():
        versions.update(entry.provenance["versions"])
    devices = sorted({e.device_name for e in entries.values()})
    profiles = sorted({e.profile for e in entries.values()})
    lines = [
        f"**{len(entries)} examples**, profile **{', '.join(profiles)}**, device "
        f"{', '.join(devices)}; "
        + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
        + f". Sum of the examples' last execution times: {total:.1f} s (their own work only).",
        "",
        f"- Imports of the libraries and lecture modules, once before the examples: {imports}.",
        "- Loading each model (training a stand-in the first time), at its last load: "
        f"{loads or 'n/a'}.",
        "",
        "| example | page | source | models | seconds |",
        "|---|---|---|---|---:|",
    ]
    for example_id, entry in entries.items():
        models = (
            "<br>".join(
                html.escape(m["name"])
                + (" (stand-in)" if m["stand_in"] == "yes" else "")
                + f" <small>{html.escape(short_revision(m['revision']))}</small>"
                for m in entry.models
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
            f"| `{example_id}` | {where} | `{html.escape(entry.source)}` | {models} | "
            f"{'' if seconds is None else f'{seconds:.2f}'} |"
        )
    return "\n".join(lines + view_sizes(manifest)) + "\n"


def view_sizes(manifest: Manifest) -> list[str]:
    """The report's lines on the attention views: one per view, its size against the budget
    (:data:`snippets.render.views.MAX_VIEW_BYTES`, which fails an example whose view is larger)."""
    from snippets.render.views import MAX_VIEW_BYTES

    views = sorted(name for entry in manifest.entries.values() for name in entry.outputs
                   if name.endswith(".html"))  # fmt: skip
    if not views:
        return []
    lines = ["", f"Attention views, each at most {MAX_VIEW_BYTES / 1e6:.1f} MB (a larger one "
             "fails its example, saying what to shorten):", ""]  # fmt: skip
    for name in views:
        path = manifest.folder / name
        size = path.stat().st_size if path.exists() else 0
        lines.append(f"- `{name}`: {size / 1e6:.2f} MB, {size / MAX_VIEW_BYTES:.0%} of the budget")
    return lines


def model_choices_markdown(examples: list, pages: dict[str, list[str]]) -> str:
    """One table row per example: its page, its point, its models under each profile, and why
    (``docs/model-choices.toml``, read by :func:`snippets.render.examples.discover_examples`)."""
    from snippets.profiles import ROLES

    def models(example, profile: str) -> str:
        names = []
        for name in example.roles:
            entry = ROLES[name]
            label = entry.hub_id if entry.uses_hub(profile) else entry.offline_name
            if name in example.contrast:
                label += ", for contrast"
            names.append(html.escape(label))
        return "<br>".join(names) or "none"

    lines = [
        "| example | page | point | hub profile | offline profile | why |",
        "|---|---|---|---|---|---|",
    ]
    for example in examples:
        where = ", ".join(
            f"[{p.removesuffix('.md')}](../{p}#output-{example.id})"
            for p in pages.get(example.id, [])
        )
        lines.append(
            f"| `{example.id}` | {where or 'not used'} | {example.point} | "
            f"{models(example, 'hub')} | {models(example, 'offline')} | "
            f"{html.escape(example.why)} |"
        )
    return "\n".join(lines) + "\n"


def warnings_markdown(
    expected: dict[str, tuple[str, ...]], loads: dict[tuple[str, str], tuple[str, ...]]
) -> str:
    """One list item per example and per model load declared in docs/expected-warnings.toml."""
    items = [(f"`{example_id}`", parts) for example_id, parts in sorted(expected.items())]
    items += [
        (f"loading `{role}` ({profile} profile)", parts)
        for (role, profile), parts in sorted(loads.items())
    ]
    if not items:
        return "No example or model load is declared to emit a warning.\n"
    return "".join(
        f"* {what}: " + "; ".join(f"`{html.escape(part)}`" for part in parts) + "\n"
        for what, parts in items
    )


def notebook_banner(notebook: str, extra: dict) -> str:
    """The line for pages whose code is in ``notebook``: download it, read it here, and "Open in
    Colab" only when ``extra.colab_repository`` names the repository that holds this project
    (no default that would point elsewhere)."""
    from snippets.render.notebooks import colab_link

    colab = colab_link(notebook, extra=extra)
    return (
        '<p class="notebook-banner print-hide">Run this page\'s code: '
        + (f'<a href="{html.escape(colab)}">Open in Colab</a> · ' if colab else "")
        + f'<a href="notebooks/{notebook}.ipynb" download>download the notebook</a> · '
        f'<a href="notebooks/{notebook}.html">read it here</a></p>\n\n'
    )


def _bibliography(docs_dir: Path) -> dict[str, dict]:
    from snippets.render import bibliography

    try:
        return bibliography.load(docs_dir / "references.json")
    except bibliography.BibliographyError as error:
        raise PluginError(str(error)) from error


def on_page_markdown(markdown: str, page, config, files) -> str:
    from snippets.render import bibliography
    from snippets.render.includes import include_problems
    from snippets.render.notebooks import included_examples, notebook_of

    src = page.file.src_uri
    problems = include_problems(markdown, f"docs/{src}", Path(config["docs_dir"]).parent)
    if problems:
        raise PluginError("\n".join(problems))
    if bibliography.CITATION.search(markdown) or bibliography.MARKER in markdown:
        entries = _bibliography(Path(config["docs_dir"]))
        try:
            markdown = bibliography.cite(markdown, entries, src)
        except bibliography.BibliographyError as error:
            raise PluginError(str(error)) from error
        markdown = markdown.replace(bibliography.MARKER, bibliography.references_markdown(entries))
    if src.endswith(".md") and "/" not in src and included_examples(markdown):
        notebook = notebook_of(src)
        heading, _, rest = markdown.partition("\n")
        markdown = f"{heading}\n\n{notebook_banner(notebook, config.get('extra', {}))}{rest}"
    if WARNINGS_MARKER in markdown:
        from snippets.render.examples import read_expected_load_warnings, read_expected_warnings

        listed = warnings_markdown(read_expected_warnings(), read_expected_load_warnings())
        markdown = markdown.replace(WARNINGS_MARKER, listed)
    if CHOICES_MARKER in markdown:
        from snippets.render.examples import discover_examples

        examples = discover_examples()
        pages = _pages_of(Path(config["docs_dir"]), [e.id for e in examples])
        markdown = markdown.replace(CHOICES_MARKER, model_choices_markdown(examples, pages))
    if MARKER not in markdown:
        return markdown
    docs_dir = Path(config["docs_dir"])
    manifest, timings = _load(docs_dir)
    pages = _pages_of(docs_dir, list(manifest.entries))
    return markdown.replace(MARKER, report_markdown(manifest, timings, pages))


def _pages_of(docs_dir: Path, example_ids: list[str]) -> dict[str, list[str]]:
    """``{example id: [page, ...]}``: the lecture pages that include each example's output."""
    pages: dict[str, list[str]] = {}
    for source in sorted(docs_dir.glob("*.md")):
        text = source.read_text(encoding="utf-8")
        for example_id in example_ids:
            if f'"docs/generated/{example_id}.md"' in text:
                pages.setdefault(example_id, []).append(source.name)
    return pages


# nbconvert's page template (used by mkdocs-jupyter) carries a module script that would import
# mermaid from a CDN if a notebook had mermaid diagrams. These notebooks have none, and the site
# loads nothing from other hosts, so the script is dropped.
_MERMAID_LOADER = re.compile(r'<script type="module">(?:(?!</script>).)*?mermaid.*?</script>', re.S)


def on_post_page(output: str, page, config) -> str:
    if page.file.src_uri.endswith(".ipynb") or "jp-Notebook" in output:
        return _MERMAID_LOADER.sub("", output)
    return output


# Without site_url MkDocs gives 404.html root-absolute URLs ("/assets/..."), which from disk
# point at the disk's root: the page would load no style sheet. It lies at the site's root, so
# the same URLs without the leading slash are right wherever the site is opened from.
_ROOT_ABSOLUTE = re.compile(r'\b(href|src)="/(?!/)')


def relative_404(text: str) -> str:
    """``404.html`` with root-absolute URLs made relative to the site's root (where it lies)."""
    text = _ROOT_ABSOLUTE.sub(r'\1="', text)
    return text.replace('"base": "/"', '"base": "."').replace('new URL("/",', 'new URL(".",')


def on_post_build(config) -> None:
    """Without ``site_url``: 404.html made to work from disk, and no sitemap (its entries must be
    absolute URLs, which only ``site_url`` can give; MkDocs would write an empty one). Then the
    print page, assembled by print-site after the pages, cleaned and made whole
    (:mod:`snippets.render.print_page`)."""
    from mkdocs_print_site_plugin.urls import get_page_key

    from snippets.render.pdf import link_the_pdf
    from snippets.render.print_page import tidy

    site_dir = Path(config["site_dir"])
    if not config.get("site_url"):
        page_404 = site_dir / "404.html"
        if page_404.exists():
            page_404.write_text(relative_404(page_404.read_text(encoding="utf-8")), "utf-8")
        for sitemap in ("sitemap.xml", "sitemap.xml.gz"):
            (site_dir / sitemap).unlink(missing_ok=True)
    print_page = site_dir / "print_page.html"
    if print_page.exists():
        pages = {
            get_page_key(path.relative_to(site_dir).as_posix()): path.relative_to(
                site_dir
            ).as_posix()
            for path in site_dir.rglob("*.html")
        }
        text = print_page.read_text(encoding="utf-8")
        cleaned = tidy(_MERMAID_LOADER.sub("", text), pages)
        if cleaned != text:
            print_page.write_text(cleaned, encoding="utf-8")
    link_the_pdf(site_dir)  # a link to the PDF only where it exists (nox -s pdf makes it)
