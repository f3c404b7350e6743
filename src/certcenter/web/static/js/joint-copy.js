// /joint/copy: 인증서 복사 between this browser and another device through the center's relay
// (/v1/certificate-copies, docs/certificate-copy.md). Receiving: a one-time X25519 key, the
// relay opened with its public key, the 16-digit code shown, the sealed folder fetched (and
// deleted by the center), opened here and saved as a .pfx under a password the customer
// chooses. Sending: a .pfx opened here, the typed code's fingerprint checked against the key
// the center hands out, the folder (signCert.der + signPri.key under the file's password)
// sealed for that key and uploaded once. The files, passwords and keys stay in this browser.
(function (root) {
  "use strict";

  var der = root.certcenterDer;
  var copy = root.certcenterCopy;
  var API = "/v1/certificate-copies";

  function b64(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
    return btoa(text);
  }

  function unb64(text) {
    var raw = atob(text);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }

  function subjectOf(certificate) {
    var names = { "2.5.4.3": "CN", "2.5.4.11": "OU", "2.5.4.10": "O", "2.5.4.6": "C" };
    var tbs = der.read(certificate).children()[0].children();
    var at = tbs[0].cls === 2 ? 1 : 0;
    var parts = [];
    tbs[at + 4].children().forEach(function (rdn) {
      rdn.children().forEach(function (atv) {
        var pair = atv.children();
        parts.push((names[pair[0].oid()] || pair[0].oid()) + "=" + pair[1].text());
      });
    });
    return parts.reverse().join(",");
  }

  function setUp(box) {
    var words = JSON.parse(box.dataset.words || "{}");
    var errorBox = box.querySelector("[data-manage-error]");
    var status = box.querySelector("[data-manage-status]");
    var field = function (id) { return document.getElementById(id); };
    var lang = (document.documentElement.lang || "ko").slice(0, 2) === "en" ? "en" : "ko";
    var archive = null;
    var waiting = null;  // {relayId, token} while the relay is open: cancelled on leaving

    function show(error) {
      status.hidden = true;
      errorBox.querySelector("[data-error-message]").textContent = error.message || "";
      errorBox.querySelector("[data-error-cause]").textContent = error.cause || "";
      errorBox.querySelector("[data-error-remedy]").textContent = error.remedy || "";
      errorBox.querySelector("[data-error-code]").textContent = error.code || "";
      errorBox.hidden = false;
      errorBox.scrollIntoView({ block: "nearest" });
      errorBox.focus({ preventScroll: true });
    }

    async function explain(failure) {
      if (failure.words) { show(failure.words); return; }
      if (failure.code && words[failure.code]) { show(words[failure.code]); return; }
      var body = new URLSearchParams();
      body.set("code", failure.code || "CERTIFICATE_COPY_PAYLOAD_INVALID");
      body.set("detail", String(failure.detail || "").slice(0, 60));
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
      errorBox.hidden = true;
      status.textContent = status.dataset[step];
      status.hidden = false;
    }

    // the relay's API; a refusal carries the catalog's words in both languages
    async function api(method, path, body, token) {
      var headers = { "Accept": "application/json", "Accept-Language": lang };
      if (body) { headers["Content-Type"] = "application/json"; }
      if (token) { headers.Authorization = "Bearer " + token; }
      var answer = await root.fetch(API + path, {
        method: method, headers: headers, body: body ? JSON.stringify(body) : undefined,
        credentials: "omit"
      });
      var data = await answer.json().catch(function () { return {}; });
      if (!answer.ok) {
        var pick = function (v) { return v && typeof v === "object" ? v[lang] : v; };
        throw { code: data.code, words: data.code ? {
          code: data.code, message: pick(data.message), cause: pick(data.cause),
          remedy: pick(data.remedy)
        } : null };
      }
      return data;
    }

    function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

    // ------------------------------------------------------------ receiving

    async function receive() {
      field("copy-receive-start").disabled = true;
      working("key");
      var receiver = await copy.newReceiver();
      var opened = await api("POST", "", { public_key: b64(receiver.publicBytes) });
      var relayId = String(opened.relay_id);
      var digits = await copy.fingerprint(relayId, receiver.publicBytes);
      field("copy-code").textContent = relayId + "-" + digits;
      field("copy-code-box").hidden = false;
      working("wait");
      waiting = { relayId: relayId, token: opened.token };
      var fetched;
      try {
        for (;;) {
          fetched = await api("GET", "/" + relayId + "/payload", null, opened.token);
          if (fetched.state === "sent") { break; }
          await sleep(1000);
        }
      } finally {
        waiting = null;  // fetched (the center deleted it), expired or refused
      }
      var plain = await copy.open(receiver, relayId, unb64(fetched.payload), digits);
      var document_;
      try {
        document_ = JSON.parse(new TextDecoder().decode(plain));
        archive = {
          certificate: unb64(document_.files["signCert.der"]),
          keyFile: unb64(document_.files["signPri.key"])
        };
        field("copy-holder").textContent = subjectOf(archive.certificate);
      } catch (e) {
        throw { code: "CERTIFICATE_COPY_PAYLOAD_INVALID", detail: "not a certificate folder" };
      }
      status.hidden = true;
      field("copy-code-box").hidden = true;
      field("copy-open-form").hidden = false;
    }

    async function save() {
      var fresh = field("copy-new-password").value;
      if (fresh !== field("copy-new-password-again").value) {
        throw { code: "NPKI_PASSWORD_CONFIRMATION_MISMATCH" };
      }
      working("open");
      var key = await copy.readKeyFile(archive.keyFile, field("copy-password").value);
      working("file");
      var pfx = await root.certcenterPfx.build({
        privateKeyInfo: key.privateKeyInfo, certificate: archive.certificate, chain: [],
        randomNum: key.randomNum, password: fresh, friendlyName: subjectOf(archive.certificate)
      });
      ["copy-password", "copy-new-password", "copy-new-password-again"].forEach(function (id) {
        field(id).value = "";
      });
      archive = null;
      status.hidden = true;
      field("copy-open-form").hidden = true;
      var link = field("copy-file");
      link.href = URL.createObjectURL(new Blob([pfx], { type: "application/x-pkcs12" }));
      link.download = "joint-certificate-copy.pfx";
      field("copy-received").hidden = false;
      link.click();
    }

    // ------------------------------------------------------------ sending

    async function send() {
      var code = copy.parseCode(field("copy-send-code").value);  // before anything is sent
      var file = field("joint-file").files[0];
      if (!file) { throw { code: "PKCS12_FILE_INVALID", detail: "no file" }; }
      working("open");
      var password = field("joint-password").value;
      var opened = await root.certcenterPfx.open(new Uint8Array(await file.arrayBuffer()),
                                                 password);
      var keyFile = await copy.writeKeyFile(opened.privateKeyInfo, opened.randomNum, password);
      field("joint-password").value = "";
      working("seal");
      var shown = await api("GET", "/" + code.relayId);
      var publicBytes = unb64(shown.public_key);
      await copy.checkFingerprint(code.relayId, publicBytes, code.digits);
      var folder = new TextEncoder().encode(JSON.stringify({
        v: 1, ca: null, files: { "signCert.der": b64(opened.certificate),
                                 "signPri.key": b64(keyFile) }
      }));
      var sealed = await copy.seal(code.relayId, publicBytes, folder);
      await api("PUT", "/" + code.relayId + "/payload", { payload: b64(sealed) });
      status.hidden = true;
      field("copy-send-form").hidden = true;
      field("copy-sent").hidden = false;
    }

    function guarded(action) {
      return function (event) {
        if (event) { event.preventDefault(); }
        if (!root.crypto || !root.crypto.subtle) {
          explain({ code: "WEB_JOINT_BROWSER_UNSUPPORTED" });
          return;
        }
        action().catch(function (failure) {
          field("copy-receive-start").disabled = false;
          field("copy-code-box").hidden = true;
          explain(failure && failure.code ? failure
            : { code: "WEB_JOINT_BROWSER_UNSUPPORTED", detail: String(failure) });
        });
      };
    }

    // leaving the page while waiting: the relay goes now rather than at its time
    root.addEventListener("pagehide", function () {
      if (!waiting) { return; }
      root.fetch(API + "/" + waiting.relayId, {
        method: "DELETE", headers: { Authorization: "Bearer " + waiting.token },
        credentials: "omit", keepalive: true
      }).catch(function () { /* the relay expires on its own */ });
      waiting = null;
    });

    field("copy-receive-start").addEventListener("click", guarded(receive));
    field("copy-open-form").addEventListener("submit", guarded(save));
    field("copy-send-form").addEventListener("submit", guarded(send));
  }

  function start() {
    var box = document.querySelector("[data-joint-copy]");
    if (box) { setUp(box); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})(window);
