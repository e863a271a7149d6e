// Live progress of background imports: polls each job's status and updates
// the page; reloads it when the job ends. Without JavaScript the page
// refreshes itself instead (a <noscript> meta refresh).
(function () {
  "use strict";
  var jobs = document.querySelectorAll("[data-job]");
  if (!jobs.length) { return; }
  function poll(el) {
    fetch(el.getAttribute("data-job"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { return; }
        if (s.finished || (s.status !== "running" && s.status !== "queued")) { window.location.reload(); return; }
        var bar = el.querySelector("progress");
        if (s.total) {
          if (!bar) { bar = document.createElement("progress"); el.insertBefore(bar, el.firstChild); }
          bar.max = s.total; bar.value = s.done;
        }
        var text = el.querySelector(".job-text");
        if (text && s.done) { text.textContent = text.textContent.split(" — ")[0] + " — " + s.done; }
        window.setTimeout(function () { poll(el); }, 1500);
      })
      .catch(function () { window.setTimeout(function () { poll(el); }, 5000); });
  }
  Array.prototype.forEach.call(jobs, function (el) { window.setTimeout(function () { poll(el); }, 1000); });
})();
