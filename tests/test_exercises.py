"""The homework's self-checks (snippets/exercises.py) and its folded solutions: a wrong or
malformed answer is told what is wrong without the solution, a right one is told so; the
solutions are folded on the site, at the end of the chapter on the print page, and marked in
the homework notebook."""

from __future__ import annotations

import pytest
import torch

from snippets.exercises import attention_problems, check_attention, check_settings, setting_problems

GPT2, SMOLLM2 = "openai-community/gpt2", "HuggingFaceTB/SmolLM2-135M-Instruct"
GOOD_PLAN = [
    (SMOLLM2, {"do_sample": False}),
    (SMOLLM2, {"do_sample": True, "temperature": 0.7, "top_k": 50}),
    (SMOLLM2, {"do_sample": True, "top_p": 0.9}),
    (GPT2, {"do_sample": False, "max_new_tokens": 5}),
]


def test_a_good_plan_is_told_so(capsys):
    assert check_settings(GOOD_PLAN) is True
    assert capsys.readouterr().out == (
        "✓ 4 combinations of 2 models, every setting valid and used: run them and compare the "
        "texts\n"
    )


@pytest.mark.parametrize(
    ("plan", "problem"),
    [
        ("greedy, then sampled", "expected a list of (model id, settings) pairs, got a str"),
        ([*GOOD_PLAN[:3], "gpt2"], "combination 4 is not a (model id, settings) pair"),
        ([*GOOD_PLAN[:3], (GPT2, "do_sample=False")], "combination 4: expected (str, dict)"),
        ([*GOOD_PLAN, (GPT2, {"top_kk": 5, "do_sample": True})],
         "combination 5: generate() has no argument 'top_kk': did you mean 'top_k'?"),
        ([*GOOD_PLAN, (GPT2, {"do_sample": True, "temperature": 0})],
         "combination 5: temperature must be a number above 0, not 0"),
        ([*GOOD_PLAN, (GPT2, {"do_sample": True, "top_p": 90})],
         "combination 5: top_p is a share of the probability, between 0 and 1, not 90"),
        ([*GOOD_PLAN, (GPT2, {"max_new_tokens": 2.5, "do_sample": False})],
         "combination 5: max_new_tokens must be a whole number, 0 or more, not 2.5"),
        ([*GOOD_PLAN, (GPT2, {"do_sample": False, "temperature": 0.5})],
         "combination 5: greedy decoding (do_sample=False) ignores temperature"),
        ([*GOOD_PLAN, (GPT2, {"top_k": 5})],
         "combination 5 sets top_k without do_sample: a pipeline then samples (its default)"),
        ([*GOOD_PLAN, GOOD_PLAN[0]], "combinations 1 and 5 are the same"),
        (GOOD_PLAN[:3], "3 different combination(s): the homework asks for at least four"),
        ([(GPT2, s) for _, s in GOOD_PLAN], "every combination uses the same model"),
        ([*GOOD_PLAN, (GPT2, {"do_sample": True, "top_k": [5]})],
         "combination 5: top_k must be a whole number, 0 or more, not [5]"),
    ],
)  # fmt: skip
def test_a_wrong_or_malformed_plan_is_told_what_is_wrong(plan, problem, capsys):
    assert check_settings(plan) is False
    out = capsys.readouterr().out
    assert f"✗ {problem}" in out
    assert "✓" not in out


def test_the_worked_plan_passes_and_the_tried_plan_does_not():
    from snippets.generation import SETTINGS

    worked = [(SMOLLM2, {"max_new_tokens": 20, **s}) for s in SETTINGS.values()]
    assert setting_problems([*worked, (GPT2, {"do_sample": False})]) == []


def test_what_the_check_says_of_a_setting_without_do_sample_holds(instruct_generator):
    """A pipeline given a temperature alone samples (its default); model.generate() given a
    temperature alone decodes greedily, as the check's message says."""
    from transformers import set_seed

    prompt = "My dog really wanted to eat icecream because"
    greedy = instruct_generator(prompt, max_new_tokens=5, do_sample=False)[0]["generated_text"]
    sampled = set()
    for seed in range(2):
        set_seed(seed)
        (output,) = instruct_generator(prompt, max_new_tokens=5, temperature=1.8)
        sampled.add(output["generated_text"])
    assert sampled - {greedy}  # the pipeline sampled
    model, tokenizer = instruct_generator.model, instruct_generator.tokenizer
    ids = tokenizer(prompt, return_tensors="pt").input_ids
    hot = model.generate(ids, max_new_tokens=5, temperature=1.8)  # transformers logs a warning
    assert tokenizer.decode(hot[0], skip_special_tokens=True) == greedy


