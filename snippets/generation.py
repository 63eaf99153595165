"""Text generation with a transformers pipeline, and the knobs that shape it.

A ``text-generation`` pipeline wraps tokenizer, model and decoding loop: it tokenizes
the prompt, asks the model for next-token probabilities, picks a token (the most likely
one, or a random draw), appends it and repeats.

Decoding parameters (transformers ``GenerationConfig``,
https://huggingface.co/docs/transformers/en/generation_strategies): ``max_new_tokens``
(how many tokens to add), ``do_sample`` (draw at random instead of taking the most
likely token), ``temperature`` (divides the logits: below 1 sharpens, above 1 flattens
the distribution), ``top_k`` (draw only among the k most likely tokens), ``top_p`` (draw
only among the most likely tokens whose probabilities add up to p)."""

from __future__ import annotations

from snippets.sequences import next_token_logits

# --8<-- [start:setup]
PROMPT = "My dog really wanted to eat icecream because"
# --8<-- [end:setup]


# --8<-- [start:load]
def load_generator(checkpoint: str, revision: str | None = None, device: str = "cpu"):
    """A ``text-generation`` pipeline: tokenizer, model and decoding loop in one object.

    GPT-2 has no padding token, and a batch of prompts of different lengths needs one:
    the end-of-text token pads, on the left, since a decoder continues from the right
    end."""
    from transformers import AutoTokenizer, pipeline
    tokenizer = AutoTokenizer.from_pretrained(checkpoint, revision=revision)
    tokenizer.pad_token = tokenizer.eos_token  # <|endoftext|>, id 50256
    tokenizer.padding_side = "left"
    return pipeline(
        "text-generation",
        model=checkpoint,  # "openai-community/gpt2" on the hub, or a local folder
        tokenizer=tokenizer,
        revision=revision,
        device=device,
        model_kwargs={
            "attn_implementation": "eager"
        },  # keep attention weights (bertviz)
    )


# --8<-- [end:load]


# --8<-- [start:pipeline]
def example_five_continuations(generator):
    """Five continuations of one prompt, drawn at random from the model's
    distribution."""
    outputs = generator(
        PROMPT,
        # count new tokens only (max_length would count the prompt too)
        max_new_tokens=30,
        num_return_sequences=5,  # five independent draws
        do_sample=True,  # draw each token at random from the model's distribution
    )
    for number, output in enumerate(outputs, start=1):
        print(f"{number}. {output['generated_text']!r}")


# --8<-- [end:pipeline]


# --8<-- [start:model-name]
def model_name(generator) -> str:
    """A generator's model as its configuration describes it: architecture and size."""
    model = generator.model
    return f"{model.config.model_type}, {model.num_parameters() / 1e6:.1f} M parameters"


# --8<-- [end:model-name]


# --8<-- [start:two-generators]
def example_two_generators(trained_gpt2, generator):
    """The lecture's prompt continued by two models with the same call, three draws
    each: the tiny GPT-2 trained above on the lecture's small corpus, and the page's
    pretrained text generator."""
    tiny_model, _ = trained_gpt2
    tiny = load_generator(tiny_model.name_or_path)  # its folder, as a pipeline
    for pipe in (tiny, generator):
        print(model_name(pipe))
        outputs = pipe(
            PROMPT, max_new_tokens=25, num_return_sequences=3, do_sample=True
        )
        for number, output in enumerate(outputs, start=1):
            print(f"  {number}. {output['generated_text']!r}")


# --8<-- [end:two-generators]


# --8<-- [start:one-liner]
def example_seed_one_liner(generator):
    """The lecture's one-liner as written: it names no decoding setting, so the
    pipeline's own defaults decide, and ``max_length=20`` counts the prompt's tokens
    too."""
    from transformers import GenerationConfig
    outputs = generator(PROMPT, max_length=20, num_return_sequences=5)
    prompt_length = len(generator.tokenizer(PROMPT).input_ids)
    print(f"prompt: {prompt_length} tokens")
    for number, output in enumerate(outputs, start=1):
        length = len(generator.tokenizer(output["generated_text"]).input_ids)
        new_tokens = length - prompt_length
        print(f"{number}. ({new_tokens:2} new tokens) {output['generated_text']!r}")
    # The pipeline's own defaults, for what a call leaves unset. Both lookups below
    # read private attributes (the leading underscore): transformers can rename them
    # in any release, so use them to look, never in code you keep.
    own = generator._default_generation_config
    print(
        f"the pipeline's defaults: max_new_tokens={own.max_new_tokens}, "
        f"do_sample={own.do_sample}, temperature={own.temperature}"
    )
    # What the pipeline hands to model.generate() for this call: the call's own
    # arguments, plus its defaults for what the call and the model's config leave unset.
    call = {"max_length": 20, "num_return_sequences": 5}
    print(f"generate() receives: {generator._prepare_generate_kwargs(call)}")
    defaults = GenerationConfig._get_default_generation_params()  # the last resort
    top_k, top_p = defaults["top_k"], defaults["top_p"]
    print(f"and takes from its own defaults: top_k={top_k}, top_p={top_p}")


# --8<-- [end:one-liner]


