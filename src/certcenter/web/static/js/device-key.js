// The browser's device key for the financial certificate (금융인증서 이용 기기 키).
//
// An ECDSA P-256 key made by WebCrypto with extractable = false: the private key can sign
// inside this browser but its bytes can never be read by any script, this one included.
// It is kept in IndexedDB (the browser stores the CryptoKey object itself), so a later
// visit proves "this is a registered device" by a signature instead of another SMS code.
//
// The pages use it declaratively (no inline script: the content security policy forbids it):
//   <form data-device-key>            before submit, fills <input name="device_public_key">
//                                     (SubjectPublicKeyInfo, base64) and name="device_label"
//   <form data-device-sign="BASE64">  before submit, signs the given bytes and fills
//                                     <input name="device_signature"> (raw r||s, base64)
//   <form data-device-known>          fills name="device_public_key" only if a key exists
//   [data-device-status]              shows whether this browser holds a key
// A submit button marked data-device-wait is rendered disabled and enabled here once its form
// is intercepted, so a click that comes before this script cannot post the form unsigned.
(function () {
  "use strict";

  var DB_NAME = "certcenter";
  var STORE = "keys";
  var KEY_ID = "financial-device";
  var ALGORITHM = { name: "ECDSA", namedCurve: "P-256" };
  var SIGNATURE = { name: "ECDSA", hash: "SHA-256" };

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE);
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result = work(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(result.value); };
        tx.onerror = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function load() {
    return withStore("readonly", function (store) {
      var holder = {};
      var request = store.get(KEY_ID);
      request.onsuccess = function () { holder.value = request.result || null; };
      return holder;
    });
  }

  function save(record) {
    return withStore("readwrite", function (store) {
      store.put(record, KEY_ID);
      return { value: record };
    });
  }

  function toBase64(buffer) {
    var bytes = new Uint8Array(buffer);
    var text = "";
    for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
    return btoa(text);
  }

  function fromBase64(text) {
    var raw = atob(text);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  function create() {
    return crypto.subtle.generateKey(ALGORITHM, false, ["sign", "verify"]).then(function (pair) {
      return crypto.subtle.exportKey("spki", pair.publicKey).then(function (spki) {
        return save({ privateKey: pair.privateKey, spki: toBase64(spki), created: Date.now() });
      });
    });
  }

  function ensure() {
    return load().then(function (record) { return record || create(); });
  }

  function sign(base64Data) {
    return load().then(function (record) {
      if (!record) { throw new Error("no device key in this browser"); }
      return crypto.subtle.sign(SIGNATURE, record.privateKey, fromBase64(base64Data))
        .then(toBase64);
    });
  }

  function label() {
    var ua = navigator.userAgent || "";
    var browser = /Edg\//.test(ua) ? "Edge" : /Chrome\//.test(ua) ? "Chrome"
      : /Firefox\//.test(ua) ? "Firefox" : /Safari\//.test(ua) ? "Safari" : "Browser";
    var system = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS"
      : /Windows/.test(ua) ? "Windows" : /Mac OS X/.test(ua) ? "macOS"
      : /Linux/.test(ua) ? "Linux" : "";
    return (browser + (system ? " · " + system : "")).slice(0, 100);
  }

  function setField(form, name, value) {
    var input = form.querySelector('input[name="' + name + '"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    input.value = value;
  }

  function intercept(form, prepare) {
    form.querySelectorAll("[data-device-wait]").forEach(function (button) {
      button.disabled = false;
    });
    form.addEventListener("submit", function (event) {
      if (form.dataset.devicePrepared === "1") { return; }
      event.preventDefault();
      var button = form.querySelector('[type="submit"]');
      if (button) { button.disabled = true; }
      prepare(form).then(function () {
        form.dataset.devicePrepared = "1";
        form.submit();
      }).catch(function (error) {
        if (button) { button.disabled = false; }
        var box = form.querySelector("[data-device-error]");
        if (box) { box.hidden = false; box.dataset.detail = String(error); }
      });
    });
  }

  function init() {
    if (!window.crypto || !crypto.subtle || !window.indexedDB) {
      document.querySelectorAll("[data-device-unsupported]").forEach(function (el) {
        el.hidden = false;
      });
      return;
    }
    document.querySelectorAll("form[data-device-key]").forEach(function (form) {
      intercept(form, function () {
        return ensure().then(function (record) {
          setField(form, "device_public_key", record.spki);
          setField(form, "device_label", label());
        });
      });
    });
    document.querySelectorAll("form[data-device-sign]").forEach(function (form) {
      intercept(form, function () {
        return sign(form.dataset.deviceSign).then(function (signature) {
          setField(form, "device_signature", signature);
        });
      });
    });
    document.querySelectorAll("form[data-device-known]").forEach(function (form) {
      intercept(form, function () {
        return load().then(function (record) {
          setField(form, "device_public_key", record ? record.spki : "");
        });
      });
    });
    load().then(function (record) {
      document.querySelectorAll("[data-device-status]").forEach(function (el) {
        el.dataset.deviceStatus = record ? "present" : "absent";
        var which = el.querySelector(record ? "[data-if-present]" : "[data-if-absent]");
        if (which) { which.hidden = false; }
      });
    });
  }

  window.certcenterDevice = { ensure: ensure, sign: sign, load: load };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
