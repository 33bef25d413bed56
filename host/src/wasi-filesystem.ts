// wasi:filesystem/types + wasi:filesystem/preopens for the Node host, on synchronous node:fs.
//
// preview2-shim 0.25's nodejs filesystem sends open/read/write/stat/sync/close through a synckit
// worker thread (about 1–2 ms a call: a KV get cost 15 ms). Every call here is one direct
// syscall on the main thread instead. The shape is the one jco's glue expects from the shim's
// `filesystem` export: `{ types: { Descriptor, DirectoryEntryStream, filesystemErrorCode },
// preopens: { getDirectories } }`; errors are thrown as the WASI error-code string ("no-entry").
//
// Sandbox: every path is relative to a descriptor and resolved lexically; absolute paths and a
// `..` that climbs above the descriptor are refused ("not-permitted"), `symlinkFollow: false`
// opens with O_NOFOLLOW (the last component, as openat does), and symlinkAt refuses targets that
// are absolute or climb out of the preopen. Node has no openat(), so symlinks already planted
// inside the data directory by the host's operator are followed in intermediate components.
//
// readViaStream / writeViaStream / appendViaStream (no Keel component calls them: WasiDir uses
// read/write) are delegated to preview2-shim, whose streams jco's glue checks by class; the
// shim is loaded then (wasi.ts says why not before).
// POSIX only (Linux, macOS), like the rest of the host.
import fs from "node:fs";
import nodePath from "node:path";
import { loadShim, shimLoaded } from "./shim.ts";

type ErrorCode = string;
export type DescriptorType =
  | "unknown" | "block-device" | "character-device" | "directory" | "fifo" | "symbolic-link" | "regular-file" | "socket";
export interface PathFlags { symlinkFollow?: boolean }
export interface OpenFlags { create?: boolean; directory?: boolean; exclusive?: boolean; truncate?: boolean }
export interface DescriptorFlags {
  read?: boolean; write?: boolean; fileIntegritySync?: boolean; dataIntegritySync?: boolean;
  requestedWriteSync?: boolean; mutateDirectory?: boolean;
}
export interface Datetime { seconds: bigint; nanoseconds: number }
export type NewTimestamp = { tag: "no-change" } | { tag: "now" } | { tag: "timestamp"; val: Datetime };
export interface DescriptorStat {
  type: DescriptorType;
  linkCount: bigint;
  size: bigint;
  dataAccessTimestamp: Datetime;
  dataModificationTimestamp: Datetime;
  statusChangeTimestamp: Datetime;
}
export interface DirectoryEntry { type: DescriptorType; name: string }
export interface MetadataHashValue { upper: bigint; lower: bigint }

const C = fs.constants;
const NS = 1_000_000_000n;

const ERRNO: Record<string, ErrorCode> = {
  EACCES: "access", EAGAIN: "would-block", EWOULDBLOCK: "would-block", EALREADY: "already",
  EBADF: "bad-descriptor", EBUSY: "busy", EDEADLK: "deadlock", EDQUOT: "quota", EEXIST: "exist",
  EFBIG: "file-too-large", EILSEQ: "illegal-byte-sequence", EINPROGRESS: "in-progress",
  EINTR: "interrupted", EINVAL: "invalid", EIO: "io", EISDIR: "is-directory", ELOOP: "loop",
  EMLINK: "too-many-links", EMSGSIZE: "message-size", ENAMETOOLONG: "name-too-long",
  ENODEV: "no-device", ENOENT: "no-entry", ENOLCK: "no-lock", ENOMEM: "insufficient-memory",
  ENOSPC: "insufficient-space", ENOTDIR: "not-directory", ERR_FS_EISDIR: "not-directory",
  ENOTEMPTY: "not-empty", ENOTRECOVERABLE: "not-recoverable", ENOTSUP: "unsupported",
  EOPNOTSUPP: "unsupported", ENOTTY: "no-tty", ENXIO: "no-such-device", EOVERFLOW: "overflow",
  EPERM: "not-permitted", EPIPE: "pipe", EROFS: "read-only", ESPIPE: "invalid-seek",
  ETXTBSY: "text-file-busy", EXDEV: "cross-device",
  // A NUL byte in a path: Node refuses it before any syscall.
  ERR_INVALID_ARG_VALUE: "invalid", ERR_INVALID_ARG_TYPE: "invalid",
};

