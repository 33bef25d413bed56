// Standard base64 without engine globals (QuickJS has no btoa/atob): JSON export, the HTTP API
// and every record sync and the mesh send.
//
// NOTE: QuickJS interprets these. Encoding writes ASCII codes into a byte array and turns them
// into a string in chunks (no `out +=` per character, which copies the string each time), and
// decoding looks each character up in a table (no per-quad arrays or indexOf).

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const CODES = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
const VALUES = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) t[CODES[i]] = i;
  return t;
})();
const PAD = 61; // "="
const CHUNK = 4096;

/**
 * Items this long go to a native encoder once a component wires one: a component call and its
 * list lowering cost more than QuickJS's loop over a few bytes.
 */
const NATIVE_MIN_BYTES = 16;
let native: ((items: Uint8Array[]) => string[]) | undefined;
let nativeDecode: ((text: string) => Uint8Array | null | undefined) | undefined;

/**
 * Base64 compiled: a component wires keel:text/base64 here. Items of 16 bytes or more (texts of
 * 16 characters or more) go there; `undefined` goes back to JavaScript.
 */
export function useBase64(b64: { encodeAll(items: Uint8Array[]): string[]; decode(text: string): Uint8Array | null | undefined } | undefined): void {
  native = b64 && ((items) => b64.encodeAll(items));
  nativeDecode = b64 && ((text) => b64.decode(text));
}

/**
 * Each item in base64, as toBase64 writes it: with a native encoder, in one call for the whole
 * list (a batch's records), else one at a time.
 */
export function toBase64All(items: Uint8Array[]): string[] {
  if (!native || items.length === 0) return items.map(encode);
  return native(items);
}

export function toBase64(b: Uint8Array): string {
  return native && b.length >= NATIVE_MIN_BYTES ? native([b])[0] : encode(b);
}

function encode(b: Uint8Array): string {
  const out = new Uint8Array(Math.ceil(b.length / 3) * 4);
  let o = 0;
  let i = 0;
  for (const whole = b.length - (b.length % 3); i < whole; i += 3) {
    const n = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    out[o++] = CODES[(n >> 18) & 63];
    out[o++] = CODES[(n >> 12) & 63];
    out[o++] = CODES[(n >> 6) & 63];
    out[o++] = CODES[n & 63];
  }
  if (i < b.length) {
    const n = (b[i] << 16) | ((i + 1 < b.length ? b[i + 1] : 0) << 8);
    out[o++] = CODES[(n >> 18) & 63];
    out[o++] = CODES[(n >> 12) & 63];
    out[o++] = i + 1 < b.length ? CODES[(n >> 6) & 63] : PAD;
    out[o++] = PAD;
  }
  const parts: string[] = [];
  for (let p = 0; p < out.length; p += CHUNK) parts.push(String.fromCharCode.apply(null, out.subarray(p, p + CHUNK) as unknown as number[]));
  return parts.join("");
}

/** `s`'s length without its trailing "=" (any number of them, as fromBase64 reads it). */
function unpadded(s: string): number {
  let len = s.length;
  while (len > 0 && s.charCodeAt(len - 1) === PAD) len--;
  return len;
}

/** Decode standard base64 (padding optional); null when it is not base64. */
export function fromBase64(s: string): Uint8Array | null {
  if (nativeDecode && s.length >= NATIVE_MIN_BYTES) return nativeDecode(s) ?? null;
  const len = unpadded(s);
  if (len % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((len * 3) / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? VALUES[c] : -1;
    if (v < 0) return null;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 255;
    }
  }
  return out;
}

const BASE64_FORM = /^[A-Za-z0-9+/]*=*$/;

/**
 * Whether fromBase64 would decode `s` (the same strings), without decoding it: one regular
 * expression, which QuickJS runs compiled, where decoding runs interpreted — the sync cloud
 * checks every record of a batch this way before storing it as it came.
 */
export function isBase64(s: string): boolean {
  return BASE64_FORM.test(s) && unpadded(s) % 4 !== 1;
}
