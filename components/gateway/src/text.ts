// Text and base64 helpers the router needs, without engine globals (QuickJS has no
// TextEncoder/TextDecoder).
import { encodeUtf8, decodeUtf8 } from "@keel/bytes";

export { toBase64, fromBase64 } from "@keel/bytes";

export function encodeText(s: string): Uint8Array {
  // ASCII (most headers and JSON) without the per-character array of encodeUtf8.
  let ascii = true;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) { ascii = false; break; }
  if (!ascii) return encodeUtf8(s);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Strict UTF-8: throws on malformed bytes. */
export function decodeUtf8Strict(b: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < b.length; i++) if (b[i] > 0x7f) { ascii = false; break; }
  if (!ascii) return decodeUtf8(b);
  let s = "";
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode.apply(null, b.subarray(i, i + 8192) as unknown as number[]);
  return s;
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
