// The live model: SmolLM2-135M-Instruct, run in the reader's browser by llama.cpp compiled to
// WebAssembly (npm @wllama/wllama, vendored in docs/assets/vendor/wllama/). The build hook
// (snippets/render/live_model.py) puts a placeholder where a page asks for a panel:
//   generate    a prompt continued, streamed, with temperature, top-k, top-p, max new tokens, seed
//   next-token  the 10 most likely next tokens of what the reader types, at a temperature
//   chat        a chat through the model's chat template (the prompt it makes shown on request)
// This script builds the panels. Nothing heavy loads before the reader asks: then the library,
// its wasm file and the model (98 MB, from this site; kept by the browser in Cache Storage) load
// once for every panel of the page. Opened from a file (browsers refuse module and fetch loads
// there) or printed, the placeholder's note stays and nothing runs. Generated text is untrusted:
// it reaches the page as text nodes only, never as markup.
(function () {
  "use strict";
  const panels = Array.from(document.querySelectorAll(".live-model[data-panel]"))
    .filter((panel) => !panel.closest("#print-site-page")); // the print page keeps its notes
  if (!panels.length || location.protocol === "file:") {
    return;
  }

  const N_CTX = 2048; // tokens the model reads at a time here: the prompt and the new tokens
  const LIMITS = {
    temperature: { min: 0, max: 2, step: 0.1, value: 0.7, label: "Temperature" },
    top_k: { min: 0, max: 1000, step: 1, value: 50, label: "top-k", integer: true },
    top_p: { min: 0.05, max: 1, step: 0.05, value: 1, label: "top-p" },
    max_tokens: { min: 1, max: 512, step: 1, value: 30, label: "Max new tokens", integer: true },
    seed: { min: 0, max: 2147483647, step: 1, value: 1, label: "Seed", integer: true },
  };
  // transformers' order (temperature, then top-k, then top-p; no min-p): llama.cpp's default
  // would apply top-p before the temperature.
  const SAMPLING = { min_p: 0, samplers: ["temperature", "top_k", "top_p"] };
  const CACHE_NAME = "lecture-live-model";
  const config = panels[0].dataset;
  const absolute = (path) => new URL(path, document.baseURI).href;
  const MODEL = {
    url: config.model ? absolute(config.model) : "",
    file: config.model ? config.model.split("/").pop() : "",
    bytes: Number(config.modelBytes),
    sha256: config.modelSha256,
  };

  // -- Small helpers ----------------------------------------------------------------------------

  let counter = 0;
  function uid(name) {
    counter += 1;
    return `live-${name}-${counter}`;
  }

  // An element with attributes and children (strings become text nodes, never markup).
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([name, value]) => {
      if (value === false || value === undefined || value === null) return;
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    });
    children.flat().forEach((child) => {
      if (child !== null && child !== undefined) {
        node.append(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  // llama.cpp gives a special token's text as "": SmolLM2's first three, named as its tokenizer
  // names them (the others never come first here).
  const SPECIAL = { 0: "<|endoftext|>", 1: "<|im_start|>", 2: "<|im_end|>" };
  const tokenLabel = (id, token) => (token === "" && SPECIAL[id] ? SPECIAL[id] : token);
  const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
  const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
  const quoted = (token) => JSON.stringify(token); // a leading space shows: " Paris"

  function supportsMemory64() {
    try {
      new WebAssembly.Memory({ address: "i64", initial: 1n });
      return true;
    } catch (error) {
      return false;
    }
  }

  // -- The engine: one library, one model, shared by every panel of the page --------------------

  class LoadError extends Error {}

  const engine = {
    state: "idle", // idle, downloading, checking, starting, ready, failed
    loaded: 0,
    message: "",
    kept: false, // the browser keeps a copy (Cache Storage)
    keepNote: "",
    wllama: null,
    downloads: 0, // how many times the model file was fetched from the site
    starts: 0, // how many times llama.cpp loaded it
    timings: {},
    listeners: [],
    loading: null,
    queue: Promise.resolve(),
    on(listener) {
      this.listeners.push(listener);
      listener(this);
    },
    set(changes) {
      Object.assign(this, changes);
      this.listeners.forEach((listener) => listener(this));
    },
    load() {
      if (!this.loading) {
        this.loading = start().catch((error) => {
          this.loading = null;
          this.set({ state: "failed", message: error instanceof LoadError ? error.message :
            `the model could not start (${error && error.message ? error.message : error})` });
          throw error;
        });
      }
      return this.loading;
    },
    // One request at a time, in order: the model serves every panel of the page.
    run(task) {
      const result = this.queue.then(() => task(this.wllama));
      this.queue = result.then(() => undefined, () => undefined);
      return result;
    },
  };
  window.lectureLiveModel = engine; // for the tests and the benchmark

  async function openCache() {
    if (!window.caches) return null; // only https and localhost sites may keep files
    try {
      return await caches.open(CACHE_NAME);
    } catch (error) {
      return null;
    }
  }

  const cacheKey = () => `${MODEL.url}?sha256=${MODEL.sha256}`;

  async function keptCopy() {
    const cache = await openCache();
    const hit = cache && (await cache.match(cacheKey()));
    if (!hit) return null;
    const blob = await hit.blob();
    if (blob.size === MODEL.bytes) return blob;
    await cache.delete(cacheKey()); // damaged: fetch it again
    return null;
  }

  async function download() {
    let response;
    try {
      response = await fetch(MODEL.url, { cache: "no-store" }); // Cache Storage keeps it instead
    } catch (error) {
      throw new LoadError(`the model file ${MODEL.file} could not be requested (${error.message})`);
    }
    if (!response.ok) {
      throw new LoadError(`the model file ${MODEL.file} is not on this server (HTTP ` +
        `${response.status}${response.statusText ? " " + response.statusText : ""})`);
    }
    engine.downloads += 1;
    const reader = response.body.getReader();
    const chunks = [];
    let loaded = 0;
    let shown = 0;
    for (;;) {
      let part;
      try {
        part = await reader.read();
      } catch (error) {
        throw new LoadError(`the download of ${MODEL.file} stopped after ${mb(loaded)} of ` +
          `${mb(MODEL.bytes)} (${error.message})`);
      }
      if (part.done) break;
      chunks.push(part.value);
      loaded += part.value.length;
      if (loaded - shown > MODEL.bytes / 200 || loaded === MODEL.bytes) {
        shown = loaded;
        engine.set({ loaded });
      }
    }
    engine.set({ loaded });
    if (loaded !== MODEL.bytes) {
      throw new LoadError(`the model file ${MODEL.file} on the server is ` +
        (loaded < MODEL.bytes ? "truncated" : "too long") +
        `: ${loaded.toLocaleString("en")} of ${MODEL.bytes.toLocaleString("en")} bytes`);
    }
    const blob = new Blob(chunks);
    engine.set({ state: "checking" });
    const checked = !!(window.crypto && crypto.subtle); // https and localhost sites only
    if (checked) {
      const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
      const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
      if (hex !== MODEL.sha256) {
        throw new LoadError(`the model file ${MODEL.file} on the server is not the one this ` +
          `site was built with (sha256 ${hex.slice(0, 12)}…, expected ${MODEL.sha256.slice(0, 12)}…)`);
      }
    }
    const cache = await openCache();
    if (!cache) {
      engine.keepNote = `Not ${checked ? "" : "checked (sha256) and not "}kept: browsers ` +
        "do that only for https and localhost sites.";
    } else {
      try {
        const cached = new Response(blob, { headers: { "Content-Length": String(blob.size) } });
        await cache.put(cacheKey(), cached);
        // An earlier model file of this site is not needed any more.
        for (const request of await cache.keys()) {
          if (request.url !== cacheKey()) await cache.delete(request);
        }
        engine.kept = true;
      } catch (error) {
        engine.keepNote = `Not kept by the browser (${error.message}).`;
      }
    }
    return blob;
  }

  async function start() {
    const t0 = performance.now();
    engine.set({ state: "downloading", loaded: 0, message: "", keepNote: "" });
    let blob = await keptCopy().catch(() => null);
    const fromCache = !!blob;
    if (blob) {
      engine.set({ loaded: blob.size, kept: true });
    } else {
      blob = await download();
    }
    const t1 = performance.now();
    engine.set({ state: "starting" });
    let Wllama;
    try {
      ({ Wllama } = await import(absolute(config.library)));
    } catch (error) {
      throw new LoadError(`the WebAssembly runtime's script ${config.library} did not load ` +
        `(${error.message})`);
    }
    const quiet = { debug() {}, log() {}, warn() {}, error() {} }; // failures reach the panel
    const wllama = new Wllama({ default: absolute(config.wasm) }, { logger: quiet,
      suppressNativeLog: true });
    // No compatibility build: by default wllama would fetch it from a CDN for browsers without
    // WebAssembly JSPI or Memory64 (Safari); the panels say instead that they cannot run there.
    wllama.setCompat(null);
    try {
      // One thread: no cross-origin isolation headers needed. No WebGPU: the CPU build only.
      await wllama.loadModel([blob], { n_ctx: N_CTX, n_threads: 1, n_gpu_layers: 0 });
    } catch (error) {
      await wllama.exit().catch(() => undefined);
      throw new LoadError(`llama.cpp could not load ${MODEL.file} (${error.message})`);
    }
    engine.starts += 1;
    const t2 = performance.now();
    engine.timings = { fetch_ms: t1 - t0, start_ms: t2 - t1, ready_ms: t2 - t0, from_cache: fromCache };
    engine.set({ state: "ready", wllama });
    return wllama;
  }

  // -- What every panel has: title, the model named, the loader -------------------------------

  const TITLES = {
    generate: "Run it yourself: SmolLM2 continues your prompt",
    "next-token": "The next token: SmolLM2's probabilities for your text",
    chat: "Homework 1, live: chat with SmolLM2",
  };

  function about(panel) {
    const card = el("a", { href: panel.dataset.modelCard, text: "SmolLM2-135M-Instruct" });
    const licence = panel.dataset.licence
      ? el("a", { href: panel.dataset.licence, text: "Apache-2.0 licence" })
      : "Apache-2.0 licence";
    return el("p", { className: "live-model-about" }, card,
      " (Hugging Face, ", licence, ") in its 4-bit file (Q4_1 GGUF), run on your computer by ",
      "llama.cpp compiled to WebAssembly; nothing you type leaves the page. The outputs above " +
      "came from transformers on the same weights expanded to 32-bit floats, so the text here " +
      "can differ, most where the model's first choices are nearly tied.");
  }

  function loader() {
    const button = el("button", { type: "button", className: "md-button md-button--primary",
      text: `Load the model (${mb(MODEL.bytes)})` });
    const size = el("span", { className: "live-model-size", text: ` ${mb(MODEL.bytes)}, ` +
      "downloaded once from this site; your browser keeps it for later visits." });
    const progressId = uid("progress");
    const progress = el("progress", { id: progressId, max: MODEL.bytes, value: 0,
      "aria-label": "Model download", hidden: true });
    const state = el("span", { className: "live-model-state", role: "status" });
    const retry = el("button", { type: "button", className: "md-button", text: "Retry",
      hidden: true });
    const box = el("div", { className: "live-model-loader" }, button, size, progress, state, retry);
    const load = () => engine.load().catch(() => undefined);
    button.addEventListener("click", load);
    retry.addEventListener("click", load);
    keptCopyExists().then((kept) => {
      if (kept && engine.state === "idle") {
        button.textContent = "Load the model";
        size.textContent = " Your browser keeps it already: no download.";
      }
    });
    engine.on((e) => {
      const busy = ["downloading", "checking", "starting"].includes(e.state);
      button.hidden = e.state !== "idle";
      size.hidden = e.state !== "idle";
      progress.hidden = e.state !== "downloading";
      progress.value = e.loaded;
      progress.setAttribute("aria-valuetext", `${mb(e.loaded)} of ${mb(MODEL.bytes)}`);
      retry.hidden = e.state !== "failed";
      box.setAttribute("aria-busy", busy ? "true" : "false");
      state.textContent = {
        idle: "",
        downloading: `Downloading the model: ${mb(e.loaded)} of ${mb(MODEL.bytes)}`,
        checking: "Checking the file (sha256)…",
        starting: "Starting llama.cpp…",
        ready: `Model ready (${seconds(e.timings.ready_ms || 0)}` +
          `${e.timings.from_cache ? ", from the copy your browser keeps" : ""}). ` + e.keepNote,
        failed: `Could not load the model: ${e.message}. The rest of the page works as before.`,
      }[e.state];
      box.classList.toggle("live-model-failed", e.state === "failed");
    });
    return box;
  }

  async function keptCopyExists() {
    // caches.has first: opening the cache would make an empty one before the reader asked.
    if (!window.caches || !(await caches.has(CACHE_NAME).catch(() => false))) return false;
    const cache = await openCache();
    return !!(cache && (await cache.match(cacheKey())));
  }

  // -- Settings: temperature, top-k, top-p, max new tokens, seed; clamped with a message --------

  function settings(name, presets, start) {
    const inputs = {};
    const grid = el("div", { className: "live-model-settings" });
    Object.entries(LIMITS).forEach(([key, limit]) => {
      const id = uid(`${name}-${key}`);
      inputs[key] = el("input", { id, type: "number", min: limit.min, max: limit.max,
        step: limit.step, value: start[key] !== undefined ? start[key] : limit.value,
        inputmode: limit.integer ? "numeric" : "decimal" });
      grid.append(el("div", { className: "live-model-field" },
        el("label", { for: id, text: limit.label }), inputs[key]));
    });
    const hint = el("p", { className: "live-model-hint", text: "Temperature 0 is greedy " +
      "decoding (the most likely token every time); top-k 0 keeps every token. Applied in " +
      "transformers' order: temperature, then top-k, then top-p." });
    const box = el("div", { className: "live-model-settings-box" }, grid, hint);
    if (presets.length) {
      const row = el("div", { className: "live-model-presets", role: "group",
        "aria-label": "The homework's decoding settings" },
        el("span", { className: "live-model-presets-label", text: "The homework's settings:" }));
      presets.forEach((preset) => {
        const button = el("button", { type: "button", className: "md-button",
          text: preset.name });
        button.addEventListener("click", () => {
          ["temperature", "top_k", "top_p", "max_tokens"].forEach((key) => {
            inputs[key].value = String(preset[key]);
          });
        });
        row.append(button);
      });
      box.prepend(row);
    }
    // The values to use, each within its limits, and what was changed to get there.
    function read() {
      const values = {};
      const notes = [];
      Object.entries(LIMITS).forEach(([key, limit]) => {
        const text = inputs[key].value.trim();
        let value = Number(text);
        if (text === "" || !Number.isFinite(value)) {
          value = limit.value;
          notes.push(`${limit.label} was not a number: using ${value}.`);
        } else if (value < limit.min || value > limit.max) {
          const clamped = Math.min(limit.max, Math.max(limit.min, value));
          notes.push(`${limit.label} ${text} is ${value < limit.min ? "below" : "above"} ` +
            `${value < limit.min ? "the least" : "the most"} allowed here: using ${clamped}.`);
          value = clamped;
        }
        if (limit.integer) value = Math.round(value);
        values[key] = value;
        inputs[key].value = String(value);
      });
      if (values.temperature === 0) {
        notes.push("Temperature 0: greedy decoding, the most likely token every time (seed, " +
          "top-k and top-p play no part).");
      }
      return { values, notes };
    }
    return { element: box, read, inputs };
  }

  function requestOptions(values) {
    return { temperature: values.temperature, top_k: values.top_k, top_p: values.top_p,
      max_tokens: values.max_tokens, seed: values.seed, ...SAMPLING,
      cache_prompt: false }; // the same text for the same seed, whatever ran before
  }

  // What went wrong, in the reader's terms.
  function explain(error) {
    const text = String(error && error.message ? error.message : error);
    const tooLong = text.match(/request \((\d+) tokens\) exceeds the available context size/);
    if (tooLong) {
      return `Too long: ${tooLong[1]} tokens, but the model reads at most ${N_CTX} tokens at ` +
        "a time here (the text and the new tokens together). Shorten it.";
    }
    return `The model failed: ${text}`;
  }

  function summary(run, finish) {
    const tokens = run.timings ? run.timings.predicted_n : run.tokens;
    const parts = [`${tokens} new token${tokens === 1 ? "" : "s"}`];
    if (run.timings) {
      parts.push(`${run.timings.predicted_per_second.toFixed(1)} tokens/s`);
    }
    if (run.firstToken !== null) parts.push(`the first after ${seconds(run.firstToken)}`);
    let why = "";
    if (finish === "stop") why = " The model ended the text (its end-of-sequence token).";
    else if (finish === "length" && run.timings &&
      run.timings.prompt_n + run.timings.cache_n + run.timings.predicted_n >= N_CTX) {
      why = ` Stopped: the ${N_CTX} tokens the model reads here are full.`;
    } else if (finish === "length") why = " Stopped at the max new tokens.";
    return `${parts.join(", ")}.${why}`;
  }

  // Stream one completion into `write`; resolve with the run's figures.
  async function stream(method, request, write, controller) {
    const run = { tokens: 0, firstToken: null, timings: null, finish: null };
    const t0 = performance.now();
    await engine.run((wllama) => wllama[method]({ ...request, stream: true,
      abortSignal: controller.signal,
      onData: (chunk) => {
        const choice = chunk.choices && chunk.choices[0];
        const text = choice ? (choice.text !== undefined ? choice.text :
          (choice.delta && choice.delta.content) || "") : "";
        if (text) {
          if (run.firstToken === null) run.firstToken = performance.now() - t0;
          run.tokens += 1;
          write(text);
        }
        if (choice && choice.finish_reason) run.finish = choice.finish_reason;
        if (chunk.timings) run.timings = chunk.timings;
      } }));
    run.ms = performance.now() - t0;
    return run;
  }

  function readyGate(panel, controls) {
    engine.on((e) => {
      controls.forEach((control) => {
        control.disabled = e.state !== "ready";
      });
      panel.classList.toggle("live-model-ready", e.state === "ready");
    });
  }

  // -- generate ---------------------------------------------------------------------------------

  function generatePanel(panel, body) {
    const name = "generate";
    const promptId = uid(`${name}-prompt`);
    const prompt = el("textarea", { id: promptId, rows: 3, maxlength: 20000, spellcheck: "false" });
    prompt.value = panel.dataset.prompt || "";
    const options = settings(name, JSON.parse(panel.dataset.presets || "[]"), {});
    const go = el("button", { type: "button", className: "md-button md-button--primary",
      text: "Generate" });
    const stop = el("button", { type: "button", className: "md-button", text: "Stop",
      disabled: true });
    const status = el("p", { className: "widget-status live-model-status", role: "status" });
    const shownPrompt = el("span", { className: "live-model-prompt" });
    const written = el("span", { className: "live-model-text" });
    const output = el("pre", { className: "live-model-output", "aria-label": "Generated text",
      tabindex: 0 }, shownPrompt, written);
    body.append(el("label", { className: "widget-label", for: promptId, text: "Prompt" }), prompt,
      options.element, el("div", { className: "live-model-actions" }, go, stop), status, output);
    let controller = null;
    readyGate(panel, [go]);
    stop.addEventListener("click", () => controller && controller.abort());
    go.addEventListener("click", async () => {
      const text = prompt.value;
      const { values, notes } = options.read();
      if (!text.trim()) {
        status.textContent = "Type a prompt first: the model continues the text you give it.";
        return;
      }
      controller = new AbortController();
      go.disabled = true;
      stop.disabled = false;
      output.setAttribute("aria-busy", "true");
      shownPrompt.textContent = text;
      written.textContent = "";
      status.textContent = [...notes, "Generating…"].join(" ");
      let pieces = 0;
      try {
        const run = await stream("createCompletion", { prompt: text, ...requestOptions(values) },
          (piece) => {
            pieces += 1;
            written.append(piece); // a text node: the model's text is never parsed as HTML
          }, controller);
        status.textContent = [...notes, summary(run, run.finish)].join(" ");
        panel.dataset.lastRun = JSON.stringify({ first_token_ms: run.firstToken, ms: run.ms,
          tokens: run.tokens, tokens_per_s: run.timings && run.timings.predicted_per_second });
      } catch (error) {
        status.textContent = controller.signal.aborted
          ? `Stopped after ${pieces} new token${pieces === 1 ? "" : "s"}.`
          : [...notes, explain(error)].join(" ");
      } finally {
        controller = null;
        go.disabled = engine.state !== "ready";
        stop.disabled = true;
        output.setAttribute("aria-busy", "false");
      }
    });
  }

  // -- next-token -------------------------------------------------------------------------------

  function nextTokenPanel(panel, body) {
    const name = "next-token";
    const textId = uid(`${name}-text`);
    const text = el("textarea", { id: textId, rows: 2, maxlength: 20000, spellcheck: "false" });
    text.value = panel.dataset.prompt || "";
    const temperatureId = uid(`${name}-temperature`);
    const temperature = el("input", { id: temperatureId, type: "range", min: 0.1, max: 2,
      step: 0.1, value: 1 });
    const shownTemperature = el("output", { for: temperatureId, text: "1.0" });
    const status = el("p", { className: "widget-status live-model-status", role: "status" });
    const bars = el("ol", { className: "dial-bars live-model-bars",
      "aria-label": "The 10 most likely next tokens and their probabilities" });
    body.append(el("label", { className: "widget-label", for: textId, text: "Text" }), text,
      el("div", { className: "dial-controls" },
        el("label", { className: "widget-label", for: temperatureId, text: "Temperature" }),
        temperature, shownTemperature),
      status, bars);
    readyGate(panel, []);
    let timer = null;
    let running = false;
    let again = false;

    function draw(top, T, sum) {
      bars.replaceChildren(...top.map(({ id, token, prob }) => {
        const fill = el("span", { className: "dial-fill" });
        fill.style.width = `${(100 * prob).toFixed(3)}%`;
        const special = token === "" && SPECIAL[id];
        const row = el("li", { className: "dial-row" },
          el("span", { className: "dial-token",
            text: special ? SPECIAL[id] : token === "" ? `(token ${id})` : quoted(token) }),
          el("span", { className: "dial-track", "aria-hidden": "true" }, fill),
          el("span", { className: "dial-value", text: `${(100 * prob).toFixed(1)}%` }));
        row.dataset.token = tokenLabel(id, token);
        row.dataset.id = String(id);
        row.dataset.p = String(prob);
        return row;
      }));
      status.textContent = `P(next token | text) at temperature ${T.toFixed(1)}: ` +
        `softmax(logits / ${T.toFixed(1)}) over all of SmolLM2's 49,152 tokens, computed here; ` +
        `the 10 most likely hold ${(100 * sum).toFixed(1)}% of it.`;
    }

    async function ask() {
      if (running) {
        again = true;
        return;
      }
      const value = text.value;
      const T = Number(temperature.value);
      if (!value) {
        bars.replaceChildren();
        status.textContent = "Type some text: the bars show what the model expects next.";
        return;
      }
      running = true;
      panel.setAttribute("aria-busy", "true");
      try {
        const answer = await engine.run((wllama) => wllama.createCompletion({
          prompt: value, max_tokens: 1, logprobs: 10, post_sampling_probs: true, temperature: T,
          top_k: 0, top_p: 1, min_p: 0, seed: 0, cache_prompt: true }));
        const content = answer.choices[0].logprobs.content[0];
        const top = content.top_probs.slice(0, 10);
        draw(top, T, top.reduce((total, entry) => total + entry.prob, 0));
        panel.dataset.shownFor = JSON.stringify([value, T.toFixed(1)]);
      } catch (error) {
        bars.replaceChildren();
        status.textContent = explain(error);
        panel.dataset.shownFor = JSON.stringify([value, T.toFixed(1)]);
      } finally {
        running = false;
        panel.setAttribute("aria-busy", "false");
        if (again) {
          again = false;
          ask();
        }
      }
    }

    function later() {
      shownTemperature.textContent = Number(temperature.value).toFixed(1);
      if (engine.state !== "ready") return;
      clearTimeout(timer);
      timer = setTimeout(ask, 250); // typing: wait for a pause
    }
    text.addEventListener("input", later);
    temperature.addEventListener("input", later);
    engine.on((e) => {
      if (e.state === "ready" && !panel.dataset.shownFor) ask();
    });
  }

  // -- chat -------------------------------------------------------------------------------------

  function chatPanel(panel, body) {
    const name = "chat";
    const systemId = uid(`${name}-system`);
    const system = el("textarea", { id: systemId, rows: 2, maxlength: 20000,
      placeholder: "Empty: the template adds SmolLM2's default system prompt" });
    const messageId = uid(`${name}-message`);
    const message = el("textarea", { id: messageId, rows: 2, maxlength: 20000 });
    message.value = panel.dataset.question || "";
    const presets = JSON.parse(panel.dataset.presets || "[]");
    const greedy = presets.find((preset) => preset.temperature === 0) || {};
    const options = settings(name, presets, { ...greedy, max_tokens: 40 }); // as the page's chat
    const turns = el("ol", { className: "live-model-chat", "aria-label": "The conversation" });
    const send = el("button", { type: "button", className: "md-button md-button--primary",
      text: "Send" });
    const stop = el("button", { type: "button", className: "md-button", text: "Stop",
      disabled: true });
    const clear = el("button", { type: "button", className: "md-button", text: "New chat" });
    const status = el("p", { className: "widget-status live-model-status", role: "status" });
    const templateText = el("pre", { className: "live-model-template", tabindex: 0,
      "aria-label": "The prompt the chat template makes" });
    const template = el("details", { className: "live-model-template-box" },
      el("summary", { text: "The prompt the chat template makes" }),
      el("p", { className: "live-model-hint", text: "What the model reads: the conversation " +
        "written out by the chat template stored in the model file (rendered here by Hugging " +
        "Face's Jinja for JavaScript), ending with the opening of the assistant's turn." }),
      templateText);
    body.append(
      el("label", { className: "widget-label", for: systemId, text: "System prompt (optional)" }),
      system, turns,
      el("label", { className: "widget-label", for: messageId, text: "Your message" }), message,
      options.element, el("div", { className: "live-model-actions" }, send, stop, clear),
      status, template);
    const history = []; // {role, content}, the turns so far
    let controller = null;
    readyGate(panel, [send]);

    function conversation(pending) {
      const messages = [];
      if (system.value.trim()) messages.push({ role: "system", content: system.value });
      messages.push(...history);
      if (pending) messages.push({ role: "user", content: pending });
      return messages;
    }

    let jinja = null;
    async function showTemplate() {
      if (!template.open) return;
      if (engine.state !== "ready") {
        templateText.textContent = "Load the model first: the template is stored in its file.";
        return;
      }
      try {
        jinja = jinja || (await import(absolute(panel.dataset.jinja)));
        const source = engine.wllama.getChatTemplate();
        templateText.textContent = new jinja.Template(source).render({
          messages: conversation(message.value.trim() ? message.value : ""),
          add_generation_prompt: true, bos_token: "<|im_start|>", eos_token: "<|im_end|>" });
      } catch (error) {
        templateText.textContent = `The template could not be shown (${error.message}).`;
      }
    }
    template.addEventListener("toggle", showTemplate);
    [system, message].forEach((box) => box.addEventListener("input", showTemplate));
    engine.on((e) => e.state === "ready" && showTemplate());

    function turn(role, content) {
      const text = el("span", { className: "live-model-turn-text" });
      text.textContent = content;
      const item = el("li", { className: `live-model-turn live-model-${role}` },
        el("span", { className: "live-model-role", text: role === "user" ? "You" : "SmolLM2" }),
        text);
      turns.append(item);
      return text;
    }

    clear.addEventListener("click", () => {
      if (controller) controller.abort();
      history.length = 0;
      turns.replaceChildren();
      status.textContent = "A new chat.";
      showTemplate();
    });
    stop.addEventListener("click", () => controller && controller.abort());
    send.addEventListener("click", async () => {
      const content = message.value;
      const { values, notes } = options.read();
      if (!content.trim()) {
        status.textContent = "Type a message first: the model answers the last user turn.";
        return;
      }
      const messages = conversation(content);
      controller = new AbortController();
      send.disabled = true;
      stop.disabled = false;
      turn("user", content);
      const answer = turn("assistant", "");
      turns.setAttribute("aria-busy", "true");
      status.textContent = [...notes, "SmolLM2 is answering…"].join(" ");
      try {
        const run = await stream("createChatCompletion", { messages, ...requestOptions(values) },
          (piece) => answer.append(piece), controller);
        history.push({ role: "user", content }, { role: "assistant", content: answer.textContent });
        message.value = "";
        status.textContent = [...notes, summary(run, run.finish)].join(" ");
      } catch (error) {
        if (controller.signal.aborted) {
          history.push({ role: "user", content }, { role: "assistant", content: answer.textContent });
          message.value = "";
          status.textContent = "Stopped: the answer so far stays in the chat.";
        } else {
          answer.closest("li").remove();
          turns.lastElementChild.remove(); // the user's turn: it was not answered
          status.textContent = [...notes, explain(error),
            "Start a new chat if the conversation is too long."].join(" ");
        }
      } finally {
        controller = null;
        send.disabled = engine.state !== "ready";
        stop.disabled = true;
        turns.setAttribute("aria-busy", "false");
        showTemplate();
      }
    });
  }

  // -- Build the panels -------------------------------------------------------------------------

  const BUILDERS = { generate: generatePanel, "next-token": nextTokenPanel, chat: chatPanel };
  const runnable = supportsMemory64();
  panels.forEach((panel) => {
    const kind = panel.dataset.panel;
    if (!BUILDERS[kind]) return;
    const titleId = uid(`${kind}-title`);
    const box = el("div", { className: "lecture-widget live-model-panel", role: "group",
      "aria-labelledby": titleId },
      el("p", { className: "widget-title", id: titleId, text: TITLES[kind] }), about(panel));
    if (!MODEL.url) {
      box.append(el("p", { className: "live-model-state", text: "This copy of the site was " +
        "built without the model (LECTURE_LIVE_MODEL=off), to keep it small: the output above " +
        "stands in. A build with the model, or the published site, runs it here." }));
    } else if (!runnable) {
      box.append(el("p", { className: "live-model-state", text: "This browser cannot run the " +
        "model: it lacks WebAssembly Memory64 (Safari, for one). Chrome, Edge and Firefox run " +
        "it; here the output above stands in." }));
    } else {
      const body = el("div", { className: "live-model-body" });
      box.append(loader(), body);
      BUILDERS[kind](panel, body);
    }
    panel.querySelector(".live-model-note").hidden = true;
    panel.append(box);
  });
})();
