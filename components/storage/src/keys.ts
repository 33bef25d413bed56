// Key rules and the file a key lives in.
import { sha256 } from "@noble/hashes/sha2.js";
import { storageError } from "./errors.ts";
import { encodeUtf8, decodeUtf8, toHex, fromHex } from "./utf8.ts";

/** Longest key, in UTF-8 bytes (the same as Cloudflare KV's, so apps move over unchanged). */
export const MAX_KEY_BYTES = 512;
/** Keys up to this many bytes are stored under their hex name, so a prefix scan is a name match. */
const HEX_NAME_MAX_BYTES = 100;

// C0, DEL and C1 controls; they break logs, terminals and file tools.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Throws `invalid-key` unless `key` is 1..=512 UTF-8 bytes with no control characters. */
export function checkKey(key: string, what = "key"): Uint8Array {
  if (typeof key !== "string" || key.length === 0) throw storageError("invalid-key", `${what} is empty`);
  if (CONTROL.test(key)) throw storageError("invalid-key", `${what} contains a control character`);
  if (/[\ud800-\udfff]/.test(key.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ""))) {
    throw storageError("invalid-key", `${what} contains a lone surrogate`);
  }
  const bytes = encodeUtf8(key);
  if (bytes.length > MAX_KEY_BYTES) {
    throw storageError("invalid-key", `${what} is ${bytes.length} bytes; the limit is ${MAX_KEY_BYTES}`);
  }
  return bytes;
}

/** File name of a key: its hex when short (order- and prefix-preserving), else `~` + SHA-256. */
export function fileName(keyBytes: Uint8Array): string {
  return keyBytes.length <= HEX_NAME_MAX_BYTES ? toHex(keyBytes) : "~" + toHex(sha256(keyBytes));
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
