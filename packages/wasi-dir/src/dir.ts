// The few filesystem operations storage needs. The component implements them on
// wasi:filesystem (wasi-dir.ts); tests implement them on node:fs. Paths are relative to the
// data directory and use '/'.

/** Size and modification time of a file. */
export interface FileStat {
  size: number;
  mtimeMs: number;
  atimeMs: number;
}

/** A file kept open for appending, without fsync: for a file only one instance writes. */
export interface Appender {
  /** Add `data` after what this appender wrote (creating the file). */
  write(data: Uint8Array): void;
  /** Empty the file and write from its start again. */
  reset(): void;
}

/**
 * One file of `Dir.writeFiles`: `data` replaces it atomically (temp file, rename), unless
 * `inPlace` is given and the file exists, when `inPlace.data` is written at `inPlace.at` instead.
 */
export interface FileWrite {
  path: string;
  data: () => Uint8Array;
  inPlace?: { at: number; data: Uint8Array };
}

/** A data directory. Every method throws a StorageError with tag `io` on failure. */
export interface Dir {
  /** `path` kept open for appends: one write call a time instead of open, write and close. */
  appender(path: string): Appender;
  /** Whole file contents, or null when it does not exist. */
  read(path: string): Uint8Array | null;
  /**
   * Replace a file atomically and durably: temp file, fsync, rename, fsync of the directory.
   * With `durable` false (caches), the fsyncs are skipped: still atomic, not crash-durable.
   * With `"file"`, the file's data is fsynced and the directory is not: a caller replacing many
   * files in one directory fsyncs it once after the last rename (`syncDir`).
   */
  writeAtomic(path: string, data: Uint8Array, durable?: boolean | "file"): void;
  /**
   * Write several files and flush them together: every write first, then every file's
   * fdatasync, then the renames of the files replaced whole. On ext4 the first flush commits the
   * journal for the whole group and the rest find little left to do, where a write and flush per
   * file paid a commit each (storage's kv.ts applies other nodes' versions 16 keys at a time).
   * True when a file was renamed into place: the caller fsyncs the directory (`syncDir`).
   * Nothing is renamed when a write or flush fails; the temp files are removed.
   */
  writeFiles(files: FileWrite[]): boolean;
  /** fsync a directory, making the renames and creations in it durable. */
  syncDir(path: string): void;
  /** Create a file only if it does not exist (O_EXCL); false when it already exists. */
  createExclusive(path: string, data: Uint8Array): boolean;
  /** Remove a file; false when it did not exist. */
  remove(path: string): boolean;
  /** Names in a directory (not recursive); empty when it does not exist. */
  list(path: string): string[];
  /** Create a directory and its parents. */
  mkdirp(path: string): void;
  /** Size and mtime, or null when it does not exist. */
  stat(path: string): FileStat | null;
  /** Up to `length` bytes from `position` (fewer at end of file); null when the file does not exist. */
  readAt(path: string, position: number, length: number): Uint8Array | null;
  /**
   * Write `data` at `position` (creating the file), then fsync its data. With `durable` false
   * (state that may be lost in a crash, like rate-limit buckets) the fsync is skipped.
   */
  writeAt(path: string, position: number, data: Uint8Array, durable?: boolean): void;
  /**
   * Write `data` at `position` of a file that exists, then fdatasync it; false (nothing written)
   * when the file does not exist. No rename and no directory fsync: when the write stays inside
   * the file's size, the flush is the data alone (a KV update in place, storage's kv.ts).
   */
  overwrite(path: string, position: number, data: Uint8Array): boolean;
  /**
   * Make what was written to a file durable (fdatasync). With writeAt(…, false) under a lock
   * and `sync` after it, writers share their flushes instead of taking turns holding one.
   * False when the file does not exist.
   */
  sync(path: string): boolean;
  /** Cut a file to `size` bytes and fsync it. */
  truncate(path: string, size: number): void;
  /** Set a file's access time to now (for lru eviction). */
  touch(path: string): void;
  /** Sleep (used to back off while another instance holds a lock). */
  sleep(ms: number): void;
}
