// A PKCS#12 file (.pfx, RFC 7292) of the joint certificate, made in the browser the way
// OpenSSL 3 writes one by default: the certificates in an encryptedData and the key in a
// pkcs8ShroudedKeyBag, both under PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC), and the file's MAC
// with HMAC-SHA256 keyed by the PKCS#12 key derivation (appendix B) with as many rounds as the
// encryption (so the MAC is no cheaper way to guess the password). The VID's random value R
// is an attribute of the encrypted PrivateKeyInfo (randomNum, 1.2.410.200004.10.1.1.3), as in
// signPri.key and in the files the center's app writes (certcenter.npki.pkcs12).
//
//   var pfx = await certcenterPfx.build({privateKeyInfo, certificate, chain, randomNum,
//                                        password, friendlyName, iterations});
//   var opened = await certcenterPfx.open(bytes, password);
//   // {certificate, chain, privateKeyInfo, randomNum}
//   // refusals: {code: "PKCS12_PASSWORD_WRONG"} or {code: "PKCS12_FILE_INVALID", detail}
(function (root) {
  "use strict";

  var der = root.certcenterDer;
  var subtle = root.crypto.subtle;
  var OID = {
    data: "1.2.840.113549.1.7.1",
    encryptedData: "1.2.840.113549.1.7.6",
    pbes2: "1.2.840.113549.1.5.13",
    pbkdf2: "1.2.840.113549.1.5.12",
    hmacSha256: "1.2.840.113549.2.9",
    aes256Cbc: "2.16.840.1.101.3.4.1.42",
    sha256: "2.16.840.1.101.3.4.2.1",
    keyBag: "1.2.840.113549.1.12.10.1.2",
    certBag: "1.2.840.113549.1.12.10.1.3",
    x509Certificate: "1.2.840.113549.1.9.22.1",
    friendlyName: "1.2.840.113549.1.9.20",
    localKeyId: "1.2.840.113549.1.9.21",
    randomNum: "1.2.410.200004.10.1.1.3"
  };

  // PBES2 (PBKDF2-HMAC-SHA256 + AES-256-CBC) of plain bytes: [AlgorithmIdentifier, ciphertext]
  async function pbes2(plain, password, iterations) {
    var salt = der.random(16);
    var iv = der.random(16);
    var base = await subtle.importKey("raw", password, "PBKDF2", false, ["deriveKey"]);
    var key = await subtle.deriveKey(
      { name: "PBKDF2", hash: "SHA-256", salt: salt, iterations: iterations },
      base, { name: "AES-CBC", length: 256 }, false, ["encrypt"]
    );
    var encrypted = new Uint8Array(await subtle.encrypt({ name: "AES-CBC", iv: iv }, key, plain));
    var params = der.seq(
      der.algorithm(OID.pbkdf2, der.seq(
        der.octets(salt), der.int(iterations), der.algorithm(OID.hmacSha256, der.nul())
      )),
      der.algorithm(OID.aes256Cbc, der.octets(iv))
    );
    return [der.algorithm(OID.pbes2, params), encrypted];
  }

  // RFC 7292 appendix B.2 with SHA-256 (v = 64): purpose 3 makes the MAC key
  function pkcs12Kdf(password, salt, purpose, iterations, size) {
    var v = 64;
    var chars = new TextDecoder().decode(password);
    var bmp = new Uint8Array(2 * chars.length + 2);
    for (var i = 0; i < chars.length; i++) {
      bmp[2 * i] = chars.charCodeAt(i) >> 8;
      bmp[2 * i + 1] = chars.charCodeAt(i) & 0xff;
    }
    var stretch = function (data) {
      if (!data.length) { return new Uint8Array(0); }
      var out = new Uint8Array(v * Math.ceil(data.length / v));
      for (var k = 0; k < out.length; k++) { out[k] = data[k % data.length]; }
      return out;
    };
    var diversifier = new Uint8Array(v).fill(purpose);
    var joined = der.concat([stretch(salt), stretch(bmp)]);
    var result = new Uint8Array(0);
    while (result.length < size) {
      var value = der.sha256(der.concat([diversifier, joined]));
      for (var round = 1; round < iterations; round++) { value = der.sha256(value); }
      result = der.concat([result, value]);
      var adder = stretch(value);
      for (var start = 0; start < joined.length; start += v) {
        var carry = 1;
        for (var j = v - 1; j >= 0; j--) {
          var sum = joined[start + j] + adder[j] + carry;
          joined[start + j] = sum & 0xff;
          carry = sum >> 8;
        }
      }
    }
    return result.subarray(0, size);
  }

  async function hmacSha256(keyBytes, data) {
    var key = await subtle.importKey(
      "raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]
    );
    return new Uint8Array(await subtle.sign("HMAC", key, data));
  }

  // the PrivateKeyInfo (from WebCrypto's pkcs8 export) with the randomNum attribute
  function withRandomNum(privateKeyInfo, randomNum) {
    if (!randomNum || !randomNum.length) { return privateKeyInfo; }
    var parts = der.read(privateKeyInfo).children();
    var attribute = der.seq(der.oid(OID.randomNum), der.set(der.bits(randomNum)));
    return der.seq(parts[0].raw, parts[1].raw, parts[2].raw, der.tlv(0xa0, attribute));
  }

  function attributes(localKeyId, friendlyName) {
    var list = [der.seq(der.oid(OID.localKeyId), der.set(der.octets(localKeyId)))];
    if (friendlyName) {
      list.push(der.seq(der.oid(OID.friendlyName), der.set(der.bmp(friendlyName))));
    }
    return der.set.apply(null, list);
  }

  function certBag(certificate, attrs) {
    var value = der.seq(der.oid(OID.x509Certificate), der.explicit(0, der.octets(certificate)));
    return attrs
      ? der.seq(der.oid(OID.certBag), der.explicit(0, value), attrs)
      : der.seq(der.oid(OID.certBag), der.explicit(0, value));
  }

  async function build(options) {
    var password = new TextEncoder().encode(options.password);
    var iterations = options.iterations || 100000;
    var localKeyId = new Uint8Array(await subtle.digest("SHA-1", options.certificate));
    var attrs = attributes(localKeyId, options.friendlyName);

    var bags = [certBag(options.certificate, attrs)];
    (options.chain || []).forEach(function (ca) { bags.push(certBag(ca, null)); });
    var certs = await pbes2(der.seq.apply(null, bags), password, iterations);
    var encryptedData = der.seq(
      der.oid(OID.encryptedData),
      der.explicit(0, der.seq(
        der.int(0),
        der.seq(der.oid(OID.data), certs[0], der.tlv(0x80, certs[1]))
      ))
    );

    var plainKey = withRandomNum(options.privateKeyInfo, options.randomNum);
    var key = await pbes2(plainKey, password, iterations);
    var keyBag = der.seq(
      der.oid(OID.keyBag), der.explicit(0, der.seq(key[0], der.octets(key[1]))), attrs
    );
    var keyData = der.seq(der.oid(OID.data), der.explicit(0, der.octets(der.seq(keyBag))));

    var authSafe = der.seq(encryptedData, keyData);
    var macSalt = der.random(16);
    var macKey = pkcs12Kdf(password, macSalt, 3, iterations, 32);
    var mac = await hmacSha256(macKey, authSafe);
    return der.seq(
      der.int(3),
      der.seq(der.oid(OID.data), der.explicit(0, der.octets(authSafe))),
      der.seq(
        der.seq(der.algorithm(OID.sha256, der.nul()), der.octets(mac)),
        der.octets(macSalt),
        der.int(iterations)
      )
    );
  }

  // ---------------------------------------------------------------- reading a .pfx

  var CIPHERS = {
    "2.16.840.1.101.3.4.1.2": 16, "2.16.840.1.101.3.4.1.22": 24, "2.16.840.1.101.3.4.1.42": 32
  };
  var PRFS = {
    "1.2.840.113549.2.7": "SHA-1", "1.2.840.113549.2.9": "SHA-256",
    "1.2.840.113549.2.10": "SHA-384", "1.2.840.113549.2.11": "SHA-512"
  };
  var MAX_ROUNDS = 1000000;

  function failure(code, detail) {
    var error = new Error(code + (detail ? ": " + detail : ""));
    error.code = code;
    error.detail = detail || "";
    return error;
  }

  function number(node) {
    var value = 0;
    node.body.forEach(function (b) { value = value * 256 + b; });
    return value;
  }

  // PBES2 with PBKDF2 and AES-CBC (what OpenSSL 3 and this center write)
  async function unpbes2(algorithm, data, password) {
    var parts = algorithm.children();
    if (parts[0].oid() !== OID.pbes2) { throw failure("PKCS12_FILE_INVALID", "not PBES2"); }
    var params = parts[1].children();
    var kdf = params[0].children();
    var scheme = params[1].children();
    var size = CIPHERS[scheme[0].oid()];
    if (kdf[0].oid() !== OID.pbkdf2 || !size) {
      throw failure("PKCS12_FILE_INVALID", "encryption not read here");
    }
    var kdfParams = kdf[1].children();
    var rounds = number(kdfParams[1]);
    var prf = "SHA-1";
    kdfParams.slice(2).forEach(function (p) {
      if (p.tag === 0x30) { prf = PRFS[p.children()[0].oid()]; }
    });
    if (!prf || rounds < 1 || rounds > MAX_ROUNDS) {
      throw failure("PKCS12_FILE_INVALID", "key derivation not read here");
    }
    var base = await subtle.importKey("raw", password, "PBKDF2", false, ["deriveKey"]);
    var key = await subtle.deriveKey(
      { name: "PBKDF2", hash: prf, salt: kdfParams[0].body, iterations: rounds },
      base, { name: "AES-CBC", length: 8 * size }, false, ["decrypt"]
    );
    try {
      return new Uint8Array(await subtle.decrypt(
        { name: "AES-CBC", iv: scheme[1].body }, key, data
      ));
    } catch (e) {
      throw failure("PKCS12_PASSWORD_WRONG");
    }
  }

  function localKeyId(bag) {
    var parts = bag.children();
    if (parts.length < 3) { return null; }
    var found = null;
    parts[2].children().forEach(function (attribute) {
      var pair = attribute.children();
      if (pair[0].oid() === OID.localKeyId) { found = pair[1].children()[0].body; }
    });
    return found;
  }

  // {certificate, privateKeyInfo (without attributes, as WebCrypto imports it), randomNum}
  async function open(bytes, text) {
    var password = new TextEncoder().encode(text);
    var pfx, authSafe, macData;
    try {
      pfx = der.read(bytes).children();
      authSafe = pfx[1].children()[1].children()[0].body;
      macData = pfx[2] ? pfx[2].children() : null;
    } catch (e) {
      throw failure("PKCS12_FILE_INVALID", "not a PKCS#12 file");
    }
    if (!macData) { throw failure("PKCS12_FILE_INVALID", "no MAC"); }
    var digest = macData[0].children();
    if (digest[0].children()[0].oid() !== OID.sha256) {
      throw failure("PKCS12_FILE_INVALID", "MAC digest not read here");
    }
    var rounds = macData[2] ? number(macData[2]) : 1;
    if (rounds < 1 || rounds > MAX_ROUNDS) { throw failure("PKCS12_FILE_INVALID", "MAC rounds"); }
    var macKey = pkcs12Kdf(password, macData[1].body, 3, rounds, 32);
    if (!der.equal(await hmacSha256(macKey, authSafe), digest[1].body)) {
      throw failure("PKCS12_PASSWORD_WRONG");
    }
    var bags = [];
    var infos = der.read(authSafe).children();
    for (var i = 0; i < infos.length; i++) {
      var info = infos[i].children();
      var contents;
      if (info[0].oid() === OID.data) {
        contents = info[1].children()[0].body;
      } else if (info[0].oid() === OID.encryptedData) {
        var encrypted = info[1].children()[0].children()[1].children();
        contents = await unpbes2(encrypted[1], encrypted[2].body, password);
      } else {
        continue;
      }
      bags = bags.concat(der.read(contents).children());
    }
    var keys = [];
    var certs = [];
    for (var b = 0; b < bags.length; b++) {
      var bag = bags[b].children();
      var id = bag[0].oid();
      if (id === OID.keyBag) {
        var shrouded = bag[1].children()[0].children();
        keys.push({ info: await unpbes2(shrouded[0], shrouded[1].body, password),
                    id: localKeyId(bags[b]) });
      } else if (id === OID.certBag) {
        var value = bag[1].children()[0].children();
        certs.push({ der: value[1].children()[0].body, id: localKeyId(bags[b]) });
      }
    }
    if (keys.length !== 1 || !certs.length) {
      throw failure("PKCS12_FILE_INVALID", "no certificate with its private key");
    }
    var key = keys[0];
    var certificate = certs.filter(function (c) {
      return key.id && c.id && der.equal(key.id, c.id);
    })[0] || certs[0];
    var parts = der.read(key.info).children();
    var randomNum = null;
    if (parts[3] && parts[3].cls === 2) {
      parts[3].children().forEach(function (attribute) {
        var pair = attribute.children();
        if (pair[0].oid() === OID.randomNum) { randomNum = pair[1].children()[0].bitBytes(); }
      });
    }
    return {
      certificate: certificate.der,
      chain: certs.filter(function (c) { return c !== certificate; }).map(function (c) {
        return c.der;
      }),
      privateKeyInfo: der.seq(parts[0].raw, parts[1].raw, parts[2].raw),
      randomNum: randomNum
    };
  }

  root.certcenterPfx = { build: build, open: open, pkcs12Kdf: pkcs12Kdf };
})(typeof window !== "undefined" ? window : globalThis);
