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

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpMenu);
  } else {
    setUpMenu();
  }
})();
