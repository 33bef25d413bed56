// End-to-end sealed records: the payloads of sync topics marked `end_to_end = true` are sealed
// on the edge, one record at a time, so the cloud stores, dedupes (by each record's offset) and
// forwards them without being able to read them. Plain TypeScript, run as is by Node tests and
// bundled into the sync component (QuickJS).
//
// AEAD: XChaCha20-Poly1305 from @noble/ciphers, pinned to exactly 2.4.0 in the pnpm catalog:
// audited (Cure53, 2024), no dependencies, pure JS (runs in QuickJS, which has no WebCrypto),
// the same family and release line as the noble hashes/curves the auth component already uses.
// An exact pin because this is key handling: a new release is read and upgraded on purpose.
// XChaCha's 24-byte nonces can be drawn at random for every record (no counter to keep across
// instances: wasmtime serve makes a fresh one per request); the caller supplies the randomness
// (wasi:random in the component, WebCrypto in Node), never Math.random.
//
// A sealed record (version 1):
//   "k1" (2 bytes: Keel seal, format 1) | kid length (1) | kid (1-32 ASCII) | key check (4)
//   | nonce (24) | XChaCha20-Poly1305 ciphertext + 16-byte tag
// of: a flag byte (0 = as is, 1 = raw deflate, used only when smaller: keel:text/gzip's when a
// component wires it in, fflate's otherwise; fflate inflates either) | the bytes.
// Associated data: the header up to the nonce, then "\n<topic>\n<origin node>\n<offset>", so a
// record replayed into another topic, under another origin or at another offset fails.
// The key check (the first 4 bytes of the XChaCha20 keystream under a fixed nonce no seal uses)
// is what tells a wrong key from a tampered record: AEAD alone cannot tell the two apart.
import { xchacha20, xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { inflateSync } from "fflate";
import { deflate } from "./codec.ts";
import { encodeUtf8 } from "@keel/bytes";
import { WireError } from "./errors.ts";
import { isKid, parseKeyList } from "./keys.ts";

/** Why a sealed record was refused (the label of keel_sync_sealed_refused_total). */
export type SealRefusal = "wrong_key" | "tampered" | "unknown_key" | "not_sealed";

export const SEAL_REFUSALS: readonly SealRefusal[] = ["wrong_key", "tampered", "unknown_key", "not_sealed"];

/** A record that cannot be opened (or is not sealed where it must be); the receiver refuses its batch. */
export class SealError extends WireError {
  readonly reason: SealRefusal;
  constructor(reason: SealRefusal, message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface SealKey {
  kid: string;
  key: Uint8Array;
  /** Key check value: tells a wrong key from a tampered record. */
  check: Uint8Array;
}

/** Where a record belongs; bound into its seal as associated data. */
export interface SealContext {
  topic: string;
  /** The node id of the edge that sealed it. */
  origin: string;
  /** Its offset in the origin's topic log. */
  offset: number;
}

const MAGIC = [0x6b, 0x31]; // "k1"
const CHECK_BYTES = 4;
const NONCE_BYTES = 24;
const TAG_BYTES = 16;
/** The smallest sealed record: a 1-character kid and an empty payload (its flag byte alone). */
export const MIN_SEALED_BYTES = MAGIC.length + 1 + 1 + CHECK_BYTES + NONCE_BYTES + 1 + TAG_BYTES;
const CHECK_NONCE = /* @__PURE__ */ encodeUtf8("keel seal key check v1\0\0");

function keyCheck(key: Uint8Array): Uint8Array {
  return xchacha20(key, CHECK_NONCE, new Uint8Array(CHECK_BYTES));
}

/**
 * The keys of `[sync] encryption_key_env`: `kid:BASE64KEY[,kid:BASE64KEY…]`, 32-byte keys
 * (standard or URL-safe base64). The first seals; all open. Messages never quote key material.
 */
export function parseSealKeys(text: string): SealKey[] {
  return parseKeyList(text).map(({ kid, key }) => ({ kid, key, check: keyCheck(key) }));
}

function associated(header: Uint8Array, ctx: SealContext): Uint8Array {
  const where = encodeUtf8(`\n${ctx.topic}\n${ctx.origin}\n${ctx.offset}`);
  const ad = new Uint8Array(header.length + where.length);
  ad.set(header);
  ad.set(where, header.length);
  return ad;
}

/** Seal `payload` with the first key. `random(n)` returns n cryptographically random bytes. */
export function sealRecord(keys: readonly SealKey[], ctx: SealContext, payload: Uint8Array, random: (n: number) => Uint8Array): Uint8Array {
  const k = keys[0];
  if (!k) throw new WireError("no encryption key to seal with");
  const kid = encodeUtf8(k.kid);
  const header = new Uint8Array([...MAGIC, kid.length, ...kid, ...k.check]);
  const nonce = random(NONCE_BYTES);
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_BYTES) throw new WireError("the random source gave no nonce");
  // Compress, then encrypt (ciphertext does not compress); only when it saves something.
  const packed = payload.length <= 32 ? payload : deflate(payload);
  const body = new Uint8Array(1 + Math.min(packed.length, payload.length));
  if (packed.length < payload.length) {
    body[0] = 1;
    body.set(packed, 1);
  } else body.set(payload, 1);
  const sealed = xchacha20poly1305(k.key, nonce, associated(header, ctx)).encrypt(body);
  const out = new Uint8Array(header.length + NONCE_BYTES + sealed.length);
  out.set(header);
  out.set(nonce, header.length);
  out.set(sealed, header.length + NONCE_BYTES);
  return out;
}

/** The header of a sealed record, checked for shape only (no key needed: the cloud does this). */
export function sealedHeader(sealed: Uint8Array): { kid: string; check: Uint8Array; length: number } {
  if (sealed.length < MIN_SEALED_BYTES || sealed[0] !== MAGIC[0] || sealed[1] !== MAGIC[1]) throw new SealError("not_sealed", `not a sealed record (${sealed.length < MIN_SEALED_BYTES ? `${sealed.length} bytes, under the ${MIN_SEALED_BYTES} of the smallest` : "no k1 header"})`);
  const n = sealed[2];
  let kid = "";
  for (let i = 0; i < n && 3 + i < sealed.length; i++) kid += String.fromCharCode(sealed[3 + i]);
  const length = 3 + n + CHECK_BYTES;
  if (!isKid(kid) || sealed.length < length + NONCE_BYTES + 1 + TAG_BYTES) throw new SealError("not_sealed", "not a sealed record (bad key id or too short)");
  return { kid, check: sealed.subarray(3 + n, length), length };
}

/** Open a sealed record with whichever key its kid names; refuses with the reason. */
export function openRecord(keys: readonly SealKey[], ctx: SealContext, sealed: Uint8Array): Uint8Array {
  const h = sealedHeader(sealed);
  const k = keys.find((x) => x.kid === h.kid);
  if (!k) throw new SealError("unknown_key", `sealed with key id ${h.kid}, which this node does not hold (it has ${keys.map((x) => x.kid).join(", ") || "no keys"})`);
  if (h.check.some((b, i) => b !== k.check[i])) throw new SealError("wrong_key", `key ${h.kid} here is not the key ${h.kid} that sealed the record (key check differs)`);
  let body: Uint8Array;
  try {
    body = xchacha20poly1305(k.key, sealed.subarray(h.length, h.length + NONCE_BYTES), associated(sealed.subarray(0, h.length), ctx)).decrypt(sealed.subarray(h.length + NONCE_BYTES));
  } catch {
    throw new SealError("tampered", `record ${ctx.offset} of ${ctx.topic} from ${ctx.origin} failed authentication (altered, or moved from another topic, origin or offset)`);
  }
  if (body[0] === 0) return body.subarray(1);
  if (body[0] === 1) {
    try {
      return inflateSync(body.subarray(1));
    } catch {
      // authenticated, so a key holder wrote it: a bug, not an attack
    }
  }
  throw new SealError("not_sealed", `record ${ctx.offset} of ${ctx.topic}: unknown payload encoding ${body[0]} inside the seal`);
}
