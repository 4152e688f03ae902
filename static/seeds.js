// Seed pages: keyboard navigation (left/right: previous/next, r: random) and the morph slider.
// Links carry data-key; the keys follow them, so the same page works live and in the static export.
(function () {
  "use strict";
  var KEYS = { ArrowLeft: "prev", ArrowRight: "next", r: "random", R: "random" };
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable)) return;
    var name = KEYS[event.key];
    var link = name && document.querySelector('a[data-key="' + name + '"]');
    if (link) {
      event.preventDefault();
      link.click();
    }
  });
  var slider = document.getElementById("morph-slider");
  var frame = document.getElementById("morph-frame");
  if (slider && frame) {
    var frames = slider.getAttribute("data-frames").split(" ");
    frames.forEach(function (src) { new Image().src = src; });  // preload: the slider moves without waiting
    slider.addEventListener("input", function () { frame.src = frames[Number(slider.value)] || frames[0]; });
  }
})();
