// Code blocks, for keyboards and for copying.
//
// 1. Every code block can be reached with the keyboard (tabindex), so one that is wider than the
//    page can be scrolled without a mouse.
// 2. The copy button of a Python console example (">>> " and "... " prompts, as in
//    the pages' doctests) copies only the code, without prompts or output lines: what it copies
//    can be pasted into `python`. The theme's copy button takes the text of the nearest
//    `data-copy` attribute when there is one; it is set here from the highlighted prompts
//    (Pygments marks them `.gp`, output lines `.go`).
(function () {
  // The code of a console example: the lines that start with a prompt, less the prompt.
  function consoleCode(code) {
    var lines = [{ prompt: false, text: "" }];
    code.childNodes.forEach(function (node) {
      var isPrompt = node.nodeType === 1 && node.classList.contains("gp");
      node.textContent.split("\n").forEach(function (part, index) {
        if (index > 0) {
          lines.push({ prompt: false, text: "" });
        }
        var line = lines[lines.length - 1];
        if (isPrompt && !line.prompt && line.text === "") {
          line.prompt = true; // the prompt itself is left out
        } else {
          line.text += part;
        }
      });
    });
    return lines
      .filter(function (line) { return line.prompt; })
      .map(function (line) { return line.text; })
      .join("\n");
  }

  function setUp() {
    document.querySelectorAll(".md-typeset pre > code, .highlight-ipynb").forEach(function (el) {
      if (!el.hasAttribute("tabindex")) {
        el.setAttribute("tabindex", "0");
      }
    });
    document.querySelectorAll(".md-typeset pre > code").forEach(function (code) {
      if (code.querySelector(".gp")) {
        code.setAttribute("data-copy", consoleCode(code));
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