/** The WASI error-code of a node:fs failure (a string thrown by this module passes through). */
export function errorCode(e: unknown): ErrorCode {
  if (typeof e === "string") return e;
  const err = e as { code?: unknown; errno?: unknown };
  const mapped = typeof err?.code === "string" ? ERRNO[err.code] : undefined;
  if (mapped) return mapped;
  // Some other OS error: an error code, never a trap of the calling component.
  if (typeof err?.errno === "number") return "io";
  throw e;
}

function fsCall<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw errorCode(e);
  }
}

function typeOf(s: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): DescriptorType {
  if (s.isFile()) return "regular-file";
  if (s.isDirectory()) return "directory";
  if (s.isSymbolicLink()) return "symbolic-link";
  if (s.isFIFO()) return "fifo";
  if (s.isSocket()) return "socket";
  if (s.isCharacterDevice()) return "character-device";
  if (s.isBlockDevice()) return "block-device";
  return "unknown";
}

const datetime = (ns: bigint): Datetime => ({ seconds: ns / NS, nanoseconds: Number(ns % NS) });

function statOf(s: fs.BigIntStats): DescriptorStat {
  return {
    type: typeOf(s),
    linkCount: s.nlink,
    size: s.size,
    dataAccessTimestamp: datetime(s.atimeNs),
    dataModificationTimestamp: datetime(s.mtimeNs),
    statusChangeTimestamp: datetime(s.ctimeNs),
  };
}

/** Seconds (with fraction) for node's utimes family; `current` is used for no-change. */
function newTime(t: NewTimestamp, current: bigint): number {
  switch (t.tag) {
    case "no-change": return Number(current) / 1e9;
    case "now": return Date.now() / 1000;
    case "timestamp": return Number(t.val.seconds) + t.val.nanoseconds / 1e9;
    default: throw "invalid";
  }
}

/**
 * `sub` resolved lexically under `base` (a host path): absolute paths and `..` above `base`
 * are refused. A trailing slash is kept (the kernel then insists on a directory).
 */
function resolveUnder(base: string, sub: string): string {
  if (typeof sub !== "string" || sub.includes("\0")) throw "invalid";
  if (sub === "") throw "no-entry";
  if (sub.startsWith("/")) throw "not-permitted";
  const parts: string[] = [];
  for (const seg of sub.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (parts.pop() === undefined) throw "not-permitted";
      continue;
    }
    parts.push(seg);
  }
  if (parts.length === 0) return base;
  const joined = (base.endsWith("/") ? base : base + "/") + parts.join("/");
  return sub.endsWith("/") ? joined + "/" : joined;
}

const closeFd = (fd: number) => {
  try {
    fs.closeSync(fd);
  } catch {
    // Already closed (EBADF): nothing left to release.
  }
};
/** Descriptors the guest (or host code) leaked are closed when they are collected. */
const fdFinalizer = new FinalizationRegistry<number>(closeFd);

// Reads of up to SCRATCH bytes go through one reused buffer and are copied out at their real
// size (WasiDir asks for up to 1 MiB to read a small file; zeroing 1 MiB per call is not free).
const SCRATCH = 64 * 1024;
const MAX_READ = 16 * 1024 * 1024;
const scratch = Buffer.allocUnsafeSlow(SCRATCH);

let internal = false;

/** Run `make` (a `new` of a class below) with construction allowed, for this module only. */
function construct<T>(make: () => T): T {
  internal = true;
  try {
    return make();
  } finally {
    internal = false;
  }
}

export class Descriptor {
  /** Host path of this descriptor: the base of its path operations. */
  #path!: string;
  /** Open fd; undefined for a preopen (path operations only) and after dispose. */
  #fd: number | undefined;
  #isPreopen = false;
  #closed = false;
  #flags: DescriptorFlags = {};
  #type: DescriptorType | undefined;

  constructor() {
    // jco's glue creates borrow placeholders with Object.create(Descriptor.prototype), never
    // with `new`; descriptors come only from preopens and openAt.
    if (!internal) throw new TypeError("Descriptor is not constructible");
  }

