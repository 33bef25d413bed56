// Errors in the shape of the WIT `keel:storage/types.error` variant, so the component can
// throw them straight across the boundary.

export type StorageError =
  | { tag: "not-found" }
  | { tag: "invalid-key"; val: string }
  | { tag: "too-large"; val: string }
  | { tag: "version-mismatch"; val: string }
  | { tag: "corrupt"; val: string }
  | { tag: "full"; val: string }
  | { tag: "io"; val: string }
  | { tag: "backpressure"; val: number }
  | { tag: "other"; val: string };

export function storageError(tag: Exclude<StorageError["tag"], "not-found" | "backpressure">, val: string): StorageError {
  return { tag, val } as StorageError;
}

const TAGS = new Set(["not-found", "invalid-key", "too-large", "version-mismatch", "corrupt", "full", "io", "backpressure", "other"]);

/** A `keel:storage/types.error`: an object whose tag is one of the variant's cases. */
export function isStorageError(e: unknown): e is StorageError {
  return typeof e === "object" && e !== null && TAGS.has((e as { tag?: unknown }).tag as string);
}

/**
 * What an export throws across the boundary: a `keel:storage/types.error` as it is, anything
 * else (a WASI error code thrown as a string, a JavaScript error) as `io` with what it was — an
 * export that threw something else would trap the whole request and lose the reused instance.
 */
export function toWitError(e: unknown): StorageError {
  if (isStorageError(e)) return e;
  const what = e instanceof Error ? e.message : typeof e === "string" ? e : JSON.stringify(e) ?? String(e);
  return { tag: "io", val: `unexpected failure: ${String(what).slice(0, 300)}` };
}