# -- The attention self-check ---------------------------------------------------------------

TEXT = "The animal didn't cross the street because it was too tired"


@pytest.fixture(scope="module")
def model_weights(instruct_generator):
    """The model's weights of layer 5, head 2: what only the tests may look at."""
    ids = instruct_generator.tokenizer(TEXT, return_tensors="pt").input_ids
    with torch.no_grad():
        return instruct_generator.model(ids, output_attentions=True).attentions[5][0, 2]


def _problems(instruct_generator, weights, layer=5, head=2):
    model, tokenizer = instruct_generator.model, instruct_generator.tokenizer
    return attention_problems(model, tokenizer, TEXT, layer, head, weights)


def test_the_right_weights_are_told_so(instruct_generator, model_weights, capsys):
    model, tokenizer = instruct_generator.model, instruct_generator.tokenizer
    assert check_attention(model, tokenizer, TEXT, 5, 2, model_weights[None, None]) is True
    assert capsys.readouterr().out.startswith("✓ equal to the model's attention (layer 5, head 2)")
    assert check_attention(model, tokenizer, TEXT, 5, 2, model_weights.tolist()) is True


def _without_scaling(instruct_generator, layer=5, head=2):
    """The hand computation with one step left out: the scores not divided by sqrt(d_k)."""
    import snippets.attention_scratch as scratch

    model = instruct_generator.model
    _, out = scratch.run_with_internals(model, instruct_generator.tokenizer, TEXT)
    with torch.no_grad():
        q, k, _ = scratch.smollm2_qkv(model.model.layers[layer], model.config,
                                      out.hidden_states[layer])  # fmt: skip
        scores = q @ k.transpose(-2, -1) + scratch.causal_mask(q.size(-2))
    return torch.softmax(scores, dim=-1)[0, head]


def test_wrong_weights_are_told_what_is_wrong_without_the_model_s_weights(
    instruct_generator, model_weights
):
    T = model_weights.size(0)
    cases = {
        "shape (12, 13): the text has T = 12 tokens": torch.zeros(T, T + 1),
        "expected a (T, T) tensor of numbers, got str": "0.1 0.9",
        "row 0 holds NaN or infinity": torch.full((T, T), float("nan")),
        "some tokens attend to later tokens: add the causal mask": torch.full((T, T), 1 / T),
        "rows sum to": torch.tril(torch.ones(T, T)),
        "your rows are sharper than the model's: are the scores divided by sqrt(d_k)": (
            _without_scaling(instruct_generator)
        ),
        # each row's visible weights in reverse order: causal, sums to 1, the same spread
        "check the block's input": torch.stack(
            [torch.cat([row[: i + 1].flip(0), row[i + 1 :]]) for i, row in enumerate(model_weights)]
        ),
    }
    for start, weights in cases.items():
        problems = _problems(instruct_generator, weights)
        assert problems and any(start in p for p in problems), (start, problems)
        for value in model_weights.flatten().tolist():  # none of the model's numbers
            if 0.05 < value < 0.99:
                leaked = [p for p in problems if f"{value:.2f}" in p or f"{value:.3f}" in p]
                assert not leaked, (value, leaked)
    assert _problems(instruct_generator, model_weights, layer=30) == [
        "layer 30 does not exist: the model has layers 0 to 29"
    ]
    assert _problems(instruct_generator, model_weights, head=9) == [
        "head 9 does not exist: a layer has heads 0 to 8"
    ]


def test_a_model_without_attentions_is_named(gpt2_tokenizer):
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=16, attn_implementation="sdpa"))
    problems = attention_problems(model, gpt2_tokenizer, TEXT, 0, 0, torch.zeros(2, 2))
    assert problems == ['the model returns no attentions: load it with attn_implementation="eager"']