# --8<-- [start:length-limit]
def example_length_limit(trained_gpt2):
    """A model reads at most as many tokens as it has positions (here the tiny GPT-2's
    128). ``handle_long_generation="hole"`` cuts the prompt's oldest tokens to leave
    room for the new ones, and refuses a request that cannot fit at all."""
    tiny_model, _ = trained_gpt2
    generator = load_generator(tiny_model.name_or_path)  # its folder, as a pipeline
    limit = generator.tokenizer.model_max_length  # 1024 for GPT-2, 128 here
    long_prompt = "The kitten found the cake. " * limit + PROMPT  # > limit tokens
    n_tokens = len(generator.tokenizer(long_prompt).input_ids)
    print(f"positions: {limit}; the long prompt: {n_tokens}")
    (output,) = generator(
        long_prompt, max_new_tokens=10, do_sample=False, handle_long_generation="hole"
    )
    print(f"continuation: {output['generated_text'][len(long_prompt) :]!r}")
    try:
        generator(PROMPT, max_new_tokens=limit, handle_long_generation="hole")
    except (
        ValueError
    ) as error:  # limit new tokens + the prompt cannot fit in limit positions
        print(f"ValueError: {error}")


# --8<-- [end:length-limit]


# --8<-- [start:batch]
PROMPTS = [
    "My dog really wanted to eat icecream because",
    "The kitten found the cake",
    "Our parrot was happy in the garden and",
]


def example_batch_of_prompts(instruct_generator):
    """A batch of prompts through SmolLM2 at once, padded on the left to the longest:
    the pipeline returns one list of outputs per prompt."""
    outputs = instruct_generator(
        PROMPTS, batch_size=len(PROMPTS), max_new_tokens=15, do_sample=False
    )
    for prompt, (output,) in zip(PROMPTS, outputs, strict=True):
        print(f"{prompt!r} -> {output['generated_text'][len(prompt) :]!r}")


# --8<-- [end:batch]


# --8<-- [start:settings]
SETTINGS = {
    "greedy": dict(do_sample=False),
    "T=0.7, top-k 50": dict(do_sample=True, temperature=0.7, top_k=50),
    "T=1.0, top-p 0.9": dict(do_sample=True, temperature=1.0, top_p=0.9, top_k=0),
    "T=1.8, top-k 0": dict(do_sample=True, temperature=1.8, top_k=0),
    "greedy, 5 tokens": dict(do_sample=False, max_new_tokens=5),
}


def example_settings_table(instruct_generator, trained_gpt2):
    """One prompt under five decoding settings of SmolLM2, then the greedy setting of
    the tiny GPT-2 that the lecture trains: six parameter/model combinations side by
    side."""
    tiny_model, _ = trained_gpt2
    tiny = load_generator(tiny_model.name_or_path)  # its folder, as a pipeline
    runs = [(instruct_generator, name) for name in SETTINGS] + [(tiny, "greedy")]
    print(f"prompt: {PROMPT!r}\n")
    print(f"| {'model':25} | {'setting':16} | continuation")
    print(f"|{'-' * 27}|{'-' * 18}|{'-' * 40}")
    for pipe, name in runs:
        options = {"max_new_tokens": 20, **SETTINGS[name]}
        (output,) = pipe(PROMPT, **options)
        continuation = output["generated_text"][len(PROMPT) :].replace("\n", " ")
        print(f"| {model_name(pipe):25} | {name:16} | {continuation!r}")


# --8<-- [end:settings]


# --8<-- [start:stop-strings]
def example_stop_strings(generator):
    """Stopping at a string rather than a token count: ``stop_strings`` needs the
    tokenizer too, to find where a string ends among the tokens."""
    (output,) = generator(
        PROMPT,
        max_new_tokens=30,
        do_sample=False,
        stop_strings=["."],  # stop once the text generated so far contains a full stop
        tokenizer=generator.tokenizer,
    )
    print(repr(output["generated_text"]))
    try:
        generator(PROMPT, max_new_tokens=30, do_sample=False, stop_strings=["."])
    except ValueError as error:
        print(f"without tokenizer=: ValueError: {str(error).split('.')[0]}.")


# --8<-- [end:stop-strings]


# --8<-- [start:temperature]
def example_temperature(instruct_generator):
    """SmolLM2's next-token probabilities after the prompt at three temperatures: low
    temperature piles the probability on the top token, high temperature spreads it
    over many."""
    import matplotlib.pyplot as plt
    import torch
    model, tokenizer = instruct_generator.model, instruct_generator.tokenizer
    # next_token_logits: defined on the page "Modeling sequential data"
    logits = next_token_logits(model, tokenizer, PROMPT).float()  # (vocab_size,)
    top_ids = torch.topk(logits, k=10).indices
    labels = [repr(tokenizer.decode(i)) for i in top_ids]
    fig, axes = plt.subplots(1, 3, figsize=(8, 3.4), sharex=True, sharey=True)
    for ax, temperature in zip(axes, (0.5, 1.0, 2.0), strict=True):
        probabilities = torch.softmax(logits / temperature, dim=-1)  # (vocab_size,)
        ax.barh(range(10), probabilities[top_ids].cpu().numpy(), color="tab:blue")
        ax.set_title(f"temperature {temperature}")
        ax.set_xlabel("P(next token)")
    axes[0].set_yticks(range(10), labels)  # the ten tokens, most likely at the top
    axes[0].invert_yaxis()
    fig.tight_layout()
    return fig


# --8<-- [end:temperature]


# --8<-- [start:logits]
def example_next_token_logits(instruct_generator):
    """SmolLM2's 30 most likely next tokens after the prompt and their logits, the data
    of the temperature dial: it turns them into probabilities, softmax(logits / T), as
    you move it."""
    import torch
    model, tokenizer = instruct_generator.model, instruct_generator.tokenizer
    logits = next_token_logits(model, tokenizer, PROMPT).float()  # (vocab_size,)
    top = torch.topk(logits, k=30)  # the 30 largest logits and their ids, largest first
    return {
        "prompt": PROMPT,
        "tokens": [tokenizer.decode(i) for i in top.indices],
        "ids": top.indices.tolist(),
        "logits": [round(value, 4) for value in top.values.tolist()],
    }


# --8<-- [end:logits]
