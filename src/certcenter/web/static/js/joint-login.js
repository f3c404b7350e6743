// /login/joint and the OpenID login (/oidc/login): log in with a joint certificate's .pfx
// file. The file is opened here with the password (joint-pfx.js: MAC checked, PBES2 undone
// with WebCrypto); a challenge is asked of
// the center, its text signed with the key (RSASSA-PKCS1-v1_5, SHA-256), and only the
// challenge, the signature and the certificate are posted. Neither the file nor the password
// leaves the browser. A refusal before posting is shown with the catalog's words
// (POST /joint/explain); the center's own refusals come back as the page's error box.
// <form data-joint-login="/login/joint/challenge">: where the challenge is asked for. A form
// with a random_num field (/joint/other, 타기관 인증서 등록) also gets the VID random value R.
(function (root) {
  "use strict";

  function base64(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
    return root.btoa(text);
  }

  function setUp(form) {
    var box = form.querySelector("[data-login-error]");
    var button = form.querySelector("[data-login-button]");

    function show(error) {
      box.querySelector("[data-error-message]").textContent = error.message || "";
      box.querySelector("[data-error-cause]").textContent = error.cause || "";
      box.querySelector("[data-error-remedy]").textContent = error.remedy || "";
      box.querySelector("[data-error-code]").textContent = error.code || "";
      box.hidden = false;
      box.focus();
    }

    async function explain(failure) {
      var body = new URLSearchParams();
      body.set("code", failure.code || "PKCS12_FILE_INVALID");
      body.set("detail", String(failure.detail || "").slice(0, 60));
      try {
        var answer = await root.certcenter.fetch("/joint/explain", { method: "POST", body: body });
        show(await answer.json());
      } catch (e) {
        show({ code: failure.code, message: String(failure.message || failure) });
      }
    }

    async function logIn() {
      box.hidden = true;
      var file = document.getElementById("joint-file").files[0];
      var password = document.getElementById("joint-password").value;
      if (!file) { return; }
      if (!root.crypto || !root.crypto.subtle || !root.certcenterPfx) {
        await explain({ code: "WEB_JOINT_BROWSER_UNSUPPORTED" });
        return;
      }
      button.disabled = true;
      try {
        var opened = await root.certcenterPfx.open(
          new Uint8Array(await file.arrayBuffer()), password
        );
        var key = await root.crypto.subtle.importKey(
          "pkcs8", opened.privateKeyInfo, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
          false, ["sign"]
        );
        var challengeUrl = form.dataset.jointLogin || "/login/joint/challenge";
        var answer = await root.certcenter.fetch(challengeUrl, { method: "POST" });
        var issued = await answer.json();
        var signature = new Uint8Array(await root.crypto.subtle.sign(
          "RSASSA-PKCS1-v1_5", key, new TextEncoder().encode(issued.sign)
        ));
        form.elements.challenge.value = issued.challenge;
        form.elements.signature.value = base64(signature);
        form.elements.certificate.value = base64(opened.certificate);
        if (form.elements.random_num) {  // /joint/other: R for the VID check
          form.elements.random_num.value = base64(opened.randomNum || new Uint8Array(0));
        }
        document.getElementById("joint-password").value = "";
        form.submit();
      } catch (failure) {
        button.disabled = false;
        await explain(failure && failure.code ? failure : {
          code: "PKCS12_FILE_INVALID", detail: String(failure && failure.message || failure)
        });
      }
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      logIn();
    });
  }

  function start() {
    var form = document.querySelector("form[data-joint-login]");
    if (form) { setUp(form); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})(window);
