// DER (X.690) for the joint certificate's pages: a small encoder and reader of the shapes the
// CMP messages and the PKCS#12 file need, and SHA-256 (synchronous, for the PKCS#12 MAC key's
// many rounds). No dependency, nothing fetched at run time.
//
//   var der = window.certcenterDer;
//   der.seq(der.int(3), der.oid("1.2.840.113549.1.7.1"), der.explicit(0, der.octets(bytes)))
//   var node = der.read(bytes);            // {tag, constructed, cls, number, raw, body, children()}
//   der.sha256(bytes)                      // Uint8Array(32)
(function (root) {
  "use strict";

  function concat(parts) {
    var length = 0;
    parts.forEach(function (p) { length += p.length; });
    var out = new Uint8Array(length);
    var at = 0;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }

  function lengthBytes(n) {
    if (n < 0x80) { return new Uint8Array([n]); }
    var bytes = [];
    while (n > 0) { bytes.unshift(n & 0xff); n = Math.floor(n / 256); }
    return new Uint8Array([0x80 | bytes.length].concat(bytes));
  }

  function tlv(tag, body) {
    return concat([new Uint8Array([tag]), lengthBytes(body.length), body]);
  }

  function seq() { return tlv(0x30, concat(Array.prototype.slice.call(arguments))); }

  function compare(a, b) {
    for (var i = 0; i < Math.min(a.length, b.length); i++) {
      if (a[i] !== b[i]) { return a[i] - b[i]; }
    }
    return a.length - b.length;
  }

  // SET OF: DER sorts the encoded elements
  function set() {
    var items = Array.prototype.slice.call(arguments).sort(compare);
    return tlv(0x31, concat(items));
  }

  // an INTEGER from a non-negative number or from big-endian unsigned bytes
  function int(value) {
    var bytes;
    if (typeof value === "number") {
      bytes = [];
      do { bytes.unshift(value & 0xff); value = Math.floor(value / 256); } while (value > 0);
      bytes = new Uint8Array(bytes);
    } else {
      bytes = value;
      var start = 0;
      while (start < bytes.length - 1 && bytes[start] === 0) { start++; }
      bytes = bytes.subarray(start);
    }
    if (bytes[0] & 0x80) { bytes = concat([new Uint8Array([0]), bytes]); }
    return tlv(0x02, bytes);
  }

  function oid(text) {
    var arcs = text.split(".").map(Number);
    var out = [40 * arcs[0] + arcs[1]];
    arcs.slice(2).forEach(function (arc) {
      var chunk = [arc & 0x7f];
      arc = Math.floor(arc / 128);
      while (arc > 0) { chunk.unshift(0x80 | (arc & 0x7f)); arc = Math.floor(arc / 128); }
      out = out.concat(chunk);
    });
    return tlv(0x06, new Uint8Array(out));
  }

  function oidText(body) {
    var arcs = [Math.floor(body[0] / 40), body[0] % 40];
    var value = 0;
    for (var i = 1; i < body.length; i++) {
      value = value * 128 + (body[i] & 0x7f);
      if (!(body[i] & 0x80)) { arcs.push(value); value = 0; }
    }
    return arcs.join(".");
  }

  function octets(bytes) { return tlv(0x04, bytes); }
  function bits(bytes) { return tlv(0x03, concat([new Uint8Array([0]), bytes])); }
  function nul() { return new Uint8Array([0x05, 0x00]); }
  function utf8(text) { return tlv(0x0c, new TextEncoder().encode(text)); }
  function bmp(text) {
    var out = new Uint8Array(text.length * 2);
    for (var i = 0; i < text.length; i++) {
      out[2 * i] = text.charCodeAt(i) >> 8;
      out[2 * i + 1] = text.charCodeAt(i) & 0xff;
    }
    return tlv(0x1e, out);
  }
  function time(date) {
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    var text = date.getUTCFullYear() + pad(date.getUTCMonth() + 1) + pad(date.getUTCDate()) +
      pad(date.getUTCHours()) + pad(date.getUTCMinutes()) + pad(date.getUTCSeconds()) + "Z";
    return tlv(0x18, new TextEncoder().encode(text));
  }
  // [n] EXPLICIT: the value inside a constructed context tag
  function explicit(n, value) { return tlv(0xa0 | n, value); }
  // [n] IMPLICIT of a constructed value: its own tag replaced
  function implicit(n, value) {
    var node = read(value);
    return tlv((node.constructed ? 0xa0 : 0x80) | n, node.body);
  }
  function algorithm(id, parameters) {
    return parameters === undefined ? seq(oid(id)) : seq(oid(id), parameters);
  }

  // ---------------------------------------------------------------- reading

  function read(bytes, offset) {
    var at = offset || 0;
    if (at + 2 > bytes.length) { throw new Error("DER: truncated"); }
    var tag = bytes[at];
    if ((tag & 0x1f) === 0x1f) { // high tag number (certConf is [24])
      var number = 0;
      var i = at + 1;
      do { number = number * 128 + (bytes[i] & 0x7f); } while (bytes[i++] & 0x80);
      var lengthAt = i;
      return finish(bytes, at, tag, number, lengthAt);
    }
    return finish(bytes, at, tag, tag & 0x1f, at + 1);
  }

  function finish(bytes, at, tag, number, lengthAt) {
    var first = bytes[lengthAt];
    var length = first;
    var bodyAt = lengthAt + 1;
    if (first & 0x80) {
      var count = first & 0x7f;
      if (count < 1 || count > 4) { throw new Error("DER: bad length"); }
      length = 0;
      for (var k = 0; k < count; k++) { length = length * 256 + bytes[bodyAt + k]; }
      bodyAt += count;
    }
    var end = bodyAt + length;
    if (end > bytes.length) { throw new Error("DER: truncated"); }
    var node = {
      tag: tag,
      cls: tag >> 6,
      constructed: Boolean(tag & 0x20),
      number: number,
      raw: bytes.subarray(at, end),
      body: bytes.subarray(bodyAt, end),
      end: end,
      children: function () {
        var found = [];
        var pos = 0;
        while (pos < node.body.length) {
          var child = read(node.body, pos);
          found.push(child);
          pos = child.end;
        }
        return found;
      },
      // the child with context tag [n], or null
      context: function (n) {
        var list = node.children();
        for (var c = 0; c < list.length; c++) {
          if (list[c].cls === 2 && list[c].number === n) { return list[c]; }
        }
        return null;
      },
      oid: function () { return oidText(node.body); },
      // a BIT STRING's bytes (whole bytes only)
      bitBytes: function () { return node.body.subarray(1); },
      text: function () { return new TextDecoder().decode(node.body); }
    };
    return node;
  }

  // ---------------------------------------------------------------- SHA-256

  var K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2
  ]);

  function sha256(data) {
    var h = new Uint32Array([
      0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
    ]);
    var total = data.length;
    var padded = new Uint8Array(((total + 9 + 63) >> 6) << 6);
    padded.set(data);
    padded[total] = 0x80;
    var bitsHigh = Math.floor(total / 0x20000000);
    var bitsLow = (total << 3) >>> 0;
    var view = new DataView(padded.buffer);
    view.setUint32(padded.length - 8, bitsHigh);
    view.setUint32(padded.length - 4, bitsLow);
    var w = new Uint32Array(64);
    for (var block = 0; block < padded.length; block += 64) {
      for (var t = 0; t < 16; t++) { w[t] = view.getUint32(block + 4 * t); }
      for (t = 16; t < 64; t++) {
        var x = w[t - 15];
        var y = w[t - 2];
        var s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        var s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        w[t] = (w[t - 16] + s0 + w[t - 7] + s1) >>> 0;
      }
      var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
      for (t = 0; t < 64; t++) {
        var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        var ch = (e & f) ^ (~e & g);
        var t1 = (hh + S1 + ch + K[t] + w[t]) >>> 0;
        var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        var maj = (a & b) ^ (a & c) ^ (b & c);
        var t2 = (S0 + maj) >>> 0;
        hh = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
      }
      h[0] = (h[0] + a) >>> 0; h[1] = (h[1] + b) >>> 0; h[2] = (h[2] + c) >>> 0;
      h[3] = (h[3] + d) >>> 0; h[4] = (h[4] + e) >>> 0; h[5] = (h[5] + f) >>> 0;
      h[6] = (h[6] + g) >>> 0; h[7] = (h[7] + hh) >>> 0;
    }
    var out = new Uint8Array(32);
    var outView = new DataView(out.buffer);
    for (var i = 0; i < 8; i++) { outView.setUint32(4 * i, h[i]); }
    return out;
  }

  function random(n) {
    var out = new Uint8Array(n);
    root.crypto.getRandomValues(out);
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) { return false; }
    var diff = 0;
    for (var i = 0; i < a.length; i++) { diff |= a[i] ^ b[i]; }
    return diff === 0;
  }

  function hex(bytes) {
    return Array.prototype.map.call(bytes, function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }

  root.certcenterDer = {
    concat: concat, tlv: tlv, seq: seq, set: set, int: int, oid: oid, octets: octets,
    bits: bits, nul: nul, utf8: utf8, bmp: bmp, time: time, explicit: explicit,
    implicit: implicit, algorithm: algorithm, read: read, sha256: sha256, random: random,
    equal: equal, hex: hex
  };
})(typeof window !== "undefined" ? window : globalThis);
