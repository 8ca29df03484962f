// The page of a patron import that is running. Without this script the page reloads itself
// every 2 seconds (a meta refresh, in <noscript>); with it, the page stays and asks for itself
// every 2 seconds, putting the new progress in place: the bar, and the status line, which a
// screen reader announces (aria-live) without losing its place. Once the import has finished,
// the page is loaded once more, with its outcome.
"use strict";
(function () {
  var job = document.getElementById("job");
  if (!job || !job.hasAttribute("data-updating")) {
    return;
  }
  function put(next, id, attributes) {
    var here = document.getElementById(id);
    var there = next.getElementById(id);
    if (!here || !there) {
      return;
    }
    attributes.forEach(function (name) {
      here.setAttribute(name, there.getAttribute(name) || "");
    });
    if (here.textContent !== there.textContent) {
      here.textContent = there.textContent;
    }
  }
  function update() {
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) {
        return answer.ok ? answer.text() : Promise.reject(answer.status);
      })
      .then(function (text) {
        var next = new DOMParser().parseFromString(text, "text/html");
        var state = next.getElementById("job");
        if (!state || !state.hasAttribute("data-updating")) {
          window.location.reload();
          return;
        }
        put(next, "progress", ["max", "value"]);
        put(next, "progress-text", []);
        window.setTimeout(update, 2000);
      })
      .catch(function () {
        window.setTimeout(update, 2000);
      });
  }
  window.setTimeout(update, 2000);
})();
