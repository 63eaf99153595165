"""The pages: every output comes from the manifest, code comes from snippets/, skips are pinned."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest

from snippets.render.examples import MIN_ALT_TEXT, discover_examples, read_alt_texts

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
PAGES = sorted(DOCS.glob("*.md"))
INCLUDE = re.compile(r'^[ \t]*--8<-- "([^"]+)"$', re.MULTILINE)
# Blocks that cannot run here, page by page. Raising a number needs a reason on the page.
EXPECTED_SKIPS = {"pipeline.md": 1}


def includes() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for page in PAGES:
        for target in INCLUDE.findall(page.read_text()):
            found.setdefault(target, []).append(page.name)
    return found


def test_every_example_output_is_on_a_page():
    included = includes()
    missing = [e.id for e in discover_examples() if f"docs/generated/{e.id}.md" not in included]
    assert missing == []


def test_every_include_exists():
    """Each problem names the page, what it asked for, the rule and what exists."""
    from snippets.render.includes import site_include_problems

    assert site_include_problems() == []


def test_python_blocks_are_includes_from_snippets():
    """Code on a page is never pasted: each python block is one include of a snippets section."""
    blocks = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
    for page in PAGES:
        for body in blocks.findall(page.read_text()):
            assert re.fullmatch(r'--8<-- "snippets/[\w/]+\.py:[\w-]+"\n', body), (page.name, body)


def test_pages_have_no_pasted_outputs_or_remote_images():
    for page in PAGES:
        text = page.read_text()
        assert "```text" not in text, f"{page.name}: outputs come from docs/generated/"
        assert not re.search(r"<img[^>]+src=\"https?://", text), page.name
        assert not re.search(r"!\[[^\]]*\]\(https?://", text), page.name


def test_every_seed_section_is_covered():
    text = " ".join(" ".join(p.read_text().split()) for p in PAGES).lower()
    for topic in [
        "modeling sequential data", "genslm", "esmfold", "smiles", "attention is all you need",
        "counselor", "byte-pair encoding", "wordpiece", "sentencepiece", "token embedding",
        "decoder-only", "positional encoding", "layer normalization", "multi-head attention",
        "bertviz", "setting up a prompt", "loading a pretrained model", "logits", "softmax",
        "saving and loading", "model hub", "model card", "recommended reading", "homework",
        "the animal didn't cross the street because it was too tired", "no, i am your father",
    ]:  # fmt: skip
        assert topic in text, topic


def test_skipped_blocks_are_pinned_and_explained():
    """Every skip directive counts, in whatever form Sybil reads it (found by its own lexer:
    any quoting, ``<!---``, no colon, ``if(...)``), and each gives its reason."""
    from tests.sybil_pages import skip_directives

    for page in PAGES:
        skips = [d for d in skip_directives(page.read_text(), page.name) if d.action != "end"]
        assert len(skips) == EXPECTED_SKIPS.get(page.name, 0), page.name
        for skip in skips:
            assert skip.reason and len(skip.reason) > 20, f"{page.name}:{skip.line}: no reason"


def test_outputs_of_other_models_than_the_lecture_s_say_so_and_why():
    """A model in another's place says so; a model trained here says so, what the output
    shows (its point) and why (docs/model-choices.toml), read from the manifest's models."""
    from snippets.profiles import ROLES
    from snippets.render.examples import POINTS
    from snippets.render.outputs import SUBSTITUTE_NOTE, TRAINED_HERE_NOTE

    examples = {e.id: e for e in discover_examples()}
    manifest = json.loads((DOCS / "generated" / "manifest.json").read_text())
    for example_id, entry in manifest["examples"].items():
        fragment = html.unescape((DOCS / "generated" / f"{example_id}.md").read_text())
        profile = entry["key_parts"]["profile"]
        roles = [ROLES[m["role"]] for m in entry["models"]]
        substitute = any(m["stand_in"] == "yes" and not ROLES[m["role"]].trained
                         for m in entry["models"])  # fmt: skip
        trained_here = any(r.trained_here(profile) for r in roles)
        assert (SUBSTITUTE_NOTE in fragment) == substitute, example_id
        assert (TRAINED_HERE_NOTE in fragment) == trained_here, example_id
        if trained_here:
            example = examples[example_id]
            assert example.why in fragment, example_id
            shows = "for contrast" if example.contrast else POINTS[example.point]
            assert shows in fragment, example_id


