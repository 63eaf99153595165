// The temperature dial of the homework page (docs/homework.md): the next-token logits of the 30
// most likely tokens after the lecture's prompt, rendered by snippets/generation.py into the
// data island docs/generated/generation-next-token-logits.md, turned into probabilities here.
// The order is transformers' (TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper):
// divide the logits by T, keep the k largest, then the fewest whose probabilities reach p;
// what is kept is renormalised. Nothing is fetched: works from file://.
(function () {
  "use strict";
  const root = document.getElementById("temperature-dial");
  const island = document.getElementById("data-generation-next-token-logits");
  if (!root || !island) {
    return;
  }
  const data = JSON.parse(island.textContent); // {prompt, tokens, ids, logits}, largest first
  const controls = {
    temperature: root.querySelector("#dial-temperature"),
    topK: root.querySelector("#dial-top-k"),
    topP: root.querySelector("#dial-top-p"),
  };
  const bars = root.querySelector("#dial-bars");
  const summary = root.querySelector("#dial-summary");

  // Probabilities of the tokens (in the data's order) under temperature, top-k and top-p.
  function probabilities(temperature, topK, topP) {
    const scaled = data.logits.map((logit) => logit / temperature);
    const kept = scaled.map((_, i) => i < topK); // the logits are sorted, largest first
    const softmax = (mask) => {
      const top = Math.max(...scaled.filter((_, i) => mask[i]));
      const weights = scaled.map((s, i) => (mask[i] ? Math.exp(s - top) : 0));
      const total = weights.reduce((a, b) => a + b, 0);
      return weights.map((w) => w / total);
    };
    let p = softmax(kept);
    let before = 0; // probability of the more likely tokens: keep a token while it is below p
    const nucleus = p.map((value, i) => {
      // top-p 1 cuts nothing, as in transformers (a sum of rounded floats can reach 1 early)
      const keep = kept[i] && (topP >= 1 || before < topP || i === 0);
      before += value;
      return keep;
    });
    p = softmax(nucleus);
    return p;
  }

  function label(token) {
    return JSON.stringify(token); // quoted, so a leading space shows: " it"
  }

  const rows = data.tokens.map((token, i) => {
    const row = document.createElement("li");
    row.className = "dial-row";
    const name = document.createElement("span");
    name.className = "dial-token";
    name.textContent = label(token);
    const track = document.createElement("span");
    track.className = "dial-track";
    track.setAttribute("aria-hidden", "true");
    const fill = document.createElement("span");
    fill.className = "dial-fill";
    track.append(fill);
    const value = document.createElement("span");
    value.className = "dial-value";
    row.append(name, track, value);
    row.dataset.token = token;
    row.dataset.logit = String(data.logits[i]);
    return row;
  });
  bars.replaceChildren(...rows);

  function show() {
    const temperature = Number(controls.temperature.value);
    const topK = Number(controls.topK.value);
    const topP = Number(controls.topP.value);
    root.querySelector("#dial-temperature-value").textContent = temperature.toFixed(1);
    root.querySelector("#dial-top-k-value").textContent = String(topK);
    root.querySelector("#dial-top-p-value").textContent = topP.toFixed(2);
    const p = probabilities(temperature, topK, topP);
    rows.forEach((row, i) => {
      row.dataset.p = String(p[i]);
      row.classList.toggle("dial-removed", p[i] === 0);
      row.querySelector(".dial-fill").style.width = `${(100 * p[i]).toFixed(3)}%`;
      row.querySelector(".dial-value").textContent =
        p[i] === 0 ? "cut" : `${(100 * p[i]).toFixed(1)}%`;
    });
    const kept = p.filter((value) => value > 0).length;
    summary.textContent = `T = ${temperature.toFixed(1)}, top-k ${topK}, top-p ` +
      `${topP.toFixed(2)}: ${kept} of ${p.length} tokens can be drawn; ` +
      `${label(data.tokens[0])} has ${(100 * p[0]).toFixed(1)}%.`;
  }

  Object.values(controls).forEach((control) => control.addEventListener("input", show));
  show();
  root.hidden = false;
})();
