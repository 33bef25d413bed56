// The text of `[sync] encryption_key_env` (`kid:BASE64KEY[,kid:BASE64KEY…]`), parsed and checked
// for its form only. In its own module, with no cipher or compression imports, so the Node host
// can refuse a malformed key list when it reads its config without loading fflate and the
// ciphers at every start (~7 ms): `@keel/wire/keys`. seal.ts builds its keys from this.
import { fromBase64 } from "@keel/bytes";
import { WireError } from "./errors.ts";

export const KEY_BYTES = 32;
const MAX_KEYS = 16;
const KID = /^[A-Za-z0-9_-]{1,32}$/;

/** kid and key of each item, in order; a WireError names the first item that is not well formed. Messages never quote key material. */
export function parseKeyList(text: string): { kid: string; key: Uint8Array }[] {
  const items = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (!items.length) throw new WireError("no keys: expected kid:BASE64KEY[,kid:BASE64KEY…]");
  if (items.length > MAX_KEYS) throw new WireError(`${items.length} keys; at most ${MAX_KEYS}`);
  const keys: { kid: string; key: Uint8Array }[] = [];
  for (const [i, item] of items.entries()) {
    const colon = item.indexOf(":");
    const kid = colon < 0 ? "" : item.slice(0, colon);
    if (!KID.test(kid)) throw new WireError(`key ${i + 1}: expected kid:BASE64KEY with a key id of 1-32 characters A-Z a-z 0-9 _ -`);
    if (keys.some((k) => k.kid === kid)) throw new WireError(`key id ${kid} is given twice`);
    const key = fromBase64(item.slice(colon + 1).replace(/-/g, "+").replace(/_/g, "/"));
    if (!key) throw new WireError(`key ${kid}: not base64`);
    if (key.length !== KEY_BYTES) throw new WireError(`key ${kid}: ${key.length} bytes; keys are ${KEY_BYTES} bytes (e.g. openssl rand -base64 32)`);
    keys.push({ kid, key });
  }
  return keys;
}

/** Whether `kid` is a well-formed key id (seal.ts reads kids from records with it). */
export const isKid = (kid: string) => KID.test(kid);
