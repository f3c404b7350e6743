// /joint/issue: the joint certificate issued in this browser and saved as a .pfx file.
//
// 1. the certificate password is checked against the center's rule (its limits and words are
//    in the form's data attributes) and its confirmation: a refusal here sends nothing;
// 2. an RSA-2048 key (WebCrypto, RSASSA-PKCS1-v1_5 SHA-256) is made;
// 3. CMP ir → ip with the reference number and a MAC keyed by the authorization code
//    (joint-cmp.js); the code is never sent;
// 4. the PKCS#12 file is written (joint-pfx.js), then certConf → pkiConf; only a confirmed
//    certificate is offered as a download (a failed confirmation: the center revokes it).
// Refusals are the catalog's words in the page's language: from the page (the password, an
// unsupported browser) or asked of POST /joint/explain for the code the server wrote.
(function (root) {
  "use strict";

  var ALLOWED = /^[\x21-\x7e]+$/;
  var REPEAT = /(.)\1\1/;

  // the reason the password breaks the rule (certcenter.npki.password.weak_reason), or null
  function weakReason(password, min, max) {
    if (password.length < min) { return "too_short"; }
    if (password.length > max) { return "too_long"; }
    if (!ALLOWED.test(password)) { return "bad_character"; }
    if (!/[A-Za-z]/.test(password)) { return "no_letter"; }
    if (!/[0-9]/.test(password)) { return "no_digit"; }
    if (/^[A-Za-z0-9]+$/.test(password)) { return "no_symbol"; }
    if (REPEAT.test(password)) { return "repeated"; }
    return null;
  }

  function setUp(form) {
    var words = JSON.parse(form.dataset.words || "{}");
    var min = Number(form.dataset.minLength);
    var max = Number(form.dataset.maxLength);
    var box = form.querySelector("[data-issue-error]");
    var status = form.querySelector("[data-issue-status]");
    var button = form.querySelector("[data-issue-button]");
    var done = document.querySelector("[data-issue-done]");
    var field = function (id) { return document.getElementById(id); };

    function show(error) {
      status.hidden = true;
      box.querySelector("[data-error-message]").textContent = error.message || "";
      box.querySelector("[data-error-cause]").textContent = error.cause || "";
      box.querySelector("[data-error-remedy]").textContent = error.remedy || "";
      box.querySelector("[data-error-code]").textContent = error.code || "";
      box.hidden = false;
      box.scrollIntoView({ block: "nearest" });
      box.focus({ preventScroll: true });
    }

    async function explain(failure) {
      var body = new URLSearchParams();
      body.set("code", failure.code || "CMP_REFUSED");
      body.set("detail", String(failure.detail || "").slice(0, 60));
      try {
        var answer = await root.certcenter.fetch("/joint/explain", {
          method: "POST", body: body
        });
        show(await answer.json());
      } catch (e) {
        show({ code: failure.code, message: failure.message || String(failure) });
      }
    }

    function working(step) {
      status.textContent = status.dataset[step];
      status.hidden = false;
    }

    function save(bytes, serial) {
      var link = done.querySelector("[data-issued-file]");
      var url = URL.createObjectURL(new Blob([bytes], { type: "application/x-pkcs12" }));
      link.href = url;
      link.download = "joint-certificate-" + serial + ".pfx";
      link.click();
    }

    function serialOf(certificate) {
      var der = root.certcenterDer;
      var tbs = der.read(certificate).children()[0].children();
      var at = tbs[0].cls === 2 ? 1 : 0;
      var serial = tbs[at].body;
      // the center writes a serial as its number in hex, without leading zeros (04AB… is 4AB…)
      var text = der.hex(serial).toUpperCase().replace(/^0+/, "");
      return text === "" ? "0" : text;
    }

    function subjectOf(certificate) {
      var der = root.certcenterDer;
      var tbs = der.read(certificate).children()[0].children();
      var at = tbs[0].cls === 2 ? 1 : 0;
      var parts = [];
      tbs[at + 4].children().forEach(function (rdn) {
        rdn.children().forEach(function (atv) {
          var pair = atv.children();
          var names = { "2.5.4.3": "CN", "2.5.4.11": "OU", "2.5.4.10": "O", "2.5.4.6": "C" };
          parts.push((names[pair[0].oid()] || pair[0].oid()) + "=" + pair[1].text());
        });
      });
      return parts.reverse().join(",");
    }

    async function issue() {
      box.hidden = true;
      var reference = field("joint-reference").value.trim();
      var code = field("joint-code").value.trim().toUpperCase();
      var password = field("joint-password").value;
      var again = field("joint-password-again").value;
      var reason = weakReason(password, min, max);
      if (reason) { show(words["weak:" + reason]); return; }
      if (password !== again) { show(words.NPKI_PASSWORD_CONFIRMATION_MISMATCH); return; }
      if (!root.crypto || !root.crypto.subtle || !root.certcenterCmp || !root.certcenterPfx) {
        show(words.WEB_JOINT_BROWSER_UNSUPPORTED);
        return;
      }
      button.disabled = true;
      try {
        working("key");
        var keyPair = await root.crypto.subtle.generateKey(
          {
            name: "RSASSA-PKCS1-v1_5",
            modulusLength: 2048,
            publicExponent: new Uint8Array([1, 0, 1]),
            hash: "SHA-256"
          },
          true,
          ["sign", "verify"]
        );
        var spki = new Uint8Array(await root.crypto.subtle.exportKey("spki", keyPair.publicKey));
        working("cmp");
        var pending = await root.certcenterCmp.initial({
          reference: reference, code: code, keyPair: keyPair, spki: spki
        });
        working("file");
        var pkcs8 = new Uint8Array(
          await root.crypto.subtle.exportKey("pkcs8", keyPair.privateKey)
        );
        var subject = subjectOf(pending.certificate);
        var pfx = await root.certcenterPfx.build({
          privateKeyInfo: pkcs8,
          certificate: pending.certificate,
          chain: pending.chain,
          randomNum: pending.randomNum,
          password: password,
          friendlyName: subject.split(",")[0].replace(/^CN=/, "")
        });
        working("cmp");
        await pending.confirm();
        var serial = serialOf(pending.certificate);
        status.hidden = true;
        form.hidden = true;
        done.querySelector("[data-issued-subject]").textContent = subject;
        done.querySelector("[data-issued-serial]").textContent = serial;
        done.hidden = false;
        save(pfx, serial);
      } catch (failure) {
        await explain(failure && failure.code ? failure : {
          code: "CMP_ANSWER_INVALID", detail: String(failure && failure.message || failure)
        });
      } finally {
        button.disabled = false;
        field("joint-code").value = "";
      }
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      issue();
    });
  }

  root.certcenterJointIssue = { weakReason: weakReason };

  function start() {
    var form = document.querySelector("form[data-joint-issue]");
    if (form) { setUp(form); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})(window);
