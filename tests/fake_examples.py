"""Examples used by the renderer's tests (not part of the lecture)."""

from __future__ import annotations


def example_prints():
    """Prints one line."""
    print("hello from an example")


def example_raises():
    """Fails like a broken example would."""
    raise ValueError("the example is broken")


def example_figure():
    """Draws a line."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    return fig


def example_script():
    """Prints text a model might produce."""
    print("```\n<script>alert(1)</script>\n```")


def example_takes_encoder(encoder):
    """Shows what the renderer passed in."""
    print(f"got {encoder}")


def example_data():
    """Returns data a model might produce, for a widget."""
    return {"tokens": ["</script><script>alert(1)</script>", "<!--", "a & b"], "logits": [1.5, -2]}


def example_not_json():
    """Returns data JSON cannot hold."""
    return {"scores": {1, 2}}


def example_warns():
    """Prints, warns as Python and as transformers do, prints again."""
    import warnings

    from transformers.utils import logging

    print("before")
    warnings.warn("a Python warning from an example", UserWarning, stacklevel=1)
    logging.get_logger("transformers.fake").warning_once("a transformers warning")
    print("after")


def example_dies():
    """Ends its process the way a crash in native code would: no exception, no cleanup."""
    import os

    os._exit(3)


def example_exits():
    """Calls sys.exit, as a script would."""
    import sys

    sys.exit("stopped by the example")


def example_long_input(gpt2_tokenizer):
    """Tokenizes more tokens than GPT-2 has positions: the tokenizer warns (once per instance)."""
    print(len(gpt2_tokenizer("word " * 1100)["input_ids"]))


def example_interrupted():
    """Stands for a reader pressing Ctrl-C while the example runs: SIGINT to its process."""
    import os
    import signal
    import time

    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(5)  # the signal's handler raises KeyboardInterrupt before this ends


def example_raises_keyboard_interrupt():
    """Raises KeyboardInterrupt itself, with no Ctrl-C: its own failure, not the render's end."""
    raise KeyboardInterrupt


def example_sleeps():
    """Takes long: stands for work that Ctrl-C must not wait for."""
    import time

    time.sleep(20)
    print("slept")


def example_leaves_a_thread():
    """Starts a thread that keeps printing after the example returned."""
    import threading
    import time

    def tick() -> None:
        for number in range(40):
            print(f"tick {number}")
            time.sleep(0.05)

    threading.Thread(target=tick, name="ticker", daemon=True).start()


def example_writes_stderr():
    """Writes to stdout and stderr, as a notebook cell would show both."""
    import sys

    print("to stdout")
    print("to stderr", file=sys.stderr)
    print("stdout again")


def example_returns_an_object():
    """Returns something a page cannot show."""
    return object()


def example_prints_too_much():
    """Prints far more than a page should show."""
    print("x" * 200_000)


def example_flips_the_padding_side(trained_gpt2):
    """Changes the shared tokenizer (what a later example would silently inherit)."""
    model, tokenizer = trained_gpt2
    tokenizer.padding_side = "left" if tokenizer.padding_side == "right" else "right"
    print(tokenizer.padding_side)


def example_trains_the_shared_model(trained_gpt2):
    """Switches the shared model to training mode and nudges a weight in place."""
    import torch

    model, tokenizer = trained_gpt2
    model.train()
    with torch.no_grad():
        model.lm_head.weight[0, 0] += 1.0


def example_reads_the_shared_model(trained_gpt2):
    """Prints what the shared model and tokenizer are like."""
    model, tokenizer = trained_gpt2
    print(tokenizer.padding_side, model.training, round(model.lm_head.weight[0, 0].item(), 6))


def example_edits_weights_behind_autograd(trained_gpt2):
    """Changes a weight through ``.data`` (which torch's version counter does not see)."""
    model, tokenizer = trained_gpt2
    model.lm_head.weight.data[0, 0] += 1.0


def example_replaces_a_parameter(trained_gpt2):
    """Swaps a layer's bias for a new parameter."""
    import torch

    model, tokenizer = trained_gpt2
    model.transformer.ln_f.bias = torch.nn.Parameter(model.transformer.ln_f.bias + 1.0)


def example_changes_then_fails(trained_gpt2):
    """Changes the shared tokenizer, then fails."""
    model, tokenizer = trained_gpt2
    tokenizer.truncation_side = "left" if tokenizer.truncation_side == "right" else "right"
    raise ValueError("failed after changing the tokenizer")


