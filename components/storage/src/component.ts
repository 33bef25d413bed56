// Wiring only: keel:storage exports → the logic in kv.ts (see wit/storage/storage.wit).
import { Kv } from "./kv.ts";
import { WasiDir } from "./wasi-dir.ts";
import { storageError } from "./errors.ts";

// NOTE: wasmtime serve may run this in a fresh instance per request; nothing is cached
// between calls that another instance could make stale.
const kvStore = () => new Kv(WasiDir.open());
const notYet = (what: string) => () => {
  throw storageError("other", `${what} is not available yet`);
};

export const types = {};

export const kv = {
  get: (key: string) => kvStore().get(key) ?? null,
  put: (key: string, value: Uint8Array, ifMatch?: string) => kvStore().put(key, Uint8Array.from(value), ifMatch ?? undefined),
  delete: (key: string, ifMatch?: string) => kvStore().delete(key, ifMatch ?? undefined),
  scan: (prefix: string, cursor: string | undefined, limit: number) => {
    const page = kvStore().scan(prefix, cursor ?? undefined, limit);
    return { entries: page.entries, nextCursor: page.nextCursor ?? null };
  },
};

export const log = {
  append: notYet("topic append"),
  read: notYet("topic read"),
  topics: () => [],
};

export const admin = {
  usage: () => {
    const u = kvStore().usage();
    // maxBytes 0 = unlimited: limits from edge.toml arrive with the storage-limits work.
    return { usedBytes: u.bytes, maxBytes: 0, keys: u.keys, topics: 0 };
  },
  verify: notYet("verify"),
  compact: notYet("compact"),
};
