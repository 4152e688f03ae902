// The Turing test without page reloads: the same form is posted with fetch (asking for JSON), and the
// next image replaces the current one. Keys: R real, S synthetic, 1-3 confidence. Without this script
// the plain form does the same with a reload.
(function () {
  "use strict";
  var form = document.getElementById("turing-form");
  if (!form || !window.fetch) return;
  var busy = false;

  function field(name) { return form.elements.namedItem(name); }

  function show(state) {
    if (state.done) { window.location.assign(state.url); return; }
    field("position").value = state.position;
    field("token").value = state.token;
    var img = document.getElementById("turing-image");
    img.src = state.image;
    img.alt = "Image " + (state.position + 1) + ": a photograph of a mole, real or synthetic";
    form.querySelector("progress").value = state.position;
    document.getElementById("turing-count").textContent = "Image " + (state.position + 1) + " of " + state.total;
    var box = document.getElementById("turing-feedback");
    var f = state.feedback;
    box.textContent = f ? "Image " + f.position + " was " + f.truth + "; you said " + f.answer +
      (f.correct ? " (right)." : " (wrong).") : "";
    form.querySelectorAll("input[name=confidence]").forEach(function (r) { r.checked = false; });
    form.querySelector("button[value=real]").focus();
  }

  function send(answer) {
    if (busy) return;
    busy = true;
    var data = new FormData(form);
    data.set("answer", answer);
    fetch(form.action, {method: "POST", body: data, credentials: "same-origin",
                        headers: {"Accept": "application/json", "X-CSRFToken": field("csrfmiddlewaretoken").value}})
      .then(function (r) { return r.json().then(function (body) { return {ok: r.ok, body: body}; }); })
      .then(function (r) {
        if (!r.ok) { window.location.assign(r.body.url || window.location.href); return; }
        show(r.body);
      })
      .catch(function () {  // network trouble: fall back to the plain form
        var hidden = document.createElement("input");
        hidden.type = "hidden"; hidden.name = "answer"; hidden.value = answer;
        form.appendChild(hidden);
        form.submit();
      })
      .finally(function () { busy = false; });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = event.submitter || document.activeElement;
    send(button && button.value === "synthetic" ? "synthetic" : "real");
  });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var key = event.key.toLowerCase();
    if (key === "r" || key === "s") { event.preventDefault(); send(key === "r" ? "real" : "synthetic"); }
    if (key === "1" || key === "2" || key === "3") {
      var radio = form.querySelector("input[name=confidence][value='" + key + "']");
      if (radio) radio.checked = true;
    }
  });
})();
