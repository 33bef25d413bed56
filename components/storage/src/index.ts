export { Kv, DEFAULT_MAX_VALUE_BYTES, type Entry, type Page, type KvOptions } from "./kv.ts";
export type { Dir, FileStat } from "./dir.ts";
export { storageError, isStorageError, type StorageError } from "./errors.ts";
export { checkKey, MAX_KEY_BYTES } from "./keys.ts";
export { encodeUtf8, decodeUtf8 } from "./utf8.ts";