# -- Folded on the site, at the end of the chapter in print, marked in the notebook ----------


def test_solutions_are_folded_on_the_page_and_hints_too(built_site):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup((built_site / "homework.html").read_text(), "html.parser")
    solutions = soup.select("article details.solution")
    assert [s.summary.get_text(" ", strip=True) for s in solutions] == [
        "Worked solution to Homework 1 (try the tasks first)",
        "Worked solution to Homework 2 (try the tasks first)",
    ]
    assert all(not s.has_attr("open") for s in solutions)
    assert "generation-settings-table" in str(solutions[0])  # the worked table is folded
    assert "exercises-check-the-hand-computation" in str(solutions[1])
    assert len(soup.select("article details.tip")) == 5  # the hints
    assert not soup.select("article details.tip[open]")


def test_the_print_page_puts_solutions_at_the_end_of_their_chapter(built_site):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup((built_site / "print_page.html").read_text(), "html.parser")
    chapter = soup.find("section", id="homework")
    order = [e for e in chapter.descendants if getattr(e, "name", None)]  # document order
    heading = chapter.find("h2", id="homework-solutions")
    assert heading is not None and heading.get_text(strip=True) == "Solutions"
    after = [e for e in heading.find_next_siblings() if e.name]
    assert [e.name for e in after] == ["details", "details"]
    assert all(e.has_attr("open") and "solution" in e["class"] for e in after)
    pointers = chapter.select("p.solution-pointer")
    assert len(pointers) == 2
    for pointer, solution in zip(pointers, after, strict=True):
        assert pointer.a["href"] == f"#{solution['id']}"
        assert order.index(pointer) < order.index(heading)  # the pointer stays with the tasks
        assert pointer.get_text().startswith(solution.summary.get_text(strip=True))
    # the tasks and hints print in place, open
    assert all(d.has_attr("open") for d in chapter.select("details.tip"))
    contents = [a.get_text(" ", strip=True) for a in soup.select(".print-contents a")]
    assert any(text.endswith("Solutions") for text in contents)


def test_the_homework_notebook_marks_the_solutions():
    import nbformat

    from snippets.render.notebooks import NOTEBOOK_DIR

    cells = nbformat.read(NOTEBOOK_DIR / "homework.ipynb", as_version=4).cells
    sources = [c.source for c in cells]
    first = sources.index("### Worked solution to Homework 1 (try the tasks first)")
    second = sources.index("### Worked solution to Homework 2 (try the tasks first)")
    assert "PROMPTS = [" in sources[first + 1]  # the batch, the first block of the solution
    assert any("example_check_the_hand_computation(" in s for s in sources[second:])
    assert not any("example_check_the_hand_computation(" in s for s in sources[:second])


def test_a_bfloat16_model_is_checked_at_bfloat16_s_precision(instruct_generator):
    """Under the hub profile SmolLM2 loads in bfloat16 (its saved type): the hand computation
    runs in that type too, agrees within 1e-2, and the page's examples compare in a float32
    copy (in_float32) to 1e-5."""
    from transformers import AutoModelForCausalLM

    import snippets.attention_scratch as scratch
    from snippets.exercises import tolerance
    from snippets.profiles import checkpoint

    model = AutoModelForCausalLM.from_pretrained(
        checkpoint("instruct_generator").name_or_path, dtype=torch.bfloat16,
        attn_implementation="eager",
    ).eval()  # fmt: skip
    tokenizer = instruct_generator.tokenizer
    _, out = scratch.run_with_internals(model, tokenizer, TEXT)
    with torch.no_grad():
        weights, _ = scratch.smollm2_attention_by_hand(
            model.model.layers[5], model.config, out.hidden_states[5]
        )
    assert weights.dtype == torch.bfloat16 and tolerance(model) == 1e-2
    assert attention_problems(model, tokenizer, TEXT, 5, 2, weights[0, 2]) == []
    copy32 = scratch.in_float32(model)
    assert copy32.dtype == torch.float32 and model.dtype == torch.bfloat16  # a copy
    assert scratch.in_float32(instruct_generator.model) is instruct_generator.model
