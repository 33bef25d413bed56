// The file a key lives in. The key rule itself (checkKey) is @keel/model's.
import { sha256 } from "@noble/hashes/sha2.js";
import { decodeUtf8, encodeUtf8, toHex, fromHex } from "@keel/bytes";
export { checkKey, MAX_KEY_BYTES } from "@keel/model";

/** Keys up to this many bytes are stored under their hex name, so a prefix scan is a name match. */
const HEX_NAME_MAX_BYTES = 100;

/** File name of a key: its hex when short (order- and prefix-preserving), else `~` + SHA-256. */
export function fileName(keyBytes: Uint8Array): string {
  return keyBytes.length <= HEX_NAME_MAX_BYTES ? toHex(keyBytes) : "~" + toHex(sha256(keyBytes));
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
