// The Turing test without page reloads: the same form is posted with fetch (asking for JSON), and the
// next image replaces the current one. Keys: R real, S synthetic, 1-3 confidence. Without this script
// the plain form does the same with a reload. A practice or timed trial (data-reload) keeps the reload:
// the keys press its buttons, and a timed one counts down and, when time is up, goes on by itself (the
// server decides either way: a late answer is stored as timed out). The page's words come from its data-*.
(function () {
  "use strict";
  var form = document.getElementById("turing-form");
  if (!form) return;
  var reload = form.dataset.reload === "1" || !window.fetch;
  var busy = false;

  function field(name) { return form.elements.namedItem(name); }
  function words(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? values[key] : all; });
  }

  function show(state) {
    if (state.done) { window.location.assign(state.url); return; }
    field("position").value = state.position;
    field("token").value = state.token;
    var img = document.getElementById("turing-image");
    img.src = state.image;
    img.alt = words(form.dataset.alt, {n: state.position + 1});
    form.querySelector("progress").value = state.position;
    document.getElementById("turing-count").textContent = words(form.dataset.count,
                                                                {n: state.position + 1, total: state.total});
    var box = document.getElementById("turing-feedback");
    var f = state.feedback;
    box.textContent = f ? words(form.dataset.said, {n: f.position, truth: form.dataset[f.truth] || f.truth,
                                                    answer: form.dataset[f.answer] || f.answer}) +
      " " + (f.correct ? form.dataset.right : form.dataset.wrong) + "." : "";
    form.querySelectorAll("input[name=confidence]").forEach(function (r) { r.checked = false; });
    form.querySelector("button[value=real]").focus();
  }

  function press(button) {
    if (busy || !button) return;
    busy = true;
    if (form.requestSubmit) form.requestSubmit(button); else button.click();
  }

  function send(answer) {
    if (reload) { press(form.querySelector("button[name=answer][value=" + answer + "]")); return; }
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

  function countDown(timer) {
    var left = parseInt(timer.dataset.seconds, 10);
    function tick() {
      timer.textContent = words(timer.dataset.format, {s: Math.max(0, left)});
      if (left <= 0) {
        form.classList.add("turing-over");
        press(form.querySelector("button[name=time_up]"));
        return;
      }
      left -= 1;
      window.setTimeout(tick, 1000);
    }
    tick();
  }

  form.addEventListener("submit", function (event) {
    if (reload) { busy = true; return; }  // the plain form goes, once
    event.preventDefault();
    var button = event.submitter || document.activeElement;
    send(button && button.value === "synthetic" ? "synthetic" : "real");
  });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var key = event.key.toLowerCase();
    if (form.classList.contains("turing-over")) return;
    if (key === "r" || key === "s") { event.preventDefault(); send(key === "r" ? "real" : "synthetic"); }
    if (key === "1" || key === "2" || key === "3") {
      var radio = form.querySelector("input[name=confidence][value='" + key + "']");
      if (radio) radio.checked = true;
    }
  });
  var timer = document.getElementById("turing-timer");
  if (timer) countDown(timer);
})();
