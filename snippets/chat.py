"""Chatting with an instruct model through its chat template.

A pretrained (*base*) language model learned one thing: to continue text. An *instruct*
model was then fine-tuned on conversations, each written out in one fixed format, so it
learned to read a user's turn and to write an assistant's turn after it. SmolLM2-135M-
Instruct was fine-tuned from the base SmolLM2-135M with supervised fine-tuning and then
direct preference optimization (its model card).

A chat is a list of messages, ``{"role": "user", "content": "..."}``. The tokenizer's
*chat template* (a Jinja template stored with the tokenizer) writes them out in the
format the model was fine-tuned on; SmolLM2 uses ChatML, where every turn is
``<|im_start|>role`` + newline + the content + ``<|im_end|>``.
``add_generation_prompt=True`` appends the opening of the assistant's turn, so that what
the model writes next is the answer; it ends its turn with ``<|im_end|>``, its
end-of-sequence token, and generation stops there.

References: the transformers guide to chat templates,
https://huggingface.co/docs/transformers/en/chat_templating; the SmolLM2-135M-Instruct
model card, https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct."""

from __future__ import annotations

# --8<-- [start:setup]
QUESTION = "What is the capital of France?"
# --8<-- [end:setup]


# --8<-- [start:check]
CHAT_ROLES = ("system", "user", "assistant")  # the roles of a ChatML conversation


def check_chat(messages: list[dict[str, str]]) -> None:
    """Raise ``ValueError`` unless ``messages`` is a chat a model can answer: every
    message a ``{"role", "content"}`` dict whose role is one of :data:`CHAT_ROLES`, a
    system message only first, and the last message the user's (the turn to answer)."""
    for number, message in enumerate(messages):
        role = message.get("role")
        if role not in CHAT_ROLES or not isinstance(message.get("content"), str):
            raise ValueError(
                f"message {number} has role {role!r}; a chat message is "
                f"{{'role': one of {CHAT_ROLES}, 'content': a string}}"
            )
        if role == "system" and number > 0:
            raise ValueError(
                f"message {number}: a system message comes first or not at all"
            )
    if not messages or messages[-1]["role"] != "user":
        raise ValueError(
            "a chat must end with a user message: the model answers the last user turn "
            f"(roles here: {[m['role'] for m in messages]})"
        )


# --8<-- [end:check]


# --8<-- [start:template]
def example_template(instruct_generator):
    """What the chat template makes of one user message: the default system prompt it
    adds, the user's turn, and with add_generation_prompt=True the opening of the
    assistant's turn, where the answer will start."""
    tokenizer = instruct_generator.tokenizer
    messages = [{"role": "user", "content": QUESTION}]
    check_chat(messages)
    for add in (False, True):
        text = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=add
        )
        print(f"--- add_generation_prompt={add}:")
        print(text, end="")
    inputs = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_dict=True
    )
    ids = inputs["input_ids"]
    print(f"--- as token ids ({len(ids)}): {ids}")
    for marker in (tokenizer.bos_token, tokenizer.eos_token):  # one token each
        print(f"{marker} is id {tokenizer.convert_tokens_to_ids(marker)}")
    print(f"end-of-sequence token: {tokenizer.eos_token}")


# --8<-- [end:template]


# --8<-- [start:answer]
def chat(instruct_generator, messages, max_new_tokens: int = 40, **generate_options):
    """The model's answer to the last user turn of ``messages``: the chat template's
    prompt, ids (1, T), then up to ``max_new_tokens`` generated tokens, decoded without
    the turn markers.

    Raises:
        ValueError: ``messages`` breaks a rule of :func:`check_chat`, or the prompt and
            the new tokens do not fit in the model's positions.
    """
    model, tokenizer = instruct_generator.model, instruct_generator.tokenizer
    check_chat(messages)
    inputs = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
    ).to(model.device)
    prompt_length = inputs["input_ids"].shape[-1]
    limit = model.config.max_position_embeddings  # 8192 for SmolLM2
    if prompt_length + max_new_tokens > limit:
        raise ValueError(
            f"the chat is {prompt_length} tokens and {max_new_tokens} new ones were "
            f"asked for, but the model reads at most {limit} positions: shorten it"
        )
    output = model.generate(**inputs, max_new_tokens=max_new_tokens, **generate_options)
    new_ids = output[0, prompt_length:]  # the answer starts after the prompt
    return tokenizer.decode(new_ids, skip_special_tokens=True)


def example_answer(instruct_generator):
    """The same question as a chat and as plain text. Through the template the model
    answers and ends its turn; as plain text it is only text to continue."""
    model, tokenizer = instruct_generator.model, instruct_generator.tokenizer
    messages = [{"role": "user", "content": QUESTION}]
    answer = chat(instruct_generator, messages, max_new_tokens=40, do_sample=False)
    print(f"chat, greedy: {answer!r}")
    print(f"  {len(tokenizer(answer).input_ids)} tokens of the 40 allowed")
    for text in (QUESTION, "The capital of France is"):
        inputs = tokenizer(text, return_tensors="pt").to(model.device)
        output = model.generate(**inputs, max_new_tokens=20, do_sample=False)
        continuation = tokenizer.decode(output[0, inputs["input_ids"].shape[-1] :])
        print(f"plain text, greedy: {text!r} -> {continuation!r}")
    for wrong in (
        [{"role": "system", "content": "Answer in one word."}],
        [{"role": "bot", "content": QUESTION}],
        [{"role": "user", "content": "Why? " * 4100}],  # too long: 8192 positions
    ):
        try:
            chat(instruct_generator, wrong)
        except ValueError as error:
            print(f"ValueError: {error}")


# --8<-- [end:answer]