def test_every_figure_has_alt_text_and_a_caption():
    manifest = json.loads((DOCS / "generated" / "manifest.json").read_text())
    examples = {e.id: e for e in discover_examples()}
    figures = set()
    for example_id, entry in manifest["examples"].items():
        if any(name.endswith((".png", ".html")) for name in entry["outputs"]):
            figures.add(example_id)
            example = examples[example_id]
            assert len(example.alt) >= MIN_ALT_TEXT, f"docs/alt-text.toml: [{example_id}] alt"
            fragment = (DOCS / "generated" / f"{example_id}.md").read_text()
            assert "<figcaption><strong>" in fragment
            alt = html.escape(example.alt)
            assert f'alt="{alt}"' in fragment or f'title="{alt}"' in fragment, example_id
    assert set(read_alt_texts()) == figures  # no alt text for an output that is not a figure


def test_no_renderer_plumbing_in_the_code_on_the_pages():
    """What a page shows is what a student types: plain from_pretrained(checkpoint)."""
    snippet = re.compile(r'^--8<-- "(snippets/[\w/]+\.py):([\w-]+)"$', re.MULTILINE)
    for page in PAGES:
        for path, section in snippet.findall(page.read_text()):
            text = (REPO / path).read_text()
            code = text.split(f"--8<-- [start:{section}]")[1].split(f"--8<-- [end:{section}]")[0]
            for word in (
                "spec.",
                "ModelSpec",
                "_npm",
                "trained_checkpoint",
                "Alt text",
                "snippets.render",
                "snippets.offline",
                "snippets.profiles",
            ):
                assert word not in code, f"{page.name} shows {word!r} ({path}:{section})"


def test_build_report_lists_every_example_with_its_page():
    from snippets.render.mkdocs_hooks import _load, report_markdown, short_revision

    manifest, timings = _load(DOCS)
    pages = {
        target.split("/")[-1].removesuffix(".md"): names
        for target, names in includes().items()
        if target.startswith("docs/generated/")
    }
    report = report_markdown(manifest, timings, pages)
    for example_id in manifest.entries:
        assert f"| `{example_id}` | [" in report, example_id
    assert "profile **offline**" in report or "profile **hub**" in report
    assert short_revision("snippets.training:train_tiny_gpt2@d268b2c78aee") == "code d268b2c78aee"
    assert short_revision("607a30d783dfa663caf39e06633721c8d4cfcd7e") == "607a30d783df"
    assert short_revision("0.1.0") == "0.1.0"


def test_the_build_does_not_depend_on_the_working_directory(built_site, tmp_path):
    """Includes resolve against mkdocs.yml's folder: the same HTML from the repository root (the
    session's build), from docs/ and from elsewhere."""
    import os
    import subprocess
    import sys

    built = {"root": (built_site / "tokenization.html").read_text(encoding="utf-8")}
    config = str(REPO / "mkdocs.yml")
    build = [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", config]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    builds = {  # the two builds side by side (one core each)
        name: subprocess.Popen([*build, "-d", str(tmp_path / f"site-{name}")], cwd=cwd, env=env)
        for name, cwd in (("docs", DOCS), ("elsewhere", tmp_path))
    }
    for name, process in builds.items():
        assert process.wait() == 0, f"mkdocs build from {name} failed (its output is above)"
        built[name] = (tmp_path / f"site-{name}" / "tokenization.html").read_text(encoding="utf-8")
    assert "load_gpt2_tokenizer" in built["root"]
    assert built["docs"] == built["root"] == built["elsewhere"]


def test_every_page_is_in_the_navigation():
    """A page left out of nav builds (MkDocs only warns) but drops out of the notebooks."""
    from snippets.render.notebooks import nav_pages

    left_out = {p.name for p in DOCS.glob("*.md")} - set(nav_pages())
    assert not left_out, f"add {sorted(left_out)} to nav in mkdocs.yml"


def test_a_wrong_include_names_the_page_the_rule_and_what_exists():
    from snippets.render.includes import include_problems

    page = (
        '--8<-- "docs/generated/tokenization-summary.md"\n'  # fine
        '--8<-- "docs/generated/tokenization-two_sentences.md"\n'
        '--8<-- "docs/generated/tokenization-summmary.md"\n'
        '--8<-- "snippets/tokenization.py:no-such-section"\n'
        '--8<-- "snippets/nothing.py"\n'
        '!!! note\n    --8<-- "snippets/indented.py"\n'  # inside an admonition
    )
    problems = include_problems(page, "docs/x.md", REPO)
    assert len(problems) == 5 and all(p.startswith('docs/x.md: --8<-- "') for p in problems)
    assert problems[4].endswith("there is no file snippets/indented.py")
    assert "no example has the id 'tokenization-two_sentences'" in problems[0]
    assert "underscores as hyphens" in problems[0] and "tokenization-merges" in problems[0]
    assert "did you mean tokenization-summary" in problems[1]
    assert "has no section 'no-such-section'" in problems[2] and "summary" in problems[2]
    assert problems[3].endswith("there is no file snippets/nothing.py")


