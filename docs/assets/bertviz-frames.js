// Size each bertviz frame to its view: the view (snippets/render/views.py) posts its height
// whenever it draws. Works from file:// too (postMessage needs no shared origin).
window.addEventListener("message", function (event) {
  var height = event.data && event.data.bertvizHeight;
  if (typeof height !== "number" || height <= 0) {
    return;
  }
  document.querySelectorAll("iframe.bertviz-frame").forEach(function (frame) {
    if (frame.contentWindow === event.source) {
      frame.style.height = Math.min(height + 8, 2400) + "px";
    }
  });
});
