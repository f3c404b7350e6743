// The browser's side of the joint certificate's CMP (RFC 4210, RFC 9483 lightweight profile),
// spoken to the center's own CMP server (POST /cmp, application/pkixcmp, RFC 6712) exactly
// as the app and `openssl cmp` speak it: an ir with the reference number as senderKID,
// protected by PBMAC1 (PBKDF2-HMAC-SHA256 + HMAC-SHA256, WebCrypto) keyed by the
// authorization code, proof of possession by an RSA signature; the ip's MAC is checked with
// the same code before anything in it is used; then certConf (certHash SHA-256) → pkiConf.
// The authorization code itself never leaves the browser: only MACs made with it.
//
//   var pending = await certcenterCmp.initial({reference, code, keyPair, spki});
//   pending.certificate, pending.chain, pending.randomNum      // DER bytes
//   await pending.confirm();                                   // certConf → pkiConf
//
// Renewal and revocation are signed with the key of the certificate (RSASSA-PKCS1-v1_5,
// SHA-256; the certificate first in extraCerts, its subject as the sender), as `openssl cmp
// -cmd kur|rr` sends them:
//
//   var pending = await certcenterCmp.keyUpdate({certificate, privateKey, keyPair, spki});
//   await pending.confirm();                                   // certConf, signed the same way
//   await certcenterCmp.revoke({certificate, privateKey, reason: 1});   // rr → rp
//
// The signed answers come from the origin that served this script: the page checks their
// transaction, nonces and body, and that a renewed certificate holds the new key and the old
// subject; it does not check the responder's signature (the app, which trusts no page, does).
//
// A refusal of the server is thrown as {code: "JOINT_REFERENCE_LOCKED", ...}: the catalog code
// the server writes first in its statusString; an answer that cannot be read or names another
// transaction as {code: "CMP_ANSWER_INVALID"}, one whose MAC fails as {code:
// "CMP_ANSWER_UNTRUSTED"}.
(function (root) {
  "use strict";

  var der = root.certcenterDer;
  var subtle = root.crypto.subtle;
  var OID = {
    pbmac1: "1.2.840.113549.1.5.14",
    pbkdf2: "1.2.840.113549.1.5.12",
    hmacSha256: "1.2.840.113549.2.9",
    sha256WithRsa: "1.2.840.113549.1.1.11",
    randomNum: "1.2.410.200004.10.1.1.3",
    reasonCode: "2.5.29.21"
  };
  var ITERATIONS = 100000;
  var NULL_DN = der.explicit(4, der.seq()); // GeneralName directoryName, the empty Name
  var CODE = /^([A-Z][A-Z0-9_]{2,}):/;

  function refusal(code, detail) {
    var error = new Error(code + (detail ? ": " + detail : ""));
    error.code = code;
    error.detail = detail || "";
    return error;
  }

  function pbmac1(salt, iterations) {
    return der.algorithm(OID.pbmac1, der.seq(
      der.algorithm(OID.pbkdf2, der.seq(
        der.octets(salt), der.int(iterations), der.int(32),
        der.algorithm(OID.hmacSha256, der.nul())
      )),
      der.algorithm(OID.hmacSha256, der.nul())
    ));
  }

  async function mac(secret, salt, iterations, length, data) {
    var base = await subtle.importKey("raw", secret, "PBKDF2", false, ["deriveBits"]);
    var keyBits = await subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt: salt, iterations: iterations }, base, 8 * length
    );
    var key = await subtle.importKey(
      "raw", keyBits, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]
    );
    return new Uint8Array(await subtle.sign("HMAC", key, data));
  }

  function header(state, salt, recipNonce) {
    var signed = Boolean(state.signer);
    var fields = [
      der.int(2), signed ? der.explicit(4, subjectOf(state.signer.certificate)) : NULL_DN,
      NULL_DN,
      der.explicit(0, der.time(new Date())),
      der.explicit(1, signed ? der.algorithm(OID.sha256WithRsa, der.nul()) : pbmac1(salt, ITERATIONS))
    ];
    if (!signed) {
      fields.push(der.explicit(2, der.octets(new TextEncoder().encode(state.reference))));
    }
    fields.push(der.explicit(4, der.octets(state.transactionId)));
    fields.push(der.explicit(5, der.octets(state.nonce)));
    if (recipNonce) { fields.push(der.explicit(6, der.octets(recipNonce))); }
    return der.seq.apply(null, fields);
  }

  async function protectedMessage(state, body, recipNonce) {
    var salt = der.random(16);
    state.nonce = der.random(16);
    var head = header(state, salt, recipNonce);
    if (state.signer) {
      var signature = new Uint8Array(await subtle.sign(
        "RSASSA-PKCS1-v1_5", state.signer.privateKey, der.seq(head, body)
      ));
      return der.seq(
        head, body, der.explicit(0, der.bits(signature)),
        der.explicit(1, der.seq(state.signer.certificate))
      );
    }
    var protection = await mac(state.secret, salt, ITERATIONS, 32, der.seq(head, body));
    return der.seq(head, body, der.explicit(0, der.bits(protection)));
  }

  async function exchange(url, message) {
    var response = await root.fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/pkixcmp" },
      body: message,
      credentials: "omit"
    });
    var type = (response.headers.get("content-type") || "").split(";")[0].trim();
    if (type !== "application/pkixcmp") {
      throw refusal("CMP_ANSWER_INVALID", "HTTP " + response.status);
    }
    return new Uint8Array(await response.arrayBuffer());
  }

  // the answer's parts, its refusal thrown first (whatever its protection: it only stops us)
  function parse(bytes) {
    var message, parts, head, body;
    try {
      message = der.read(bytes);
      parts = message.children();
      head = parts[0];
      body = parts[1];
    } catch (e) {
      throw refusal("CMP_ANSWER_INVALID", "not a PKIMessage");
    }
    if (body.number === 23) { // error
      var info = body.children()[0].children()[0].children();
      var texts = info.length > 1 && info[1].tag === 0x30 ? info[1].children() : [];
      var first = texts.length ? texts[0].text() : "";
      var found = CODE.exec(first);
      throw refusal(found ? found[1] : "CMP_REFUSED", first.slice(0, 200));
    }
    return { message: message, parts: parts, head: head, body: body };
  }

  // a header field by its context tag, after pvno, sender and recipient (the GeneralNames
  // are context-tagged too: directoryName is [4])
  function field(head, n) {
    var list = head.children().slice(3);
    for (var i = 0; i < list.length; i++) {
      if (list[i].cls === 2 && list[i].number === n) { return list[i]; }
    }
    return null;
  }

  // the header's fields checked, then the MAC with the code
  async function check(state, answer, expect) {
    var head = answer.head;
    var tid = field(head, 4);
    var recip = field(head, 6);
    if (!tid || !der.equal(tid.children()[0].body, state.transactionId)) {
      throw refusal("CMP_ANSWER_INVALID", "another transaction");
    }
    if (!recip || !der.equal(recip.children()[0].body, state.nonce)) {
      throw refusal("CMP_ANSWER_INVALID", "recipNonce is not our nonce");
    }
    if (answer.body.number !== expect) {
      throw refusal("CMP_ANSWER_INVALID", "unexpected body [" + answer.body.number + "]");
    }
    var algorithm = field(head, 1);
    var protection = answer.parts[2];
    if (!algorithm || !protection || protection.number !== 0) {
      throw refusal("CMP_ANSWER_UNTRUSTED", "no protection");
    }
    if (state.signer) { // signed by the center's CMP responder (see the top)
      state.recipNonce = field(head, 5).children()[0].body;
      return;
    }
    var alg = algorithm.children()[0].children();
    if (alg[0].oid() !== OID.pbmac1) { throw refusal("CMP_ANSWER_UNTRUSTED", "not PBMAC1"); }
    var params = alg[1].children();
    var kdf = params[0].children()[1].children();
    var salt = kdf[0].body;
    var iterations = 0;
    kdf[1].body.forEach(function (b) { iterations = iterations * 256 + b; });
    var length = 32;
    if (kdf[2] && kdf[2].tag === 0x02) { length = kdf[2].body[kdf[2].body.length - 1]; }
    if (iterations < 1000 || iterations > 600000) {
      throw refusal("CMP_ANSWER_UNTRUSTED", "MAC parameters");
    }
    var expected = await mac(
      state.secret, salt, iterations, length, der.seq(answer.head.raw, answer.body.raw)
    );
    if (!der.equal(expected, protection.children()[0].bitBytes())) {
      throw refusal("CMP_ANSWER_UNTRUSTED", "the MAC does not verify");
    }
    state.recipNonce = field(head, 5).children()[0].body;
  }

  function certificates(sequence) {
    return sequence ? sequence.children()[0].children().map(function (c) { return c.raw; }) : [];
  }

  function randomNumOf(head) {
    var general = field(head, 8);
    if (!general) { return null; }
    var list = general.children()[0].children();
    for (var i = 0; i < list.length; i++) {
      var pair = list[i].children();
      if (pair[0].oid() === OID.randomNum) { return pair[1].bitBytes(); }
    }
    return null;
  }

  // a certificate's fields: serial, issuer, subject, SubjectPublicKeyInfo (DER)
  function tbsOf(certificate) {
    var tbs = der.read(certificate).children()[0].children();
    var at = tbs[0].cls === 2 ? 1 : 0; // [0] version
    return {
      serial: tbs[at], issuer: tbs[at + 2], validity: tbs[at + 3], subject: tbs[at + 4],
      spki: tbs[at + 5]
    };
  }

  function spkiOf(certificate) { return tbsOf(certificate).spki.raw; }

  function subjectOf(certificate) { return tbsOf(certificate).subject.raw; }

  async function certConf(state, certificate) {
    var certHash = new Uint8Array(await subtle.digest("SHA-256", certificate));
    var body = der.explicit(24, der.seq(der.seq(der.octets(certHash), der.int(0))));
    var message = await protectedMessage(state, body, state.recipNonce);
    var answer = parse(await exchange(state.url, message));
    await check(state, answer, 19); // pkiconf
  }

  // one CertReqMsg (certReqId 0) for the new key, POP by its signature over certReq
  async function certRequestBody(number, keyPair, spki) {
    var certRequest = der.seq(der.int(0), der.seq(der.implicit(6, spki)));
    var signature = new Uint8Array(await subtle.sign(
      "RSASSA-PKCS1-v1_5", keyPair.privateKey, certRequest
    ));
    var pop = der.tlv(0xa1, der.concat([
      der.algorithm(OID.sha256WithRsa, der.nul()), der.bits(signature)
    ]));
    return der.explicit(number, der.seq(der.seq(certRequest, pop)));
  }

  // the certificate of an ip/kup, checked to hold our key; the chain from extraCerts
  function issued(state, answer, spki, skip) {
    var certificate, caPubs, extra, status;
    try {
      var rep = answer.body.children()[0].children();
      caPubs = rep[0].cls === 2 ? certificates(rep[0]) : [];
      var response = rep[rep.length - 1].children()[0].children();
      status = response[1].children()[0].body[0];
      certificate = response[2].children()[0].children()[0].raw;
      var after = answer.parts.slice(2).filter(function (p) {
        return p.cls === 2 && p.number === 1;
      });
      extra = certificates(after[0] || null).slice(skip);
    } catch (e) {
      throw refusal("CMP_ANSWER_INVALID", "the answer cannot be read");
    }
    if (status !== 0 && status !== 1) { throw refusal("CMP_ANSWER_INVALID", "not accepted"); }
    if (!der.equal(spkiOf(certificate), spki)) {
      throw refusal("CMP_ANSWER_INVALID", "the certificate holds another key");
    }
    var root_ = caPubs[0];
    var chain = extra.filter(function (c) {
      return !der.equal(c, certificate) && !(root_ && der.equal(c, root_));
    });
    if (root_) { chain.push(root_); }
    return {
      certificate: certificate,
      chain: chain,
      randomNum: randomNumOf(answer.head),
      confirm: function () { return certConf(state, certificate); }
    };
  }

  async function initial(options) {
    var state = {
      url: options.url || "/cmp",
      reference: options.reference,
      secret: new TextEncoder().encode(options.code),
      transactionId: der.random(16),
      nonce: null,
      recipNonce: null
    };
    var body = await certRequestBody(0, options.keyPair, options.spki);
    var answer = parse(await exchange(state.url, await protectedMessage(state, body, null)));
    await check(state, answer, 1); // ip
    return issued(state, answer, options.spki, 0);
  }

  function signedState(options) {
    return {
      url: options.url || "/cmp",
      signer: { certificate: options.certificate, privateKey: options.privateKey },
      transactionId: der.random(16),
      nonce: null,
      recipNonce: null
    };
  }

  // kur → kup: a new certificate for keyPair, asked with the old certificate's key
  async function keyUpdate(options) {
    var state = signedState(options);
    var body = await certRequestBody(7, options.keyPair, options.spki);
    var answer = parse(await exchange(state.url, await protectedMessage(state, body, null)));
    await check(state, answer, 8); // kup
    // extraCerts: the responder's certificate first, then the chains
    var pending = issued(state, answer, options.spki, 1);
    if (!der.equal(subjectOf(pending.certificate), subjectOf(options.certificate))) {
      throw refusal("CMP_ANSWER_INVALID", "the renewed certificate names another holder");
    }
    return pending;
  }

  // rr → rp: the certificate revoked with its own key; reason is an RFC 5280 CRLReason number
  async function revoke(options) {
    var state = signedState(options);
    var fields = tbsOf(options.certificate);
    var template = der.seq(der.tlv(0x81, fields.serial.body), der.explicit(3, fields.issuer.raw));
    var details = [template];
    if (options.reason !== undefined && options.reason !== null) {
      details.push(der.seq(der.seq(
        der.oid(OID.reasonCode),
        der.octets(der.tlv(0x0a, new Uint8Array([options.reason])))
      )));
    }
    var body = der.explicit(11, der.seq(der.seq.apply(null, details)));
    var answer = parse(await exchange(state.url, await protectedMessage(state, body, null)));
    await check(state, answer, 12); // rp
    try {
      var statuses = answer.body.children()[0].children()[0].children();
      var status = statuses[0].children()[0].body[0];
      if (statuses.length !== 1 || (status !== 0 && status !== 1)) { throw new Error("status"); }
    } catch (e) {
      throw refusal("CMP_ANSWER_INVALID", "the rp does not say the certificate was revoked");
    }
  }

  root.certcenterCmp = {
    initial: initial, keyUpdate: keyUpdate, revoke: revoke, spkiOf: spkiOf, tbsOf: tbsOf
  };
})(typeof window !== "undefined" ? window : globalThis);
