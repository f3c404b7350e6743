// /joint/renew and /joint/revoke: the joint certificate renewed or revoked from its .pfx file.
//
// Both open the file here with its password (joint-pfx.js) and sign CMP messages with the
// certificate's own key (joint-cmp.js), as the app and `openssl cmp -cmd kur|rr` do:
// - renew: the new file's password is checked against the center's rule first (nothing is
//   sent before), a new RSA-2048 key is made, kur → kup, the new .pfx is written (the old
//   file's VID random value kept), then certConf → pkiConf; only then is the file offered;
// - revoke: rr with the chosen reason → rp.
// Refusals are the catalog's words, asked of POST /joint/manage/explain for the code the
// center wrote (JOINT_RENEWAL_TOO_EARLY, CERTIFICATE_ALREADY_REVOKED, …) or met here.
(function (root) {
  "use strict";

  var der = root.certcenterDer;
  var subtle = root.crypto && root.crypto.subtle;

  // a certificate's notAfter as ISO 8601 (UTCTime or GeneralizedTime)
  function notAfterOf(certificate) {
    var time = root.certcenterCmp.tbsOf(certificate).validity.children()[1];
    var text = time.text();
    if (time.tag === 0x17) { // UTCTime: YYMMDDHHMMSSZ
      var yy = Number(text.slice(0, 2));
      text = (yy >= 50 ? "19" : "20") + text;
    }
    return text.slice(0, 4) + "-" + text.slice(4, 6) + "-" + text.slice(6, 8) + "T" +
      text.slice(8, 10) + ":" + text.slice(10, 12) + ":" + text.slice(12, 14) + "+00:00";
  }

  function serialOf(certificate) {
    var text = der.hex(root.certcenterCmp.tbsOf(certificate).serial.body)
      .toUpperCase().replace(/^0+/, "");
    return text === "" ? "0" : text;
  }

  function subjectOf(certificate) {
    var names = { "2.5.4.3": "CN", "2.5.4.11": "OU", "2.5.4.10": "O", "2.5.4.6": "C" };
    var parts = [];
    root.certcenterCmp.tbsOf(certificate).subject.children().forEach(function (rdn) {
      rdn.children().forEach(function (atv) {
        var pair = atv.children();
        parts.push((names[pair[0].oid()] || pair[0].oid()) + "=" + pair[1].text());
      });
    });
    return parts.reverse().join(",");
  }

  function setUp(form) {
    var action = form.dataset.jointManage;
    var words = JSON.parse(form.dataset.words || "{}");
    var box = form.querySelector("[data-manage-error]");
    var status = form.querySelector("[data-manage-status]");
    var button = form.querySelector("[data-manage-button]");
    var done = document.querySelector("[data-manage-done]");
    var field = function (id) { return document.getElementById(id); };
    var opened = null;

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
      if (opened) { body.set("not_after", notAfterOf(opened.certificate)); }
      try {
        var answer = await root.certcenter.fetch("/joint/manage/explain", {
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

    function finish(certificate, file) {
      status.hidden = true;
      form.hidden = true;
      done.querySelector("[data-done-subject]").textContent = subjectOf(certificate);
      done.querySelector("[data-done-serial]").textContent = serialOf(certificate);
      done.hidden = false;
      if (file) {
        var link = done.querySelector("[data-done-file]");
        link.href = URL.createObjectURL(new Blob([file], { type: "application/x-pkcs12" }));
        link.download = "joint-certificate-" + serialOf(certificate) + ".pfx";
        link.click();
      }
    }

    async function openFile() {
      var file = field("joint-file").files[0];
      if (!file) { throw { code: "PKCS12_FILE_INVALID", detail: "no file" }; }
      working("open");
      opened = await root.certcenterPfx.open(
        new Uint8Array(await file.arrayBuffer()), field("joint-password").value
      );
      field("joint-password").value = "";
      var key = await subtle.importKey(
        "pkcs8", opened.privateKeyInfo, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
        false, ["sign"]
      );
      return key;
    }

    async function renew() {
      var password = field("joint-new-password").value;
      var again = field("joint-new-password-again").value;
      var reason = root.certcenterJointIssue.weakReason(
        password, Number(form.dataset.minLength), Number(form.dataset.maxLength)
      );
      if (reason) { show(words["weak:" + reason]); return; }
      if (password !== again) { show(words.NPKI_PASSWORD_CONFIRMATION_MISMATCH); return; }
      var oldKey = await openFile();
      working("key");
      var keyPair = await subtle.generateKey(
        {
          name: "RSASSA-PKCS1-v1_5",
          modulusLength: 2048,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: "SHA-256"
        },
        true,
        ["sign", "verify"]
      );
      var spki = new Uint8Array(await subtle.exportKey("spki", keyPair.publicKey));
      working("cmp");
      var pending = await root.certcenterCmp.keyUpdate({
        certificate: opened.certificate, privateKey: oldKey, keyPair: keyPair, spki: spki
      });
      working("file");
      var pkcs8 = new Uint8Array(await subtle.exportKey("pkcs8", keyPair.privateKey));
      var pfx = await root.certcenterPfx.build({
        privateKeyInfo: pkcs8,
        certificate: pending.certificate,
        chain: pending.chain.length ? pending.chain : opened.chain,
        randomNum: opened.randomNum,
        password: password,
        friendlyName: subjectOf(pending.certificate).split(",")[0].replace(/^CN=/, "")
      });
      working("cmp");
      await pending.confirm();
      finish(pending.certificate, pfx);
    }

    async function revoke() {
      var key = await openFile();
      working("cmp");
      await root.certcenterCmp.revoke({
        certificate: opened.certificate, privateKey: key,
        reason: Number(field("joint-reason").value)
      });
      finish(opened.certificate, null);
    }

    async function run() {
      box.hidden = true;
      opened = null;
      if (!subtle || !root.certcenterCmp || !root.certcenterPfx) {
        show(words.WEB_JOINT_BROWSER_UNSUPPORTED);
        return;
      }
      button.disabled = true;
      try {
        await (action === "renew" ? renew() : revoke());
      } catch (failure) {
        await explain(failure && failure.code ? failure : {
          code: "CMP_ANSWER_INVALID", detail: String(failure && failure.message || failure)
        });
      } finally {
        button.disabled = false;
      }
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      run();
    });
  }

  function start() {
    var form = document.querySelector("form[data-joint-manage]");
    if (form) { setUp(form); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})(window);
