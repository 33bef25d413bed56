// Text and base64 helpers the router needs, without engine globals (QuickJS has no
// TextEncoder/TextDecoder).
import { encodeUtf8, decodeUtf8, packRecords, useUtf8Decoder, useUtf8Encoder } from "@keel/bytes";

export { toBase64, toBase64All, fromBase64 } from "@keel/bytes";

/** A native UTF-8 encoder: keel:text/utf8 in the components (the canonical ABI encodes). */
export interface Utf8Encoder {
  encode(text: string): Uint8Array;
  encodeAll(texts: string[]): Uint8Array[];
  /** Each text's UTF-8 bytes after their u32 little-endian length, in one list (a packed batch). */
  encodePacked(texts: string[]): Uint8Array;
  /** The text of UTF-8 bytes, checked compiled; none (null or undefined) when malformed. */
  decode(bytes: Uint8Array): string | null | undefined;
}

let native: Utf8Encoder | undefined;

/**
 * The component entry gives the keel:text/utf8 import; plain Node (tests) keeps the loop. NOTE:
 * QuickJS has no TextEncoder and its interpreter spends ~0.5 µs a character in a loop — 49 ms
 * for a batch of 1,000 records of 100 characters — while a call across the canonical ABI costs
 * microseconds and encodes natively. Single strings take @keel/bytes' hook (long ones go native).
 */
export function useEncoder(e: Utf8Encoder): void {
  native = e;
  useUtf8Encoder(e.encode);
  useUtf8Decoder(e.decode);
}

export const encodeText = encodeUtf8;

/** Each string's UTF-8 bytes (one cross-component call for a whole batch). */
export function encodeTexts(list: string[]): Uint8Array[] {
  return native ? native.encodeAll(list) : list.map(encodeText);
}

/**
 * A batch of text records packed as storage's keel:storage/log append-packed takes it (each
 * record's u32 little-endian length, then its UTF-8 bytes): one cross-component call that
 * returns one list, where encodeTexts returns one per record to hand on one by one.
 */
export function encodePackedTexts(list: string[]): Uint8Array {
  return native ? native.encodePacked(list) : packRecords(list.map(encodeText));
}

/** Strict UTF-8: throws on malformed bytes (ASCII runs decode natively, in @keel/bytes). */
export const decodeUtf8Strict = decodeUtf8;

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
