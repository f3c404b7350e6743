// The way back to the site that asked for the login (OpenID Connect):
//   <a data-return-to href="https://site/callback?code=…">   followed at once; the link stays
//                                                           for a browser without scripts
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var link = document.querySelector("a[data-return-to]");
    if (link) { window.location.assign(link.href); }
  });
})();
