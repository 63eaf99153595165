"""The comparison that decides whether a render reproduces the committed outputs: float noise
passes, a real change fails (:mod:`tests.reproduce`, :mod:`snippets.render.compare`).

Each "real change" is made to a copy of a committed output (or to a figure drawn by the lecture's
own code) and must come out beyond the tolerances, with a line that says what and by how much;
the same outputs moved by what another CPU moves them by stay within.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from snippets.render import manifest as mf
from snippets.render.compare import ACROSS_CPUS, EXACT
from snippets.render.views import read_params
from tests.reproduce import compare_outputs, same_entry

GENERATED = mf.GENERATED_DIR


def _copy(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "changed"
    folder.mkdir()
    for name in names:
        shutil.copyfile(GENERATED / name, folder / name)
    return folder


def _move_weight(html: str, by: float) -> str:
    """The view with one attention weight (layer 0, head 0, query 3, the first key it gives
    more than 0.1) moved by ``by``."""
    params = read_params(html)
    row = params["attention"][0]["attn"][0][0][3]
    column = next(i for i, w in enumerate(row) if w > 0.1)
    old = row[column]
    row[column] = round(old + by, 4)
    start = html.index("const params = ") + len("const params = ")
    end = json.JSONDecoder().raw_decode(html, start)[1]
    return html[:start] + json.dumps(params) + html[end:]


def test_one_word_of_a_text_is_a_change(tmp_path: Path):
    name = "generation-two-generators.txt"
    folder = _copy(tmp_path, name)
    text = (folder / name).read_text()
    word = next(w for w in text.split() if w.isalpha() and len(w) > 3)
    (folder / name).write_text(text.replace(word, word.upper(), 1))
    found = compare_outputs(GENERATED, folder, [name], ACROSS_CPUS)
    assert found.within == []
    line = _line_with(text, word)
    new = line.replace(word, word.upper(), 1)
    assert found.beyond == [f"{name}: 2 line(s) differ (-{line} | +{new})"]


def _line_with(text: str, word: str) -> str:
    return next(line for line in text.splitlines() if word in line)


def test_one_attention_weight_moved_by_a_hundredth_is_a_change(tmp_path: Path):
    name = "attention-head-view.html"
    for by, verdict in ((0.01, "beyond"), (0.0002, "within")):
        folder = tmp_path / str(by)
        folder.mkdir()
        (folder / name).write_text(_move_weight((GENERATED / name).read_text(), by))
        found = compare_outputs(GENERATED, folder, [name], ACROSS_CPUS)
        lines = getattr(found, verdict)
        assert lines == [f"{name}: largest attention-weight difference {by:.4f}"], found
        # two renders on one machine must agree byte for byte: any move is a change there
        exact = compare_outputs(GENERATED, folder, [name], EXACT)
        assert exact.within == [] and len(exact.beyond) == 1


def test_a_bar_moved_in_a_figure_is_a_change_and_float_noise_is_not(tmp_path: Path, monkeypatch):
    """The lecture's probability chart drawn three times by its own code: as the classifier
    gives it, with one bar's probability moved by 1e-7 (more than float32 noise moves it) and
    with it moved by 0.01."""
    import matplotlib.pyplot as plt

    from snippets import classification
    from snippets.render.outputs import figure_png, use_figure_fonts

    use_figure_fonts()
    probabilities = [0.9, 0.1, 0.8, 0.2, 0.55]

    def draw(moved: float) -> bytes:
        values = iter([*probabilities[:4], probabilities[4] + moved])

        def classify(model, tokenizer, sentence):
            p = next(values)
            return {"probabilities": [1 - p, p]}

        monkeypatch.setattr(classification, "classify", classify)
        config = type("Config", (), {"label2id": {"NEGATIVE": 0, "POSITIVE": 1}})
        figure = classification.example_probability_chart((type("M", (), {"config": config}), None))
        try:
            return figure_png(figure)
        finally:
            plt.close(figure)

    folders = {}
    for label, moved in (("committed", 0.0), ("noise", 1e-7), ("bar", 0.01)):
        folders[label] = tmp_path / label
        folders[label].mkdir()
        (folders[label] / "chart.png").write_bytes(draw(moved))
    noise = compare_outputs(folders["committed"], folders["noise"], ["chart.png"], ACROSS_CPUS)
    assert noise.beyond == []
    bar = compare_outputs(folders["committed"], folders["bar"], ["chart.png"], ACROSS_CPUS)
    assert bar.within == [] and len(bar.beyond) == 1
    assert bar.beyond[0].startswith("chart.png: ") and "by at most" in bar.beyond[0]


def test_a_figure_of_another_size_is_a_change(tmp_path: Path):
    from PIL import Image

    name = "classification-probability-chart.png"
    folder = _copy(tmp_path, name)
    image = Image.open(folder / name)
    image.crop((0, 0, image.width - 1, image.height)).save(folder / name)
    (line,) = compare_outputs(GENERATED, folder, [name], ACROSS_CPUS).beyond
    assert line.startswith(f"{name}: size ")


def test_widget_numbers_within_tolerance_and_a_changed_token_beyond(tmp_path: Path):
    name = "generation-next-token-logits.json"
    data = json.loads((GENERATED / name).read_text())
    for change, verdict in (("noise", "within"), ("token", "beyond"), ("logit", "beyond")):
        moved = json.loads(json.dumps(data))
        if change == "noise":
            moved["logits"][3] = round(moved["logits"][3] + 0.0001, 4)
        elif change == "token":
            moved["tokens"][1] = moved["tokens"][1] + "x"
        else:
            moved["logits"][0] = round(moved["logits"][0] + 0.01, 4)
        folder = tmp_path / change
        folder.mkdir()
        (folder / name).write_text(json.dumps(moved))
        found = compare_outputs(GENERATED, folder, [name], ACROSS_CPUS)
        assert len(getattr(found, verdict)) == 1, (change, found)


def test_a_manifest_entry_differs_only_by_its_machine():
    """The CPU class in the device's name and the Python version are the machine's; anything
    else of an entry (its key, caption, warnings, files) must match."""
    from dataclasses import replace

    entry = mf.Manifest.read().entries["attention-head-view"]
    other_cpu = replace(entry, device_name="cpu (x86_64, AVX2, MKL_ENABLE_INSTRUCTIONS=AVX2)",
                        provenance={**entry.provenance, "python": "3.11.99"})  # fmt: skip
    assert same_entry(entry, other_cpu) == []
    warned = replace(entry, warnings=["UserWarning: new"])
    assert same_entry(entry, warned) == [
        "manifest entry attention-head-view: warnings differs ([] -> ['UserWarning: new'])"
    ]


@pytest.mark.parametrize("variable", ["ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS"])
def test_the_cpu_class_names_what_limits_the_instruction_set(variable: str, monkeypatch):
    """The provenance's device names the architecture and the instruction-set level torch uses;
    a limit on MKL or oneDNN is named too. (torch reads ATEN_CPU_CAPABILITY once, at import:
    a subprocess shows it.)"""
    import subprocess
    import sys

    code = "from snippets.render.resolve import device_label; print(device_label('cpu'))"
    env = {"PATH": "/usr/bin:/bin", variable: "avx2" if variable.startswith("ATEN") else "AVX2"}
    label = subprocess.run([sys.executable, "-c", code], env=env, cwd=mf.REPO_ROOT,
                           capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    import platform

    if variable == "ATEN_CPU_CAPABILITY":
        assert label == f"cpu ({platform.machine()}, AVX2)"
    else:
        assert label.startswith(f"cpu ({platform.machine()}, ")
        assert label.endswith(", MKL_ENABLE_INSTRUCTIONS=AVX2)")
