// Render the \( ... \) and \[ ... \] spans that pymdownx.arithmatex leaves in the page.
// Material loads pages without a full reload ("instant" navigation is off here), so a plain
// DOMContentLoaded is enough.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".arithmatex").forEach(function (element) {
    renderMathInElement(element, {
      delimiters: [
        { left: "\\(", right: "\\)", display: false },
        { left: "\\[", right: "\\]", display: true },
      ],
      throwOnError: false,
    });
  });
});
