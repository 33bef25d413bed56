// UTF-8 without TextEncoder: the QuickJS engine has none.

// NOTE: QuickJS runs these on every stored record, batch and body. They once pushed one number
// (encode) or appended one character (decode) at a time: decoding a 2.5 KB record meta took
// milliseconds, because each `s +=` copies the string so far. Now ASCII runs go through
// String.fromCharCode in chunks and encoding writes into a preallocated array.
const CHUNK = 4096;
const NON_ASCII = /[^\x00-\x7f]/;

/** Strings this long go to a native encoder once a component wires one (a call costs more below). */
const NATIVE_MIN_CHARS = 256;
let native: ((s: string) => Uint8Array) | undefined;

/** Encode long strings natively: a component wires keel:text/utf8 here (the canonical ABI encodes). */
export function useUtf8Encoder(fn: (s: string) => Uint8Array): void {
  native = fn;
}

export function encodeUtf8(s: string): Uint8Array {
  if (native && s.length >= NATIVE_MIN_CHARS) return native(s);
  const out = new Uint8Array(s.length * 3);
  let j = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[j++] = c;
      continue;
    }
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        out[j++] = 0xf0 | (c >> 18);
        out[j++] = 0x80 | ((c >> 12) & 63);
        out[j++] = 0x80 | ((c >> 6) & 63);
        out[j++] = 0x80 | (c & 63);
        continue;
      }
    }
    // A lone surrogate is written as its code unit, as `for…of` + codePointAt always did.
    if (c < 0x800) {
      out[j++] = 0xc0 | (c >> 6);
      out[j++] = 0x80 | (c & 63);
    } else {
      out[j++] = 0xe0 | (c >> 12);
      out[j++] = 0x80 | ((c >> 6) & 63);
      out[j++] = 0x80 | (c & 63);
    }
  }
  return out.slice(0, j);
}

/**
 * Many strings encoded at once: joined, encoded with one call (the native encoder, when the
 * join is long enough), then cut — when the text is all ASCII, a string's bytes are as many as
 * its characters. Otherwise each is encoded alone. For the many short strings of a batch (the
 * sync cloud's record envelopes), which would each run encodeUtf8's loop in QuickJS.
 */
export function encodeUtf8Many(strings: readonly string[]): Uint8Array[] {
  const joined = strings.join("");
  if (NON_ASCII.test(joined)) return strings.map(encodeUtf8);
  const all = encodeUtf8(joined);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const s of strings) {
    out.push(all.subarray(at, at + s.length));
    at += s.length;
  }
  return out;
}

let nativeDecode: ((b: Uint8Array) => string | null | undefined) | undefined;

/**
 * Decode long byte runs natively: a component wires keel:text/utf8 decode here (checked compiled,
 * lifted by the canonical ABI; none for malformed bytes). The loop below converts through
 * String.fromCharCode.apply, which QuickJS runs at ~35 ns a byte: a 100 KB request body ~3.5 ms.
 */
export function useUtf8Decoder(fn: (b: Uint8Array) => string | null | undefined): void {
  nativeDecode = fn;
}

/** Decode UTF-8; throws on malformed input so bad bytes never become keys. */
export function decodeUtf8(b: Uint8Array): string {
  if (nativeDecode && b.length >= NATIVE_MIN_CHARS) {
    const s = nativeDecode(b);
    if (typeof s !== "string") throw new Error("malformed UTF-8");
    return s;
  }
  const parts: string[] = [];
  let i = 0;
  // How many bytes to try as ASCII next: CHUNK while the text is ASCII; after a non-ASCII
  // character, twice the ASCII run that preceded it (at least 16), so text with many
  // non-ASCII characters is not converted 4 KB at a time for each of them.
  let probe = CHUNK;
  while (i < b.length) {
    // A run of ASCII, converted and checked natively (String.fromCharCode, a regular
    // expression): a loop over the bytes here runs interpreted in QuickJS.
    const chunk = String.fromCharCode.apply(null, b.subarray(i, Math.min(b.length, i + probe)) as unknown as number[]);
    const run = chunk.search(NON_ASCII);
    if (run < 0) {
      parts.push(chunk);
      i += chunk.length;
      probe = CHUNK;
      continue;
    }
    probe = Math.min(CHUNK, Math.max(16, run * 2));
    if (run > 0) {
      parts.push(chunk.slice(0, run));
      i += run;
      continue;
    }
    const c = b[i];
    let cp: number, n: number;
    if (c >= 0xc2 && c < 0xe0) { cp = c & 31; n = 2; }
    else if (c >= 0xe0 && c < 0xf0) { cp = c & 15; n = 3; }
    else if (c >= 0xf0 && c < 0xf5) { cp = c & 7; n = 4; }
    else throw new Error("malformed UTF-8");
    if (i + n > b.length) throw new Error("truncated UTF-8");
    for (let k = 1; k < n; k++) {
      const cc = b[i + k];
      if ((cc & 0xc0) !== 0x80) throw new Error("malformed UTF-8");
      cp = (cp << 6) | (cc & 63);
    }
    if ((n === 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) || (n === 4 && (cp < 0x10000 || cp > 0x10ffff))) {
      throw new Error("malformed UTF-8");
    }
    parts.push(String.fromCodePoint(cp));
    i += n;
  }
  return parts.join("");
}

/**
 * `text` as a fixed-width line padded with spaces (cut at `width`): state rewritten in place
 * with one pwrite, where a shorter line would leave the end of a longer one behind.
 */
export function paddedLine(text: string, width: number): Uint8Array {
  const line = new Uint8Array(width).fill(0x20);
  line.set(encodeUtf8(text).subarray(0, width));
  return line;
}

/** Two hex digits for each byte value. */
export const HEX_DIGITS: readonly string[] = Array.from({ length: 256 }, (_, i) => (i < 16 ? "0" : "") + i.toString(16));

export function toHex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX_DIGITS[b[i]];
  return s;
}

export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || /[^0-9a-f]/.test(s)) throw new Error("bad hex");
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}
