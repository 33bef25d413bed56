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

export function isStorageError(e: unknown): e is StorageError {
  return typeof e === "object" && e !== null && typeof (e as { tag?: unknown }).tag === "string";
}
