/* certcenter web center: the countdown of a time-limited code (SMS code, ARS number, app
   approval code, security card question). Loaded as a file (the Content-Security-Policy
   refuses inline scripts); without it the page keeps its static hint ("180초 안에 입력해
   주세요") and the resend button.

   The server writes, on the countdown's element (ui.countdown in macros.html):
     data-countdown                 the element, hidden until this script shows it
     data-expires-at="…"            the code's expiry as the center stored it (ISO 8601)
     data-seconds-left="172"        the seconds from the page's making to that expiry
   The clock counts from the page's arrival with the server's seconds, so a browser whose
   clock is wrong still shows the time the center will accept. The visible mm:ss changes each
   second; the polite live region speaks only when the minute changes and at the end, so a
   screen reader is not interrupted every second. At zero the running clock is replaced by
   the element's [data-countdown-expired] part (the code expired; send a new one). */
(function () {
  "use strict";

  function pad(value) {
    return (value < 10 ? "0" : "") + value;
  }

  function clock(seconds) {
    return pad(Math.floor(seconds / 60)) + ":" + pad(seconds % 60);
  }

  function start(box) {
    var left = parseInt(box.getAttribute("data-seconds-left"), 10);
    if (isNaN(left)) {
      return;
    }
    var deadline = Date.now() + Math.max(0, left) * 1000;
    var shown = box.querySelector("[data-countdown-clock]");
    var running = box.querySelector("[data-countdown-running]");
    var expired = box.querySelector("[data-countdown-expired]");
    var live = box.querySelector("[data-countdown-live]");
    var minuteText = box.getAttribute("data-minutes-text") || "";
    var lastMinute = null;
    box.hidden = false;

    function tick() {
      var seconds = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      if (seconds === 0) {
        if (running) {
          running.hidden = true;
        }
        if (expired) {
          expired.hidden = false;
        }
        if (live && expired) {
          live.textContent = expired.getAttribute("data-spoken") || "";
        }
        box.setAttribute("data-countdown-state", "expired");
        return;
      }
      if (shown) {
        shown.textContent = clock(seconds);
        shown.setAttribute("datetime", "PT" + seconds + "S");
      }
      var minute = Math.ceil(seconds / 60);
      if (live && minute !== lastMinute) {
        if (lastMinute !== null) { /* the first minute is in the page already */
          live.textContent = minuteText.replace("{minutes}", String(minute));
        }
        lastMinute = minute;
      }
      window.setTimeout(tick, ((deadline - Date.now()) % 1000 || 1000) + 5);
    }
    tick();
  }

  function setUp() {
    var boxes = document.querySelectorAll("[data-countdown]");
    for (var i = 0; i < boxes.length; i += 1) {
      start(boxes[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
