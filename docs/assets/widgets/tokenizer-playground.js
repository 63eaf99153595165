// The tokenizer playground of the tokenization page (docs/tokenization.md): GPT-2's byte-level
// BPE, run in the browser by npm's gpt-tokenizer (its r50k_base encoding is GPT-2's; vendored in
// docs/assets/vendor/gpt-tokenizer/, see VENDOR.json). Nothing is fetched: works from file://.
// The test texts and their tokens and ids from the transformers tokenizer come from the data
// island the renderer wrote (docs/generated/tokenization-playground-ids.md).
(function () {
  "use strict";
  const root = document.getElementById("tokenizer-playground");
  const island = document.getElementById("data-tokenization-playground-ids");
  const encoding = window.GPTTokenizer_r50k_base;
  if (!root || !island || !encoding) {
    return; // not this page, or the bundle did not load: the static output stands alone
  }
  const examples = JSON.parse(island.textContent); // [{text, tokens, ids}, ...]
  const ENDOFTEXT = "<|endoftext|>"; // GPT-2's one special token, id 50256
  const ENDOFTEXT_ID = 50256;
  const ranks = encoding.bytePairEncodingCoreProcessor.bytePairRankDecoder; // id -> bytes
  const utf8 = new TextEncoder();

  // GPT-2 shows each byte of a token as a printable character (bytes_to_unicode in OpenAI's
  // encoder.py): printable bytes stand for themselves, the others (space, newline, ...) are
  // shifted to 256 + n, so a space shows as "Ġ" and a newline as "Ċ".
  const byteChars = (function () {
    const printable = [];
    const ranges = [[33, 126], [161, 172], [174, 255]];
    ranges.forEach(([first, last]) => {
      for (let b = first; b <= last; b++) printable.push(b);
    });
    const chars = new Array(256);
    let shifted = 0;
    for (let b = 0; b < 256; b++) {
      chars[b] = String.fromCharCode(printable.includes(b) ? b : 256 + shifted++);
    }
    return chars;
  })();

  function tokenString(id) {
    if (id === ENDOFTEXT_ID) return ENDOFTEXT;
    const entry = ranks[id]; // a string, or an array of bytes (a piece of a UTF-8 character)
    const bytes = typeof entry === "string" ? utf8.encode(entry) : entry;
    return Array.from(bytes, (b) => byteChars[b]).join("");
  }

  // As transformers does: "<|endoftext|>" in the text is the special token, the rest is BPE.
  function encode(text) {
    const ids = [];
    text.split(ENDOFTEXT).forEach((part, index) => {
      if (index > 0) ids.push(ENDOFTEXT_ID);
      ids.push(...encoding.encode(part, { disallowedSpecial: new Set() }));
    });
    return ids;
  }

  const input = root.querySelector("#tokenizer-text");
  const count = root.querySelector("#tokenizer-count");
  const chips = root.querySelector("#tokenizer-chips");
  const idList = root.querySelector("#tokenizer-ids");
  const check = root.querySelector("#tokenizer-check");
  const samples = root.querySelector("#tokenizer-samples");

  function show() {
    const text = input.value;
    const ids = encode(text);
    const tokens = ids.map(tokenString);
    const characters = Array.from(text).length;
    count.textContent = `${ids.length} token${ids.length === 1 ? "" : "s"}, ` +
      `${characters} character${characters === 1 ? "" : "s"}`;
    chips.replaceChildren(
      ...tokens.map((token, i) => {
        const chip = document.createElement("li");
        chip.className = `token-chip token-chip-${i % 6}`;
        chip.dataset.id = String(ids[i]);
        const piece = document.createElement("span");
        piece.className = "token-text";
        piece.textContent = token; // textContent: the text is shown, never parsed as HTML
        const number = document.createElement("span");
        number.className = "token-id";
        number.textContent = String(ids[i]);
        chip.append(piece, number);
        return chip;
      })
    );
    idList.textContent = `[${ids.join(", ")}]`;
    const known = examples.find((example) => example.text === text);
    if (!known) {
      check.textContent = "";
    } else if (known.ids.join() === ids.join() && known.tokens.join("\u0000") === tokens.join("\u0000")) {
      check.textContent = "✓ The same tokens and ids as the transformers tokenizer gave " +
        "for this text when the page was built.";
    } else {
      check.textContent = `✗ The transformers tokenizer gave other ids: [${known.ids.join(", ")}].`;
    }
  }

  examples.forEach((example) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "md-button widget-sample";
    button.textContent = example.text.length > 24 ? `${example.text.slice(0, 22)}…` : example.text;
    button.title = example.text; // the whole text; the button's name is what it shows
    button.addEventListener("click", () => {
      input.value = example.text;
      show();
      input.focus();
    });
    samples.append(button);
  });
  input.addEventListener("input", show);
  input.value = examples[0].text; // the lecture's sentence
  show();
  root.hidden = false;
})();