@pytest.mark.parametrize(
    "where",
    [
        '```python\n--8<-- "snippets/x.py:setup"\n```\n',
        '=== "Tab"\n\n    ```python\n    --8<-- "snippets/x.py:setup"\n    ```\n',  # content tab
        '!!! note\n    ```python\n    --8<-- "snippets/x.py:setup"\n    ```\n',  # admonition
    ],
)
def test_a_misspelt_end_marker_names_the_file_the_section_and_the_marker(tmp_path, where):
    """pymdownx.snippets takes a section without its end to the end of the file, silently: the
    page (and the notebook) would show the rest of the module as its code."""
    from snippets.render.includes import include_problems

    (tmp_path / "snippets").mkdir()
    module = tmp_path / "snippets" / "x.py"
    module.write_text(
        "# --8<-- [start:setup]\nimport json\n# --8<-- [ned:setup]\n\n"
        "# --8<-- [start:later]\ndef f():\n    return json\n# --8<-- [end:later]\n"
    )
    (problem,) = include_problems(where, "docs/x.md", tmp_path)
    assert problem.startswith('docs/x.md: --8<-- "snippets/x.py:setup": snippets/x.py: ')
    assert "section 'setup' starts at line 1 but has no `# --8<-- [end:setup]` after it" in problem
    assert "line 3 `# --8<-- [ned:setup]` is no marker" in problem
    # A misspelt marker also spoils the other sections of the file (shown as code in one).
    (problem,) = include_problems(where.replace(":setup", ":later"), "docs/x.md", tmp_path)
    assert "line 3 `# --8<-- [ned:setup]` is no marker" in problem
    module.write_text(module.read_text().replace("[ned:setup]", "[end:setup]"))
    assert include_problems(where, "docs/x.md", tmp_path) == []


def test_a_misspelt_end_marker_fails_the_build_and_the_check(tmp_path):
    """The build (the MkDocs hook) and `render --check` stop on it, naming file and section."""
    import os
    import subprocess
    import sys

    copy = tmp_path / "repo"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(".git", ".nox", ".cache", "site",
                                                              "dist", "node_modules"))  # fmt: skip
    module = copy / "snippets" / "sequences.py"
    module.write_text(module.read_text().replace("# --8<-- [end:setup]", "# --8<-- [ned:setup]"))
    check = subprocess.run([sys.executable, "-m", "snippets.render", "--check"], cwd=copy,
                           capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 2
    assert "snippets/sequences.py: section 'setup' starts at line" in check.stderr
    assert "`# --8<-- [end:setup]`" in check.stderr
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d",
                            str(tmp_path / "site")], cwd=copy, capture_output=True, text=True,
                           env=env)  # fmt: skip
    assert build.returncode != 0
    said = build.stdout + build.stderr  # the first page that includes the file stops the build
    assert "snippets/sequences.py: " in said and "`# --8<-- [ned:setup]` is no marker" in said
    assert "`# --8<-- [end:NAME]`" in said or "`# --8<-- [end:setup]`" in said


def test_prices_with_dollars_stay_text_and_formulas_stay_maths():
    """arithmatex's inline $...$ took "$5-$10" for maths (a dollar before a non-space and one
    after a non-space: smart_dollar's rule) but not "$5 to $10"; the site writes inline maths
    as \\( ... \\) only, so no price is ever maths."""
    import markdown
    from mkdocs.config import load_config

    config = load_config(str(REPO / "mkdocs.yml"))["mdx_configs"]["pymdownx.arithmatex"]
    md = markdown.Markdown(extensions=["pymdownx.arithmatex"],
                           extension_configs={"pymdownx.arithmatex": config})  # fmt: skip
    for text in ("It costs $5-$10 per student.", "It costs $5 to $10.", "$x$ and $5$"):
        converted = md.reset().convert(text)
        assert "arithmatex" not in converted and "$" in converted, text
        assert converted == f"<p>{text}</p>"
    converted = md.reset().convert("The loss \\(-\\log P\\).\n\n$$\nP = \\prod_n p_n\n$$")
    assert converted.count('class="arithmatex"') == 2
    for page in PAGES:  # no page still writes inline maths with dollars
        prose = re.sub(r"```.*?```|`[^`\n]*`|^\$\$$.*?^\$\$$", "", page.read_text(),
                       flags=re.S | re.M)  # fmt: skip
        assert not re.search(r"\$[^\s$][^$\n]*?[^\s$]\$", prose), page.name
