/* certcenter web center: small progressive enhancements. Loaded as a file (the
   Content-Security-Policy refuses inline scripts); every page works without it. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  /* The menu button on small screens opens and closes the main menu. */
  function setUpMenu() {
    var toggle = document.querySelector(".menu-toggle");
    var nav = document.getElementById("site-nav");
    if (!toggle || !nav) {
      return;
    }
    toggle.addEventListener("click", function () {
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  /* fetch() that sends this web session's CSRF token in its header:
     certcenter.fetch("/path", {method: "POST", body: new FormData(form)}) */
  function fetchWithToken(url, options) {
    var settings = options || {};
    var headers = new Headers(settings.headers || {});
    var token = document.querySelector('meta[name="csrf-token"]');
    var header = document.querySelector('meta[name="csrf-header"]');
    if (token && header) {
      headers.set(header.content, token.content);
    }
    settings.headers = headers;
    settings.credentials = "same-origin";
    return window.fetch(url, settings);
  }

  window.certcenter = { fetch: fetchWithToken };

  /* The session bar's time left before the idle logout, counted down each second; the
     last minute is marked, and at zero it says the browser is logged out. */
  function setUpSessionClock() {
    var left = document.querySelector("[data-session-left]");
    if (!left) {
      return;
    }
    var bar = left.closest("[data-session-bar]");
    var deadline = Date.now() + parseInt(left.getAttribute("data-session-left"), 10) * 1000;
    function show() {
      var seconds = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      if (seconds === 0) {
        left.textContent = left.getAttribute("data-expired");
        return;
      }
      var rest = seconds % 60;
      left.textContent = Math.floor(seconds / 60) + ":" + (rest < 10 ? "0" : "") + rest;
      if (bar) {
        bar.classList.toggle("session-warn", seconds <= 60);
      }
      window.setTimeout(show, 1000);
    }
    show();
  }

  /* A refused form comes back with the error summary on top: it takes the focus, so the
     keyboard and the screen reader start from what went wrong and its remedy. */
  function focusErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary && !summary.hidden) {
      summary.focus();
    }
  }

  /* A [data-print] button (hidden without script) prints the page: the transfer receipt. */
  function setUpPrint() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        window.print();
      });
    });
  }

  function setUp() {
    setUpMenu();
    setUpSessionClock();
    setUpPrint();
    focusErrorSummary();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
