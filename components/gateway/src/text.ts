// Text and base64 helpers the router needs, without engine globals (QuickJS has no
// TextEncoder/TextDecoder).
import { encodeUtf8, decodeUtf8 } from "@keel/bytes";

export { toBase64, fromBase64 } from "@keel/bytes";

/** A native UTF-8 encoder: keel:text/utf8 in the components (the canonical ABI encodes). */
export interface Utf8Encoder {
  encode(text: string): Uint8Array;
  encodeAll(texts: string[]): Uint8Array[];
}

let native: Utf8Encoder | undefined;

/**
 * The component entry gives the keel:text/utf8 import; plain Node (tests) keeps the loop. NOTE:
 * QuickJS has no TextEncoder and its interpreter spends ~0.5 µs a character in a loop — 49 ms
 * for a batch of 1,000 records of 100 characters — while a call across the canonical ABI costs
 * microseconds and encodes natively.
 */
export function useEncoder(e: Utf8Encoder): void {
  native = e;
}

/** Strings shorter than this are cheaper to encode here than in a call to another component. */
const NATIVE_FROM = 64;

export function encodeText(s: string): Uint8Array {
  if (native && s.length >= NATIVE_FROM) return native.encode(s);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return encodeUtf8(s);
    out[i] = c;
  }
  return out;
}

/** Each string's UTF-8 bytes (one cross-component call for a whole batch). */
export function encodeTexts(list: string[]): Uint8Array[] {
  return native ? native.encodeAll(list) : list.map(encodeText);
}

/** Strict UTF-8: throws on malformed bytes. ASCII (the common case) decodes natively. */
export function decodeUtf8Strict(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode.apply(null, b.subarray(i, i + 8192) as unknown as number[]);
  // Bytes ≥ 0x80 became Latin-1 characters above; then the full decoder decides.
  return /[^\x00-\x7f]/.test(s) ? decodeUtf8(b) : s;
}

/** UTF-8, with U+FFFD for each malformed byte. */
export function decodeText(b: Uint8Array): string {
  try {
    return decodeUtf8Strict(b);
  } catch {
    let s = "";
    for (let i = 0; i < b.length; i++) {
      const c = b[i];
      const n = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
      try {
        if (n === 0 || i + n > b.length) throw new Error("bad");
        s += decodeUtf8(b.subarray(i, i + n));
        i += n - 1;
      } catch {
        s += "\ufffd";
      }
    }
    return s;
  }
}
