// 인증서 복사 in the browser (docs/certificate-copy.md): the receiving device's X25519 key and
// its code's fingerprint digits (scrypt), the folder sealed and opened as certcenter.npki.copy
// does it (X25519, HKDF-SHA256, AES-256-GCM), and the NPKI key file signPri.key read and
// written (SEED-CBC, certcenter.npki.keyfile), so that a copied folder becomes a .pfx here and
// a .pfx becomes a folder to send.
//
//   var receiver = await certcenterCopy.newReceiver();      // {privateKey, publicBytes}
//   var digits = await certcenterCopy.fingerprint(relayId, publicBytes);
//   var sealed = await certcenterCopy.seal(relayId, publicBytes, archiveBytes);
//   var archive = await certcenterCopy.open(receiver, relayId, sealed);
//   var key = await certcenterCopy.readKeyFile(signPriKey, password);  // {privateKeyInfo, randomNum}
//   var file = await certcenterCopy.writeKeyFile(privateKeyInfo, randomNum, password);
//   refusals: {code: "CERTIFICATE_COPY_…" | "NPKI_PASSWORD_WRONG" | "NPKI_KEY_FILE_…"}
(function (root) {
  "use strict";

  var der = root.certcenterDer;
  var subtle = root.crypto.subtle;
  var LABEL = new TextEncoder().encode("certcenter/npki-copy/v1\u0000");
  var VERSION = 1;
  var OID = {
    seedCbcWithSha1: "1.2.410.200004.1.15",
    seedCbc: "1.2.410.200004.1.4",
    pbes2: "1.2.840.113549.1.5.13",
    pbkdf2: "1.2.840.113549.1.5.12",
    hmacSha1: "1.2.840.113549.2.7",
    hmacSha256: "1.2.840.113549.2.9",
    randomNum: "1.2.410.200004.10.1.1.3"
  };
  var MAX_ITERATIONS = 1000000;

  function failure(code, detail) {
    var error = new Error(code + (detail ? ": " + detail : ""));
    error.code = code;
    error.detail = detail || "";
    return error;
  }

  function ascii(text) { return new TextEncoder().encode(text); }

  // ---------------------------------------------------------------- scrypt (RFC 7914)

  async function pbkdf2Sha256(password, salt, iterations, size) {
    var base = await subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
    return new Uint8Array(await subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt: salt, iterations: iterations }, base, size * 8
    ));
  }

  function salsa208(B) {
    var x = new Uint32Array(B);
    function R(a, b) { return (a << b) | (a >>> (32 - b)); }
    for (var i = 0; i < 8; i += 2) {
      x[4] ^= R(x[0] + x[12], 7); x[8] ^= R(x[4] + x[0], 9);
      x[12] ^= R(x[8] + x[4], 13); x[0] ^= R(x[12] + x[8], 18);
      x[9] ^= R(x[5] + x[1], 7); x[13] ^= R(x[9] + x[5], 9);
      x[1] ^= R(x[13] + x[9], 13); x[5] ^= R(x[1] + x[13], 18);
      x[14] ^= R(x[10] + x[6], 7); x[2] ^= R(x[14] + x[10], 9);
      x[6] ^= R(x[2] + x[14], 13); x[10] ^= R(x[6] + x[2], 18);
      x[3] ^= R(x[15] + x[11], 7); x[7] ^= R(x[3] + x[15], 9);
      x[11] ^= R(x[7] + x[3], 13); x[15] ^= R(x[11] + x[7], 18);
      x[1] ^= R(x[0] + x[3], 7); x[2] ^= R(x[1] + x[0], 9);
      x[3] ^= R(x[2] + x[1], 13); x[0] ^= R(x[3] + x[2], 18);
      x[6] ^= R(x[5] + x[4], 7); x[7] ^= R(x[6] + x[5], 9);
      x[4] ^= R(x[7] + x[6], 13); x[5] ^= R(x[4] + x[7], 18);
      x[11] ^= R(x[10] + x[9], 7); x[8] ^= R(x[11] + x[10], 9);
      x[9] ^= R(x[8] + x[11], 13); x[10] ^= R(x[9] + x[8], 18);
      x[12] ^= R(x[15] + x[14], 7); x[13] ^= R(x[12] + x[15], 9);
      x[14] ^= R(x[13] + x[12], 13); x[15] ^= R(x[14] + x[13], 18);
    }
    for (var k = 0; k < 16; k++) { B[k] = (B[k] + x[k]) >>> 0; }
  }

  function blockMix(B, Y, r) {
    var X = B.slice((2 * r - 1) * 16, 2 * r * 16);
    for (var i = 0; i < 2 * r; i++) {
      for (var k = 0; k < 16; k++) { X[k] ^= B[i * 16 + k]; }
      salsa208(X);
      Y.set(X, ((i & 1) * r + (i >> 1)) * 16);
    }
    B.set(Y);
  }

  async function scrypt(password, salt, N, r, p, size) {
    var bytes = await pbkdf2Sha256(password, salt, 1, p * 128 * r);
    var words = 32 * r;
    var view = new DataView(bytes.buffer);
    var V = new Uint32Array(words * N);
    var Y = new Uint32Array(words);
    for (var part = 0; part < p; part++) {
      var X = new Uint32Array(words);
      var at = part * 128 * r;
      for (var w = 0; w < words; w++) { X[w] = view.getUint32(at + w * 4, true); }
      for (var i = 0; i < N; i++) { V.set(X, i * words); blockMix(X, Y, r); }
      for (var j = 0; j < N; j++) {
        var from = (X[(2 * r - 1) * 16] & (N - 1)) * words;
        for (var k = 0; k < words; k++) { X[k] ^= V[from + k]; }
        blockMix(X, Y, r);
      }
      for (var o = 0; o < words; o++) { view.setUint32(at + o * 4, X[o], true); }
    }
    return pbkdf2Sha256(password, bytes, 1, size);
  }

  // ---------------------------------------------------------------- the code and the seal

  function relayBytes(relayId) {
    if (!/^[0-9]{8}$/.test(relayId)) { throw failure("CERTIFICATE_COPY_CODE_INVALID"); }
    return ascii(relayId);
  }

  function parseCode(code) {
    var clean = String(code).replace(/[\s-]/g, "").slice(0, 64);
    if (!/^[0-9]{16}$/.test(clean)) { throw failure("CERTIFICATE_COPY_CODE_INVALID"); }
    return { relayId: clean.slice(0, 8), digits: clean.slice(8) };
  }

  async function fingerprint(relayId, publicBytes) {
    var salt = der.concat([LABEL, ascii("fingerprint\u0000"), relayBytes(relayId)]);
    var derived = await scrypt(publicBytes, salt, 16384, 8, 1, 8);
    var value = 0n;
    for (var i = 0; i < 8; i++) { value = (value << 8n) | BigInt(derived[i]); }
    return (value % 100000000n).toString().padStart(8, "0");
  }

  async function newReceiver() {
    var pair = await subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
    var publicBytes = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
    return { privateKey: pair.privateKey, publicBytes: publicBytes };
  }

  async function aeadKey(shared, senderPublic, receiverPublic, relayId, digits) {
    var info = der.concat([LABEL, ascii("seal\u0000"), relayBytes(relayId), new Uint8Array([0]),
                           ascii(digits)]);
    var base = await subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
    return subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: der.concat([senderPublic, receiverPublic]),
        info: info },
      base, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]
    );
  }

  function aad(relayId) { return der.concat([LABEL, ascii("relay\u0000"), relayBytes(relayId)]); }

  async function shared(privateKey, publicBytes) {
    if (publicBytes.length !== 32) {
      throw failure("CERTIFICATE_COPY_PAYLOAD_INVALID", "not an X25519 key");
    }
    try {
      var key = await subtle.importKey("raw", publicBytes, { name: "X25519" }, true, []);
      return new Uint8Array(await subtle.deriveBits({ name: "X25519", public: key },
                                                    privateKey, 256));
    } catch (e) {  // a low-order point: no shared secret
      throw failure("CERTIFICATE_COPY_PAYLOAD_INVALID", "not a usable key");
    }
  }

  // the sender: ``publicBytes`` was checked against the typed digits (checkFingerprint)
  async function seal(relayId, receiverPublic, archive) {
    var ephemeral = await subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
    var secret = await shared(ephemeral.privateKey, receiverPublic);
    var senderPublic = new Uint8Array(await subtle.exportKey("raw", ephemeral.publicKey));
    var digits = await fingerprint(relayId, receiverPublic);
    var key = await aeadKey(secret, senderPublic, receiverPublic, relayId, digits);
    var nonce = der.random(12);
    var body = new Uint8Array(await subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData: aad(relayId) }, key, archive
    ));
    return der.concat([new Uint8Array([VERSION]), senderPublic, nonce, body]);
  }

  async function checkFingerprint(relayId, publicBytes, digits) {
    if (publicBytes.length !== 32) {
      throw failure("CERTIFICATE_COPY_PAYLOAD_INVALID", "not an X25519 key");
    }
    if (await fingerprint(relayId, publicBytes) !== digits) {
      throw failure("CERTIFICATE_COPY_FINGERPRINT_MISMATCH");
    }
  }

  async function open(receiver, relayId, sealed, digits) {
    if (sealed.length < 1 + 32 + 12 + 16 || sealed[0] !== VERSION) {
      throw failure("CERTIFICATE_COPY_PAYLOAD_INVALID", "not a sealed copy");
    }
    var senderPublic = sealed.subarray(1, 33);
    var secret = await shared(receiver.privateKey, senderPublic);
    var key = await aeadKey(secret, senderPublic, receiver.publicBytes, relayId, digits);
    try {
      return new Uint8Array(await subtle.decrypt(
        { name: "AES-GCM", iv: sealed.subarray(33, 45), additionalData: aad(relayId) },
        key, sealed.subarray(45)
      ));
    } catch (e) {
      throw failure("CERTIFICATE_COPY_PAYLOAD_INVALID", "does not open");
    }
  }

  // ---------------------------------------------------------------- SEED (RFC 4269)

  var S1 = hexBytes(
    "a985d6d3541dac255d43181e51fcca632844209de0e2c817a58f037bbb13d2ee708c3fa832ddf674ec950b575c5bbd01" +
    "241c739810ccf2d92ce772839bd186c96050a3eb0db69e4fb75ac678a612afd561c3b441527d8d081f9900190453f7e1" +
    "fd762f27b08b0eaba26e934d697c090abfeff3c58714fe64de2e4b1a06216b6602f5928a0cb37ed07a4796e52680addf" +
    "a13037ae36152238f4a7454c81e9849735cbce3c7111c78975fbdaf8945982c4ff493967c0cfd7b80f8e4223916cdba4" +
    "34f148c26f3d2d40be3ebcc1aaba4e553bdc687f9cd84a5677a0ed46b52b65fae3b9b19f5ef9e6b231ea6d5fe4f0cd88" +
    "163a58d462290733e81b0579906a2a9a");
  var S2 = hexBytes(
    "38e82da6cfdeb3b8af6055c7446f6b5bc36233b529a0e2a7d39111061cbc364bef886ca817c416f4c245e1d63f3d8e98" +
    "284ef63ea5f90ddfd82b667a272ff17242d441c07367ac8bf7ad801fca2caa34d20beee95d9418f857ae08c513cd86b9" +
    "ff7dc131f58a6ab1d120d7022204687107db9d9961bee659dd5190dc9aa3abd0810f471ae3ec8dbf967b5ca2a163234d" +
    "c89e9c3a0c2eba6e9f5af292f34978cc15fb70757f351003646dc674d5b4ea097619fe4012e0bd05fa01f02a5ea95643" +
    "8514899bb0e5487997fc1e82218c1b5f7754b21d254f0046ed5852eb7edac9fd3095653cb6e4bb7c0e5039263284699" +
    "337e724a4cb530a87d94c838fce3b4ab7");

  function hexBytes(text) {
    var out = new Uint8Array(text.length / 2);
    for (var i = 0; i < out.length; i++) { out[i] = parseInt(text.substr(i * 2, 2), 16); }
    return out;
  }

  // SS_k[x]: the S-box's value under four masks, one a byte (RFC 4269's G function)
  var SS = (function () {
    var masks = [[0x3f, 0xcf, 0xf3, 0xfc], [0xfc, 0x3f, 0xcf, 0xf3],
                 [0xf3, 0xfc, 0x3f, 0xcf], [0xcf, 0xf3, 0xfc, 0x3f]];
    return masks.map(function (m, k) {
      var box = k % 2 ? S2 : S1;
      var table = new Uint32Array(256);
      for (var x = 0; x < 256; x++) {
        var s = box[x];
        table[x] = (((s & m[0]) << 24) | ((s & m[1]) << 16) | ((s & m[2]) << 8) | (s & m[3])) >>> 0;
      }
      return table;
    });
  })();

  function G(x) {
    return (SS[0][x & 0xff] ^ SS[1][(x >>> 8) & 0xff] ^ SS[2][(x >>> 16) & 0xff] ^
            SS[3][x >>> 24]) >>> 0;
  }

  function seedKeys(key) {
    var v = new DataView(key.buffer, key.byteOffset, 16);
    var k0 = v.getUint32(0), k1 = v.getUint32(4), k2 = v.getUint32(8), k3 = v.getUint32(12);
    var out = new Uint32Array(32);
    var kc = 0x9e3779b9;
    for (var i = 0; i < 16; i++) {
      out[2 * i] = G((k0 + k2 - kc) >>> 0);
      out[2 * i + 1] = G((k1 - k3 + kc) >>> 0);
      var t;
      if (i % 2 === 0) {  // (K0 || K1) >>> 8
        t = k0;
        k0 = ((k0 >>> 8) | (k1 << 24)) >>> 0;
        k1 = ((k1 >>> 8) | (t << 24)) >>> 0;
      } else {  // (K2 || K3) <<< 8
        t = k2;
        k2 = ((k2 << 8) | (k3 >>> 24)) >>> 0;
        k3 = ((k3 << 8) | (t >>> 24)) >>> 0;
      }
      kc = ((kc << 1) | (kc >>> 31)) >>> 0;
    }
    return out;
  }

  function seedBlock(keys, block, decrypt) {
    var v = new DataView(block.buffer, block.byteOffset, 16);
    var l0 = v.getUint32(0), l1 = v.getUint32(4), r0 = v.getUint32(8), r1 = v.getUint32(12);
    for (var n = 0; n < 16; n++) {
      var i = decrypt ? 15 - n : n;
      var c = (r0 ^ keys[2 * i]) >>> 0;
      var d = (r1 ^ keys[2 * i + 1]) >>> 0;
      d = G((d ^ c) >>> 0);
      c = G((c + d) >>> 0);
      d = G((d + c) >>> 0);
      c = (c + d) >>> 0;
      var nl0 = r0, nl1 = r1;
      r0 = (l0 ^ c) >>> 0;
      r1 = (l1 ^ d) >>> 0;
      l0 = nl0; l1 = nl1;
    }
    v.setUint32(0, r0); v.setUint32(4, r1); v.setUint32(8, l0); v.setUint32(12, l1);
  }

  function seedCbcEncrypt(key, iv, plain) {
    var keys = seedKeys(key);
    var pad = 16 - (plain.length % 16);
    var out = new Uint8Array(plain.length + pad);
    out.set(plain);
    out.fill(pad, plain.length);
    var previous = iv;
    for (var at = 0; at < out.length; at += 16) {
      var block = out.subarray(at, at + 16);
      for (var k = 0; k < 16; k++) { block[k] ^= previous[k]; }
      seedBlock(keys, block, false);
      previous = block;
    }
    return out;
  }

  // the padded plaintext (the caller checks the padding)
  function seedCbcDecrypt(key, iv, encrypted) {
    var keys = seedKeys(key);
    var out = new Uint8Array(encrypted);
    var previous = iv;
    for (var at = 0; at < out.length; at += 16) {
      var block = out.subarray(at, at + 16);
      var saved = block.slice();
      seedBlock(keys, block, true);
      for (var k = 0; k < 16; k++) { block[k] ^= previous[k]; }
      previous = saved;
    }
    return out;
  }

  // ---------------------------------------------------------------- signPri.key

  async function sha1(data) { return new Uint8Array(await subtle.digest("SHA-1", data)); }

  async function pbkdf2(password, salt, iterations, hash) {
    var base = await subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
    return new Uint8Array(await subtle.deriveBits(
      { name: "PBKDF2", hash: hash, salt: salt, iterations: iterations }, base, 128
    ));
  }

  function number(node) {
    var value = 0;
    for (var i = 0; i < node.body.length; i++) { value = value * 256 + node.body[i]; }
    return value;
  }

  function iterationsOf(node) {
    var value = number(node);
    if (value < 1 || value > MAX_ITERATIONS) {
      throw failure("NPKI_KEY_FILE_UNSUPPORTED", "iterations");
    }
    return value;
  }

  async function keyFileCipher(algorithm, password) {
    var parts = algorithm.children();
    var id = parts[0].oid();
    if (id === OID.seedCbcWithSha1 || id === OID.seedCbc) {
      var params = parts[1].children();
      var dk = der.concat([password, params[0].body]);
      var rounds = iterationsOf(params[1]);
      for (var i = 0; i < rounds; i++) { dk = await sha1(dk); }
      var iv = id === OID.seedCbc
        ? ascii("0123456789012345")
        : (await sha1(dk.subarray(16, 20))).subarray(0, 16);
      return { key: dk.subarray(0, 16), iv: iv };
    }
    if (id !== OID.pbes2) { throw failure("NPKI_KEY_FILE_UNSUPPORTED", id); }
    var pbes2 = parts[1].children();
    var kdf = pbes2[0].children();
    var scheme = pbes2[1].children();
    if (kdf[0].oid() !== OID.pbkdf2 || scheme[0].oid() !== OID.seedCbc) {
      throw failure("NPKI_KEY_FILE_UNSUPPORTED", "PBES2");
    }
    var kdfParams = kdf[1].children();
    var hash = "SHA-1";
    kdfParams.slice(2).forEach(function (node) {
      if (node.tag === 0x30) {
        var prf = node.children()[0].oid();
        if (prf === OID.hmacSha256) { hash = "SHA-256"; }
        else if (prf !== OID.hmacSha1) { throw failure("NPKI_KEY_FILE_UNSUPPORTED", prf); }
      }
    });
    return {
      key: await pbkdf2(password, kdfParams[0].body, iterationsOf(kdfParams[1]), hash),
      iv: scheme[1].body
    };
  }

  // {privateKeyInfo (without attributes), randomNum}
  async function readKeyFile(bytes, text) {
    var password = ascii(text);
    var parts;
    try {
      parts = der.read(bytes).children();
      parts[0].children();
    } catch (e) {
      throw failure("NPKI_KEY_FILE_CORRUPT", "not DER");
    }
    var encrypted = parts[1].body;
    if (!encrypted.length || encrypted.length % 16) {
      throw failure("NPKI_KEY_FILE_CORRUPT", "cipher text");
    }
    var cipher = await keyFileCipher(parts[0], password);
    var padded = seedCbcDecrypt(cipher.key, cipher.iv, encrypted);
    var pad = padded[padded.length - 1];
    var info;
    try {
      if (pad < 1 || pad > 16) { throw new Error("padding"); }
      info = der.read(padded.subarray(0, padded.length - pad)).children();
      if (info[0].tag !== 0x02 || info[1].tag !== 0x30) { throw new Error("not a key"); }
    } catch (e) {
      throw failure("NPKI_PASSWORD_WRONG");
    }
    var randomNum = null;
    if (info[3] && info[3].cls === 2) {
      info[3].children().forEach(function (attribute) {
        var pair = attribute.children();
        if (pair[0].oid() === OID.randomNum) { randomNum = pair[1].children()[0].bitBytes(); }
      });
    }
    return { privateKeyInfo: der.seq(info[0].raw, info[1].raw, info[2].raw),
             randomNum: randomNum };
  }

  // the PBES2 form certcenter.npki.keyfile writes: PBKDF2-HMAC-SHA256, SEED-CBC
  async function writeKeyFile(privateKeyInfo, randomNum, text, iterations) {
    var rounds = iterations || 100000;
    var parts = der.read(privateKeyInfo).children();
    var plain = randomNum && randomNum.length
      ? der.seq(parts[0].raw, parts[1].raw, parts[2].raw,
                der.tlv(0xa0, der.seq(der.oid(OID.randomNum), der.set(der.bits(randomNum)))))
      : der.seq(parts[0].raw, parts[1].raw, parts[2].raw);
    var salt = der.random(16);
    var iv = der.random(16);
    var key = await pbkdf2(ascii(text), salt, rounds, "SHA-256");
    var algorithm = der.seq(
      der.oid(OID.pbes2),
      der.seq(
        der.seq(der.oid(OID.pbkdf2), der.seq(der.octets(salt), der.int(rounds),
                                             der.algorithm(OID.hmacSha256, der.nul()))),
        der.seq(der.oid(OID.seedCbc), der.octets(iv))
      )
    );
    return der.seq(algorithm, der.octets(seedCbcEncrypt(key, iv, plain)));
  }

  root.certcenterCopy = {
    parseCode: parseCode, fingerprint: fingerprint, checkFingerprint: checkFingerprint,
    newReceiver: newReceiver, seal: seal, open: open, scrypt: scrypt,
    readKeyFile: readKeyFile, writeKeyFile: writeKeyFile,
    seedCbcEncrypt: seedCbcEncrypt, seedCbcDecrypt: seedCbcDecrypt
  };
})(typeof window !== "undefined" ? window : globalThis);