  static #make(path: string, fd: number | undefined, flags: DescriptorFlags, preopen: boolean): Descriptor {
    const d = construct(() => new Descriptor());
    d.#path = path;
    d.#fd = fd;
    d.#flags = flags;
    d.#isPreopen = preopen;
    if (preopen) d.#type = "directory";
    if (fd !== undefined) fdFinalizer.register(d, fd, d);
    return d;
  }

  /** @internal A preopen for the host directory `hostPath` (see setPreopens). */
  static _preopen(hostPath: string): Descriptor {
    const p = nodePath.resolve(hostPath);
    return Descriptor.#make(p, undefined, { read: true, mutateDirectory: true }, true);
  }

  static #of(d: unknown): Descriptor {
    if (!(d instanceof Descriptor) || !(#path in d) || d.#path === undefined) throw "bad-descriptor";
    return d;
  }

  #live(): void {
    if (this.#closed) throw "bad-descriptor";
  }

  /** The open fd, for fd operations; a preopen or a closed descriptor has none. */
  #needFd(preopenCode: ErrorCode = "bad-descriptor"): number {
    this.#live();
    if (this.#fd === undefined) throw preopenCode;
    return this.#fd;
  }

  #at(path: string): string {
    this.#live();
    return resolveUnder(this.#path, path);
  }

  [Symbol.dispose](): void {
    if (this.#fd !== undefined) {
      fdFinalizer.unregister(this);
      const fd = this.#fd;
      this.#fd = undefined;
      closeFd(fd);
    }
    // A preopen stays usable: each getDirectories() hands out a fresh one anyway.
    if (!this.#isPreopen) this.#closed = true;
  }

  // --- streams: delegated to preview2-shim (see the header) ---

  #shimFile(flags: DescriptorFlags): { [Symbol.dispose](): void; readViaStream(o: bigint): unknown; writeViaStream(o: bigint): unknown } {
    this.#needFd("is-directory");
    if (this.getType() === "directory") throw "is-directory";
    const shimFs = loadShim("wasi:filesystem/types#[method]descriptor.read-via-stream").filesystem as unknown as { _createPreopenDescriptor(p: string): unknown };
    const dir = shimFs._createPreopenDescriptor(nodePath.dirname(this.#path)) as {
      openAt(p: PathFlags, path: string, o: OpenFlags, f: DescriptorFlags): never;
    };
    return dir.openAt({ symlinkFollow: false }, nodePath.basename(this.#path), {}, flags);
  }

  readViaStream(offset: bigint): unknown {
    const f = this.#shimFile({ read: true });
    try {
      return f.readViaStream(offset);
    } finally {
      f[Symbol.dispose]();
    }
  }

  writeViaStream(offset: bigint): unknown {
    const f = this.#shimFile({ write: true });
    try {
      return f.writeViaStream(offset);
    } finally {
      f[Symbol.dispose]();
    }
  }

  appendViaStream(): unknown {
    return this.writeViaStream(this.stat().size);
  }

  // --- fd operations ---

  advise(_offset: bigint, _length: bigint, _advice: string): void {
    // Advice is only advice; node has no posix_fadvise.
    if (this.getType() === "directory") throw "bad-descriptor";
  }

  syncData(): void {
    this.#syncWith(fs.fdatasyncSync);
  }

  sync(): void {
    this.#syncWith(fs.fsyncSync);
  }

  #syncWith(f: (fd: number) => void): void {
    this.#live();
    let fd = this.#fd;
    let opened = false;
    if (fd === undefined) {
      // A preopen has no fd of its own: sync the directory through a short-lived one.
      fd = fsCall(() => fs.openSync(this.#path, C.O_RDONLY | C.O_DIRECTORY));
      opened = true;
    }
    try {
      f(fd);
    } catch (e) {
      // Some filesystems cannot sync a directory (EINVAL) or refuse (EPERM): nothing to do.
      const code = (e as { code?: string }).code;
      if (code !== "EPERM" && !(code === "EINVAL" && this.getType() === "directory")) throw errorCode(e);
    } finally {
      if (opened) closeFd(fd);
    }
  }

  getFlags(): DescriptorFlags {
    this.#live();
    return { ...this.#flags };
  }

  getType(): DescriptorType {
    this.#live();
    if (this.#type === undefined) {
      const fd = this.#needFd();
      this.#type = typeOf(fsCall(() => fs.fstatSync(fd)));
    }
    return this.#type;
  }

  setSize(size: bigint): void {
    const fd = this.#needFd("is-directory");
    fsCall(() => fs.ftruncateSync(fd, Number(size)));
  }

  setTimes(dataAccessTimestamp: NewTimestamp, dataModificationTimestamp: NewTimestamp): void {
    const fd = this.#needFd("invalid");
    const cur = fsCall(() => fs.fstatSync(fd, { bigint: true }));
    fsCall(() => fs.futimesSync(fd, newTime(dataAccessTimestamp, cur.atimeNs), newTime(dataModificationTimestamp, cur.mtimeNs)));
  }

  read(length: bigint, offset: bigint): [Uint8Array, boolean] {
    const fd = this.#needFd();
    const want = Math.min(Number(length), MAX_READ);
    const at = Number(offset);
    if (want <= 0) return [new Uint8Array(0), false];
    // Small files (the common case) cost one read into the scratch buffer and a right-sized copy.
    const first = Math.min(want, SCRATCH);
    const n = fsCall(() => fs.readSync(fd, scratch, 0, first, at));
    if (n < first || want === first) return [Uint8Array.prototype.slice.call(scratch, 0, n), n === 0];
    const buf = new Uint8Array(Buffer.allocUnsafeSlow(want).buffer, 0, want);
    buf.set(scratch.subarray(0, n));
    const m = fsCall(() => fs.readSync(fd, buf, n, want - n, at + n));
    return [buf.subarray(0, n + m), false];
  }

  write(buffer: Uint8Array, offset: bigint): bigint {
    const fd = this.#needFd();
    return BigInt(fsCall(() => fs.writeSync(fd, buffer, 0, buffer.byteLength, Number(offset))));
  }

  readDirectory(): DirectoryEntryStream {
    this.#live();
    if (this.#fd !== undefined && this.getType() !== "directory") throw "not-directory";
    const entries = fsCall(() => fs.readdirSync(this.#path, { withFileTypes: true }));
    return DirectoryEntryStream._create(entries.map((e) => ({ type: typeOf(e), name: e.name })));
  }

  stat(): DescriptorStat {
    this.#live();
    const fd = this.#fd;
    return statOf(fsCall(() => (fd === undefined ? fs.statSync(this.#path, { bigint: true }) : fs.fstatSync(fd, { bigint: true }))));
  }

  metadataHash(): MetadataHashValue {
    const s = fsCall(() => this.#identity());
    return { upper: s.mtimeNs, lower: s.ino };
  }

  isSameObject(other: Descriptor): boolean {
    if (other === this) return true;
    try {
      const a = this.#identity();
      const b = Descriptor.#of(other).#identity();
      return a.dev === b.dev && a.ino === b.ino;
    } catch {
      return false;
    }
  }

  #identity(): fs.BigIntStats {
    this.#live();
    const fd = this.#fd;
    return fd === undefined ? fs.statSync(this.#path, { bigint: true }) : fs.fstatSync(fd, { bigint: true });
  }

  // --- path operations (relative to this descriptor) ---

  openAt(pathFlags: PathFlags, path: string, openFlags: OpenFlags, descriptorFlags: DescriptorFlags): Descriptor {
    const full = this.#at(path);
    let flags = 0;
    if (openFlags.create) flags |= C.O_CREAT;
    if (openFlags.directory) flags |= C.O_DIRECTORY;
    if (openFlags.exclusive) flags |= C.O_EXCL;
    if (openFlags.truncate) flags |= C.O_TRUNC;
    if (descriptorFlags.read && descriptorFlags.write) flags |= C.O_RDWR;
    else if (descriptorFlags.write) flags |= C.O_WRONLY;
    else flags |= C.O_RDONLY;
    if (descriptorFlags.fileIntegritySync) flags |= C.O_SYNC;
    if (descriptorFlags.dataIntegritySync) flags |= C.O_DSYNC;
    if (!pathFlags.symlinkFollow) flags |= C.O_NOFOLLOW;
    const fd = fsCall(() => fs.openSync(full, flags));
    // The kernel already refuses a directory opened for writing (EISDIR) and "file/" (ENOTDIR).
    const d = Descriptor.#make(full.length > 1 && full.endsWith("/") ? full.slice(0, -1) : full, fd, { ...descriptorFlags }, false);
    if (openFlags.directory) d.#type = "directory";
    return d;
  }

  statAt(pathFlags: PathFlags, path: string): DescriptorStat {
    const full = this.#at(path);
    return statOf(fsCall(() => (pathFlags.symlinkFollow ? fs.statSync : fs.lstatSync)(full, { bigint: true })));
  }

  setTimesAt(pathFlags: PathFlags, path: string, dataAccessTimestamp: NewTimestamp, dataModificationTimestamp: NewTimestamp): void {
    const full = this.#at(path);
    const follow = !!pathFlags.symlinkFollow;
    let atimeNs = 0n;
    let mtimeNs = 0n;
    if (dataAccessTimestamp.tag === "no-change" || dataModificationTimestamp.tag === "no-change") {
      const s = fsCall(() => (follow ? fs.statSync : fs.lstatSync)(full, { bigint: true }));
      atimeNs = s.atimeNs;
      mtimeNs = s.mtimeNs;
    }
    const at = newTime(dataAccessTimestamp, atimeNs);
    const mt = newTime(dataModificationTimestamp, mtimeNs);
    fsCall(() => (follow ? fs.utimesSync : fs.lutimesSync)(full, at, mt));
  }

  linkAt(oldPathFlags: PathFlags, oldPath: string, newDescriptor: Descriptor, newPath: string): void {
    const from = this.#at(oldPath);
    const to = Descriptor.#of(newDescriptor).#at(newPath);
    fsCall(() => fs.linkSync(oldPathFlags.symlinkFollow ? fs.realpathSync(from) : from, to));
  }

  readlinkAt(path: string): string {
    const full = this.#at(path);
    return fsCall(() => fs.readlinkSync(full, "utf8"));
  }

  removeDirectoryAt(path: string): void {
    const full = this.#at(path);
    if (full === this.#path) throw "invalid";
    fsCall(() => fs.rmdirSync(full));
  }

  renameAt(oldPath: string, newDescriptor: Descriptor, newPath: string): void {
    const from = this.#at(oldPath);
    const to = Descriptor.#of(newDescriptor).#at(newPath);
    fsCall(() => fs.renameSync(from, to));
  }

  symlinkAt(oldPath: string, newPath: string): void {
    const full = this.#at(newPath);
    // The link must not point out of this descriptor's tree (absolute, or `..` above it).
    if (oldPath.startsWith("/")) throw "not-permitted";
    const linkDir = nodePath.posix.dirname(newPath.replace(/\/+$/, "") || ".");
    resolveUnder(this.#path, nodePath.posix.join(linkDir, oldPath) || ".");
    fsCall(() => fs.symlinkSync(oldPath, full));
  }

  createDirectoryAt(path: string): void {
    const full = this.#at(path);
    fsCall(() => fs.mkdirSync(full));
  }

  unlinkFileAt(path: string): void {
    const full = this.#at(path);
    if (full.endsWith("/")) {
      // unlink("x/") is ENOTDIR for a file; for a directory say is-directory, as Linux does.
      const dir = (() => { try { return fs.statSync(full).isDirectory(); } catch { return false; } })();
      throw dir ? "is-directory" : "not-directory";
    }
    fsCall(() => fs.unlinkSync(full));
  }

  metadataHashAt(pathFlags: PathFlags, path: string): MetadataHashValue {
    const full = this.#at(path);
    const s = fsCall(() => (pathFlags.symlinkFollow ? fs.statSync : fs.lstatSync)(full, { bigint: true }));
    return { upper: s.mtimeNs, lower: s.ino };
  }
}

export class DirectoryEntryStream {
  #entries: DirectoryEntry[] = [];
  #next = 0;

  constructor() {
    if (!internal) throw new TypeError("DirectoryEntryStream is not constructible");
  }

  /** @internal */
  static _create(entries: DirectoryEntry[]): DirectoryEntryStream {
    const s = construct(() => new DirectoryEntryStream());
    s.#entries = entries;
    return s;
  }

  readDirectoryEntry(): DirectoryEntry | undefined {
    return this.#next < this.#entries.length ? this.#entries[this.#next++] : undefined;
  }

  [Symbol.dispose](): void {
    // The listing was read whole (readdirSync): no fd is held.
    this.#entries = [];
    this.#next = 0;
  }
}

/**
 * wasi:filesystem/types#filesystem-error-code: stream errors come from preview2-shim's streams
 * (so there are none before it is loaded).
 */
function filesystemErrorCode(err: unknown): ErrorCode | undefined {
  if (!shimLoaded()) return undefined;
  try {
    return (loadShim().filesystem.types as unknown as { filesystemErrorCode(e: unknown): ErrorCode | undefined }).filesystemErrorCode(err);
  } catch {
    return undefined;
  }
}

let preopenMap: [string, string][] = [];

/** Replace the preopens with `{ guestPath: hostDir }` (preview2-shim's `_setPreopens`). */
export function setPreopens(preopens: Record<string, string>): void {
  preopenMap = Object.entries(preopens).map(([guest, host]) => [guest, nodePath.resolve(host)]);
}

export const types = { Descriptor, DirectoryEntryStream, filesystemErrorCode };

export const preopens = {
  /** A fresh descriptor per call: the guest may drop what it got, and jco tags resources it lowers. */
  getDirectories(): [Descriptor, string][] {
    return preopenMap.map(([guest, host]) => [Descriptor._preopen(host), guest]);
  },
};

/** What the host puts in its WASI map as `filesystem`. */
export const filesystem = { types, preopens };
