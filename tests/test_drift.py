"""The drift report's comparison engine and report, on synthetic before/after renders."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from snippets.render import drift
from snippets.render import manifest as mf
from snippets.render.compare import compare_renders, json_differences
from snippets.render.views import read_params


def _entry(example_id: str, outputs: dict[str, str], warnings: list[str]) -> mf.Entry:
    parts = {"code": "0" * 64, "models": [], "profile": "offline", "device": "cpu", "seed": 1,
             "dtype": "float32", "versions": {}}  # fmt: skip
    return mf.Entry(example_id, "snippets/x.py:1", "example_x", "A caption.", mf.cache_key(parts),
                    parts, [], "cpu (x86_64)", outputs, {"versions": {}}, warnings)  # fmt: skip


def _render(folder: Path, files: dict[str, dict[str, bytes]], warned: dict[str, list[str]]):
    """A folder of outputs and its manifest: ``files`` maps example ids to their files."""
    folder.mkdir(parents=True)
    entries = {}
    for example_id, outputs in files.items():
        digests = {}
        for name, data in {**outputs, f"{example_id}.md": b"<figure>caption</figure>"}.items():
            (folder / name).write_bytes(data)
            digests[name] = mf.sha256_file(folder / name)
        entries[example_id] = _entry(example_id, digests, warned.get(example_id, []))
    mf.Manifest(entries, folder).write()
    return folder


def _png(changed: int, colour: tuple[int, int, int] = (255, 0, 0)) -> bytes:
    """A 10 x 10 white PNG whose first ``changed`` pixels (row by row) are ``colour``."""
    import io

    from PIL import Image

    image = Image.new("RGB", (10, 10), "white")
    for index in range(changed):
        image.putpixel((index % 10, index // 10), colour)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _view(weight: float, token: str = "b") -> bytes:
    params = {"attention": [{"name": None, "attn": [[[[0.5, 0.5], [1 - weight, weight]]]],
                             "left_text": ["a", token], "right_text": ["a", token]}]}  # fmt: skip
    return f"<script>\nconst params = {json.dumps(params)}\n</script>".encode()


@pytest.fixture
def renders(tmp_path: Path) -> tuple[Path, Path, dict]:
    before = _render(tmp_path / "before", {
        "same": {"same.txt": b"unchanged\n"},
        "text": {"text.txt": b"Paris\nis\n<b>big</b>\n"},
        "figure": {"figure.png": _png(0)},
        "view": {"view.html": _view(0.75)},
        "data": {"data.json": b'{"tokens": [{"id": 1, "p": 0.25}], "total": 1}\n'},
        "warns": {"warns.txt": b"x\n"},
        "fails": {"fails.txt": b"y\n"},
        "noisy": {"noisy.png": _png(0), "noisy.html": _view(0.75),
                  "noisy.json": b'{"p": [0.25, 0.5], "token": "a"}\n'},
    }, {"fails": ["UserWarning: old"]})  # fmt: skip
    after = _render(tmp_path / "after", {
        "same": {"same.txt": b"unchanged\n"},
        "text": {"text.txt": b"Paris\nwas\n<b>big</b>\n"},
        "figure": {"figure.png": _png(5)},
        "view": {"view.html": _view(0.7)},
        "data": {"data.json": b'{"tokens": [{"id": 1, "p": 0.5}], "total": 1}\n'},
        "warns": {"warns.txt": b"x\n"},
        # what another CPU makes: a pixel one level off, weights and numbers in the last digit
        "noisy": {"noisy.png": _png(1, (255, 255, 254)), "noisy.html": _view(0.7502),
                  "noisy.json": b'{"p": [0.2501, 0.5], "token": "a"}\n'},
    }, {"warns": ["FutureWarning: new"]})  # fmt: skip
    # the page fragment of "same" differs (its provenance line): not an output change
    (after / "same.md").write_text("<figure>caption · transformers 9.9.9</figure>")
    failures = {"fails": {"status": "failed", "error": "fails (snippets/x.py:3): ValueError: no",
                          "traceback": "Traceback (most recent call last):\nValueError: no\n",
                          "warnings": []}}  # fmt: skip
    return before, after, failures


def test_each_kind_of_output_is_compared_in_its_own_terms(renders, tmp_path: Path):
    before, after, failures = renders
    assets = tmp_path / "assets"
    found = {e.id: e for e in compare_renders(before, after, failures, assets)}
    assert {i: e.status for i, e in found.items()} == {
        "same": "identical", "text": "changed", "figure": "changed", "view": "changed",
        "data": "changed", "warns": "changed", "fails": "failed", "noisy": "within tolerance",
    }  # fmt: skip
    noise = {change.name: change for change in found["noisy"].changes}
    assert all(change.within for change in noise.values())
    assert noise["noisy.png"].summary == (
        "1.00% of pixels differ (1 of 100), by at most 1 of 255 levels"
    )
    assert noise["noisy.html"].measure == pytest.approx(0.0002)
    assert noise["noisy.json"].measure == pytest.approx(0.0001)
    (text,) = found["text"].changes
    assert text.kind == "text" and text.summary == "2 line(s) differ"
    assert "-is" in text.diff and "+was" in text.diff and " Paris" in text.diff
    (figure,) = found["figure"].changes
    assert figure.kind == "figure" and figure.measure == pytest.approx(0.05)
    assert figure.summary == "5.00% of pixels differ (5 of 100), by at most 255 of 255 levels"
    from PIL import Image

    diff_image = Image.open(assets / figure.images[2])
    assert diff_image.getpixel((0, 0)) == (220, 0, 0) and diff_image.getpixel((9, 9)) != (220, 0, 0)
    assert (assets / figure.images[0]).read_bytes() == (before / "figure.png").read_bytes()
    (view,) = found["view"].changes
    assert view.kind == "view" and view.measure == pytest.approx(0.05)
    assert "largest attention-weight difference 0.0500" in view.summary
    (data,) = found["data"].changes
    assert data.diff == "$.tokens[0].p: 0.25 -> 0.5" and data.measure == pytest.approx(0.25)
    assert found["warns"].changes == [] and found["warns"].warnings_appeared == [
        "FutureWarning: new"
    ]
    failed = found["fails"]
    assert failed.error.endswith("ValueError: no") and "Traceback" in failed.traceback
    assert failed.warnings_vanished == ["UserWarning: old"]


def test_tokens_or_shapes_that_change_in_a_view_are_named():
    from snippets.render.compare import compare_view

    change = compare_view("v.html", _view(0.75).decode(), _view(0.75, token="c").decode())
    assert "tokens changed" in change.summary
    assert read_params(_view(0.5).decode())["attention"][0]["left_text"] == ["a", "b"]
    assert json_differences({"a": [1, 2]}, {"a": [1, 2, 3], "b": 0}) == [
        ("$.a", [1, 2], [1, 2, 3]),
        ("$.b", "<absent>", 0),
    ]


def test_the_report_escapes_outputs_and_says_what_failed(renders, tmp_path: Path):
    before, after, failures = renders
    (after / "text.txt").write_text("<script>alert(1)</script>\n")
    examples = compare_renders(before, after, failures, tmp_path / "assets")
    found = drift.Drift("2026-12-03 12:00 UTC", "newest",
                        [("transformers", "5.24.0", "5.25.0")], examples,
                        [drift.Step("render", 1.5, True)],
                        {"passed": 40, "skipped": 4, "failures": []})  # fmt: skip
    assert found.exit_status == 2  # an example failed
    page = drift.report_html(found)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "assets/figure.diff.png" in page and "Traceback" in page
    summary = drift.summary_markdown(found)
    assert "| transformers | 5.24.0 | 5.25.0 |" in summary
    assert "5 changed, 1 identical, 1 within tolerance, 1 failed of 8 examples" in summary
    assert "`noisy.html`: largest attention-weight difference 0.0002" in summary
    assert "- `fails`: fails (snippets/x.py:3): ValueError: no" in summary
    assert "warnings appeared: ['FutureWarning: new']" in summary
    same = [e for e in examples if e.status in ("identical", "within tolerance")]
    unchanged = drift.Drift("t", "locked", [], same, [], {"passed": 1, "skipped": 0,
                            "failures": []})  # fmt: skip
    assert unchanged.exit_status == 0  # float noise is no change: the weekly job adopts nothing
    assert unchanged.verdict().startswith("0 changed, 1 identical, 1 within tolerance, 0 failed")
    changed = drift.Drift("t", "newest", [], [e for e in examples if e.status == "changed"],
                          [], {"passed": 1, "skipped": 0, "failures": []})  # fmt: skip
    assert changed.exit_status == 1


def test_accept_refuses_when_anything_failed(renders, tmp_path: Path):
    before, after, failures = renders
    failed = drift.Drift("t", "newest", [], compare_renders(before, after, failures), [],
                         {"passed": 1, "skipped": 0, "failures": []})  # fmt: skip
    manifest = mf.GENERATED_DIR / mf.MANIFEST_NAME
    text = manifest.read_bytes()
    with pytest.raises(drift.DriftError, match="refusing to accept"):
        drift.accept(failed, tmp_path, after, Path("python"))
    assert manifest.read_bytes() == text


def test_an_accept_that_fails_after_adopting_the_outputs_says_what_it_changed(
    renders, monkeypatch, capsys, tmp_path: Path
):
    """Rewriting the notebooks fails after the outputs were adopted: the message says that
    docs/generated/ holds the candidate and how to undo it, and locks/ is left as it was."""
    import shutil

    before, after, _ = renders
    (after / mf.TIMINGS_NAME).write_text("{}\n")
    clean = drift.Drift("t", "newest", [], compare_renders(before, after, {}), [],
                        {"passed": 1, "skipped": 0, "failures": []})  # fmt: skip
    assert not clean.failed
    site, candidate, committed = tmp_path / "generated", tmp_path / "candidate", tmp_path / "locks"
    shutil.copytree(before, site)
    real_locks = drift.lock.LOCK_DIR
    shutil.copytree(real_locks, committed)
    candidate.mkdir()
    for name in drift.lock.LOCK_FILES:
        (candidate / name).write_text("# the candidate lock\n")
    monkeypatch.setattr(mf, "GENERATED_DIR", site)
    monkeypatch.setattr(drift.lock, "LOCK_DIR", committed)
    monkeypatch.setattr(drift, "run", lambda *a, **k: (clean, candidate, after, Path("/bin/false")))
    assert drift.main(["--accept", "--report-dir", str(tmp_path / "report")]) == 2
    err = capsys.readouterr().err
    assert "rewriting the notebooks failed (exit 1)" in err
    assert "docs/generated/ holds the candidate's outputs, locks/ is unchanged" in err
    assert "`git checkout docs/generated docs/notebooks` undoes it" in err
    assert (site / "text.txt").read_bytes() == (after / "text.txt").read_bytes()
    assert not (site / "fails.txt").exists()  # no example of the candidate writes it
    for name in drift.lock.LOCK_FILES:
        assert (committed / name).read_bytes() == (real_locks / name).read_bytes()


def test_accept_with_nothing_new_adopts_nothing(renders, monkeypatch, capsys, tmp_path: Path):
    """The committed lock and no output changed beyond float noise: --accept writes nothing (a
    re-render's new timings, or another CPU's last digits, are no reason for a pull request)."""
    before, after, _ = renders
    examples = [e for e in compare_renders(before, after, {}) if e.id in {"same", "noisy"}]
    assert [e.status for e in examples] == ["within tolerance", "identical"]
    same = drift.Drift("t", "locked", [], examples, [],
                       {"passed": 1, "skipped": 0, "failures": []})  # fmt: skip
    assert same.exit_status == 0

    def adopt(*args):
        raise AssertionError("accepted although nothing is new")

    monkeypatch.setattr(drift, "accept", adopt)
    monkeypatch.setattr(drift, "run", lambda *a, **k: (same, tmp_path, before, Path("python")))
    assert drift.main(["--locked", "--accept", "--report-dir", str(tmp_path / "report")]) == 0
    assert "nothing to adopt: the candidate lock is the committed one" in capsys.readouterr().err


def test_a_failed_step_is_reported_with_what_was_kept(monkeypatch, capsys):
    def no_network(*args, **kwargs):
        raise drift.DriftError(
            "making the candidate lock failed: uv pip compile failed: no network"
        )

    monkeypatch.setattr(drift, "run", no_network)
    assert drift.main([]) == 2
    err = capsys.readouterr().err
    assert (
        "no network" in err and "docs/generated/, docs/notebooks/ and locks/ are untouched" in err
    )


def test_an_interrupted_run_touches_nothing(monkeypatch, capsys, tmp_path: Path):
    """Ctrl-C in the middle of the render: the committed outputs, notebooks and lock stay as
    they were, and the message says so (kill -9 is the same: nothing is written to them before
    --accept)."""
    watched = [mf.GENERATED_DIR / mf.MANIFEST_NAME, drift.lock.LOCK_DIR / "linux-cpu.txt",
               mf.REPO_ROOT / "docs" / "notebooks" / "lecture.ipynb"]  # fmt: skip
    before = [path.read_bytes() for path in watched]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(drift, "WORK_DIR", tmp_path / "work")
    monkeypatch.setattr(drift, "candidate_environment", lambda *args: Path(sys.executable))
    monkeypatch.setattr(drift, "render_candidate", interrupted)
    assert drift.main(["--locked", "--accept", "--report-dir", str(tmp_path / "report")]) == 130
    assert "interrupted; docs/generated/, docs/notebooks/ and locks/ are untouched" in (
        capsys.readouterr().err
    )
    assert [path.read_bytes() for path in watched] == before


def test_a_run_that_fails_early_replaces_the_last_report_with_its_own(monkeypatch, tmp_path):
    """A failed run must not leave the previous (green) report in place."""
    report = tmp_path / "report"
    report.mkdir()
    (report / "summary.md").write_text("0 changed, 43 unchanged, 0 failed (an older run)")

    def unresolvable(work, mode, packages):
        raise drift.DriftError("making the candidate lock failed: transformers==99.0.0 ...")

    monkeypatch.setattr(drift, "WORK_DIR", tmp_path / "work")
    monkeypatch.setattr(drift, "candidate_lock", unresolvable)
    status = drift.main(["--upgrade-package", "transformers==99.0.0", "--report-dir", str(report)])
    assert status == 2
    summary = (report / "summary.md").read_text()
    assert "an older run" not in summary and "step candidate lock failed" in summary
    assert json.loads((report / "drift.json").read_text())["exit_status"] == 2
    assert "transformers==99.0.0" in (report / "index.html").read_text()