def example_changes_process_settings():
    """Changes settings of the whole process, as a careless notebook cell would."""
    import logging
    import os
    import signal

    import matplotlib
    import numpy as np
    import torch

    torch.set_printoptions(precision=2)
    np.set_printoptions(precision=2)
    torch.set_default_dtype(torch.float64)
    torch.set_grad_enabled(False)
    matplotlib.rcParams["font.size"] = 20
    os.environ["LECTURE_TEST_VARIABLE"] = "set by an example"
    os.chdir("/")
    logging.disable(logging.WARNING)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def example_prints_process_settings():
    """Prints what the settings an example could change are now."""
    import logging
    import os
    import signal

    import matplotlib
    import torch

    print(torch.tensor([1.23456]), torch.get_default_dtype(), torch.is_grad_enabled())
    print(matplotlib.rcParams["font.size"], "LECTURE_TEST_VARIABLE" in os.environ)
    print(os.getcwd() != "/", logging.root.manager.disable, signal.getsignal(signal.SIGINT))


def example_hooks_the_shared_model(trained_gpt2):
    """Registers a forward hook that changes every output of the shared model."""
    model, tokenizer = trained_gpt2
    model.lm_head.register_forward_hook(lambda module, inputs, output: -output)


def example_patches_forward(trained_gpt2):
    """Replaces the shared model's forward method on the instance."""
    model, tokenizer = trained_gpt2
    original = model.forward
    model.forward = lambda *args, **kwargs: original(*args, **kwargs)


def example_lowercases_in_the_tokenizer(trained_gpt2):
    """Changes the tokenizer's backend pipeline."""
    from tokenizers.normalizers import Lowercase

    model, tokenizer = trained_gpt2
    tokenizer.backend_tokenizer.normalizer = Lowercase()


def example_data_with_int_keys():
    """Returns data whose keys JSON would turn into duplicate strings."""
    return {1: "one", "1": "uno"}


def example_too_much_data():
    """Returns more data than a page should embed."""
    return ["x" * 1000] * 200


def example_waits_to_be_killed():
    """Says which process runs it (an empty file named by its process id in the folder
    ``$LECTURE_TEST_MARKS``), then waits: a long example when its render is killed."""
    import os
    import time
    from pathlib import Path

    (Path(os.environ["LECTURE_TEST_MARKS"]) / str(os.getpid())).write_text("")
    time.sleep(60)


# Lines a model could print that Markdown extensions would act on if a page read them as
# Markdown: includes (pymdownx.snippets: a file, a block of file names, section markers, a path
# outside the repository), maths, attribute lists, abbreviations, emoji, a citation.
MARKDOWN_SYNTAX = [
    '--8<-- "pyproject.toml"',
    '  ;--8<-- "pyproject.toml"',
    "--8<--",
    "pyproject.toml",
    "--8<--",
    "-8<- 'pyproject.toml'",
    "--8<-- [start:section]",
    "text --8<-- [end:section] more",
    '--8<-- "../outside-the-repository.txt"',
    "$x$ and $$y$$ and \\(z\\)",
    "{: .injected #injected }",
    "*[HTML]: Hyper Text Markup Language",
    "HTML :smile: :+1: [@vaswani2017]",
]


def example_prints_markdown_syntax():
    """Prints lines that look like Markdown extensions' syntax."""
    print("\n".join(MARKDOWN_SYNTAX))


def example_returns_markdown_syntax():
    """Returns, for a widget, strings that look like Markdown extensions' syntax."""
    return {"lines": MARKDOWN_SYNTAX}


def _random_head_view(tokens: int, layers: int, heads: int):
    """A bertviz head view of random attention weights over ``tokens`` made-up tokens."""
    import torch
    from bertviz import head_view

    generator = torch.Generator().manual_seed(0)
    attention = tuple(
        torch.softmax(torch.randn(1, heads, tokens, tokens, generator=generator), dim=-1)
        for _ in range(layers)
    )  # each: (batch 1, heads, tokens, tokens)
    return head_view(attention, [f"t{i}" for i in range(tokens)], html_action="return")


def example_short_head_view():
    """An attention view of 12 tokens, 2 layers and 2 heads."""
    return _random_head_view(12, 2, 2)


def example_long_head_view():
    """An attention view of 200 tokens, 2 layers and 2 heads: too large for a page."""
    return _random_head_view(200, 2, 2)


def _titled_figure(title: str):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1])
    ax.set_title(title)
    return fig


def example_figure_in_other_scripts():
    """A figure titled in Chinese, with an emoji."""
    return _titled_figure("注意力 (attention) 😀")


def example_figure_with_a_glyph_no_font_has():
    """A figure titled with an emoji that none of the figure fonts has (U+1FAE0)."""
    return _titled_figure("melting \U0001fae0")


def example_diagram_of_an_encoder():
    """Draws the decoder diagram of a configuration the diagram does not know (BERT's)."""
    from transformers import BertConfig

    from snippets.diagrams import draw_decoder

    return draw_decoder(BertConfig(), "BERT")
