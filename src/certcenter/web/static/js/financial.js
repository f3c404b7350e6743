// The financial-certificate pages (issue, login, transfer): small enhancements, every page
// works without them. Loaded as a file (the Content-Security-Policy refuses inline script).
//
//   <input type="checkbox" data-check-all>       ticks every other box of its fieldset
//   <div data-poll-url="/path">                  POSTs there every 2 s (session cookie and the
//                                                CSRF header, certcenter.fetch) until the JSON
//                                                answer's state is "approved" (then goes to
//                                                its "next") or "error" (shows its words in
//                                                [data-poll-error]); [data-poll-status] shows
//                                                that it is waiting
(function () {
  "use strict";

  var POLL_MS = 2000;

  function setUpCheckAll() {
    document.querySelectorAll("input[data-check-all]").forEach(function (all) {
      var group = all.closest("fieldset") || document;
      var boxes = Array.prototype.filter.call(
        group.querySelectorAll('input[type="checkbox"]'),
        function (box) { return box !== all; }
      );
      var label = all.closest("label");
      if (label) { label.hidden = false; }
      all.addEventListener("change", function () {
        boxes.forEach(function (box) { box.checked = all.checked; });
      });
      boxes.forEach(function (box) {
        box.addEventListener("change", function () {
          all.checked = boxes.every(function (b) { return b.checked; });
        });
      });
    });
  }

  function showError(box, answer) {
    var error = box.querySelector("[data-poll-error]");
    if (!error) { return; }
    var fill = function (selector, text) {
      var el = error.querySelector(selector);
      if (el) { el.textContent = text || ""; }
    };
    fill("[data-poll-message]", answer.message);
    fill("[data-poll-cause]", answer.cause);
    fill("[data-poll-remedy]", answer.remedy);
    error.hidden = false;
  }

  function poll(box) {
    var url = box.getAttribute("data-poll-url");
    var status = box.querySelector("[data-poll-status]");
    if (status) { status.hidden = false; }
    var stopped = false;

    function once() {
      if (stopped || !window.certcenter) { return; }
      window.certcenter.fetch(url, { method: "POST" })
        .then(function (response) {
          var type = response.headers.get("content-type") || "";
          if (type.indexOf("application/json") === -1) {
            throw new Error("status " + response.status);
          }
          return response.json();
        })
        .then(function (answer) {
          if (answer.state === "approved" && answer.next) {
            stopped = true;
            window.location.assign(answer.next);
          } else if (answer.state === "error") {
            stopped = true;
            if (status) { status.hidden = true; }
            showError(box, answer);
          } else {
            window.setTimeout(once, POLL_MS);
          }
        })
        .catch(function () { window.setTimeout(once, POLL_MS * 2); });
    }

    window.setTimeout(once, POLL_MS);
  }

  function init() {
    setUpCheckAll();
    document.querySelectorAll("[data-poll-url]").forEach(poll);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
