// The file a key lives in. The key rule itself (checkKey) is @keel/model's.
import { sha256 } from "@noble/hashes/sha2.js";
import { decodeUtf8, encodeUtf8, toHex, fromHex, HEX_DIGITS } from "@keel/bytes";
import { checkKey } from "@keel/model";
export { checkKey, MAX_KEY_BYTES } from "@keel/model";

/** Keys up to this many bytes are stored under their hex name, so a prefix scan is a name match. */
const HEX_NAME_MAX_BYTES = 100;

/** File name of a key: its hex when short (order- and prefix-preserving), else `~` + SHA-256. */
export function fileName(keyBytes: Uint8Array): string {
  return keyBytes.length <= HEX_NAME_MAX_BYTES ? toHex(keyBytes) : "~" + toHex(sha256(keyBytes));
}

/**
 * `fileName(checkKey(key))`: checks the key (throws `invalid-key` as checkKey does) and names
 * its file. NOTE: most keys are short printable ASCII, whose UTF-8 bytes are their char codes
 * and which no rule of checkKey refuses, so their name is made from the string in one loop.
 * The general path (checkKey's three regular expressions, the UTF-8 encoder, then the hex) cost
 * a GET ~25 µs of QuickJS, a probe found; every get, put and delete names a file.
 */
export function keyFileName(key: string): string {
  const n = key.length;
  if (n === 0 || n > HEX_NAME_MAX_BYTES) return fileName(checkKey(key));
  let s = "";
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return fileName(checkKey(key));
    s += HEX_DIGITS[c];
  }
  return s;
}

/** A key's hex, whatever its length: how the key index names it (it sorts as the key's bytes do). */
export function keyHex(key: string): string {
  return toHex(encodeUtf8(key));
}

/** The key a hex file name stands for, or null for hashed names (read the file to learn it). */
export function keyOfName(name: string): string | null {
  if (name.startsWith("~") || name.includes(".")) return null;
  try {
    return decodeUtf8(fromHex(name));
  } catch {
    return null;
  }
}
