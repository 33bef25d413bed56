// Dir on wasi:filesystem: the data directory is the preopen named `/data`
// (`wasmtime serve --dir <data>::/data`, or the Node host's preopen).
import { getDirectories } from "wasi:filesystem/preopens@0.2.12";
import { subscribeDuration } from "wasi:clocks/monotonic-clock@0.2.12";
import type { Descriptor } from "wasi:filesystem/types@0.2.12";
import type { Appender, Dir, FileStat, FileWrite } from "./dir.ts";
import { ioError } from "./errors.ts";

export const DATA_PREOPEN = "/data";

const NOFOLLOW = { symlinkFollow: false };

/** The wasi error-code of a failed filesystem call (`no-entry`, `exist`, …). */
function code(e: unknown): string {
  const p = (e as { payload?: unknown })?.payload ?? e;
  return typeof p === "string" ? p : String((p as { tag?: string })?.tag ?? (e as Error)?.message ?? e);
}

function dispose(r: unknown): void {
  (r as { [Symbol.dispose]?: () => void })?.[Symbol.dispose]?.();
}

/** All of `data` at `position` through `fd` (a write call may take less than it is given). */
function writeAll(fd: Descriptor, data: Uint8Array, position: number): void {
  for (let off = 0; off < data.length; ) off += Number(fd.write(data.subarray(off), position + off));
}

/** A temp file beside `path`, for a write that replaces it by a rename. */
const tempName = (path: string) => `${path}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`;

/** What wasmtime serves of one read call at most (MAX_READ_SIZE_ALLOC in wasmtime-wasi): 64 KiB. */
const READ_CHUNK = 64 * 1024;

export class WasiDir implements Dir {
  private readonly root: Descriptor;
  private readonly made = new Set<string>();

  private constructor(root: Descriptor) {
    this.root = root;
  }

  static open(): WasiDir {
    for (const [desc, name] of getDirectories()) {
      if (name === DATA_PREOPEN || name === DATA_PREOPEN + "/") return new WasiDir(desc);
    }
    throw ioError(`no data directory: preopen a directory as ${DATA_PREOPEN} (wasmtime serve --dir <data>::/data)`);
  }

  read(path: string): Uint8Array | null {
    return this.readAt(path, 0, Number.MAX_SAFE_INTEGER);
  }

  writeAtomic(path: string, data: Uint8Array, durable: boolean | "file" = true): void {
    const tmp = this.createTemp(path);
    try {
      this.writeThrough(tmp.fd, tmp.name, 0, data, durable !== false);
    } catch (e) {
      this.remove(tmp.name);
      throw e;
    }
    try {
      this.root.renameAt(tmp.name, this.root, path);
    } catch (e) {
      this.remove(tmp.name);
      throw ioError(`rename ${tmp.name} -> ${path}: ${code(e)}`);
    }
    if (durable === true) this.syncDirOf(path);
  }

  syncDir(path: string): void {
    this.syncDirOf(`${path}/.`);
  }

  writeFiles(files: FileWrite[]): boolean {
    const open: { fd: Descriptor; path: string; tmp?: string }[] = [];
    try {
      for (const f of files) {
        const existing = f.inPlace ? this.openExisting(f.path, { write: true }) : null;
        const temp = existing ? undefined : this.createTemp(f.path);
        const fd = existing ?? temp!.fd;
        open.push({ fd, path: f.path, tmp: temp?.name });
        const [at, data] = existing ? [f.inPlace!.at, f.inPlace!.data] : [0, f.data()];
        try {
          writeAll(fd, data, at);
        } catch (e) {
          throw ioError(`write ${f.path}: ${code(e)}`);
        }
      }
      for (const o of open) {
        try {
          o.fd.syncData();
        } catch (e) {
          throw ioError(`write ${o.path}: ${code(e)}`);
        }
      }
    } catch (e) {
      for (const o of open) {
        dispose(o.fd);
        if (o.tmp) this.remove(o.tmp);
      }
      throw e;
    }
    for (const o of open) dispose(o.fd);
    const replaced = open.filter((o) => o.tmp);
    replaced.forEach((o, i) => {
      try {
        this.root.renameAt(o.tmp!, this.root, o.path);
      } catch (e) {
        for (const left of replaced.slice(i)) this.remove(left.tmp!);
        throw ioError(`rename ${o.tmp} -> ${o.path}: ${code(e)}`);
      }
    });
    return replaced.length > 0;
  }

  createExclusive(path: string, data: Uint8Array): boolean {
    try {
      // Lock files are never fsynced: after a crash a lock is stale anyway.
      this.writeFile(path, data, { create: true, exclusive: true }, false);
      return true;
    } catch (e) {
      if ((e as { val?: string }).val?.endsWith(": exist")) return false;
      throw e;
    }
  }

  remove(path: string): boolean {
    try {
      this.root.unlinkFileAt(path);
      return true;
    } catch (e) {
      if (code(e) === "no-entry") return false;
      throw ioError(`remove ${path}: ${code(e)}`);
    }
  }

  list(path: string): string[] {
    // A file removed while the listing runs (a lock released, a temp file renamed by another
    // instance) fails its entry with no-entry. List again; on a big directory under a steady
    // stream of writes every attempt may race one, so the last attempt skips such entries
    // (the file is gone: leaving it out is what a listing a moment later would do).
    for (let attempt = 1; ; attempt++) {
      const names = this.listOnce(path, attempt >= 4);
      if (names !== "raced") return names;
    }
  }

  private listOnce(path: string, skipVanished: boolean): string[] | "raced" {
    let d: Descriptor;
    try {
      d = this.root.openAt(NOFOLLOW, path, { directory: true }, { read: true });
    } catch (e) {
      if (code(e) === "no-entry") return [];
      throw ioError(`open dir ${path}: ${code(e)}`);
    }
    const names: string[] = [];
    let stream: ReturnType<Descriptor["readDirectory"]> | undefined;
    try {
      stream = d.readDirectory();
      for (let skipped = 0; ; ) {
        let ent: ReturnType<typeof stream.readDirectoryEntry>;
        try {
          ent = stream.readDirectoryEntry();
        } catch (e) {
          if (code(e) !== "no-entry") throw e;
          if (!skipVanished) return "raced";
          if (++skipped > 100_000) throw ioError(`list ${path}: entries kept vanishing while it was read`);
          continue;
        }
        if (!ent) break;
        names.push(ent.name);
      }
    } catch (e) {
      if ((e as { tag?: string }).tag === "io") throw e;
      throw ioError(`list ${path}: ${code(e)}`);
    } finally {
      dispose(stream);
      dispose(d);
    }
    return names;
  }

  mkdirp(path: string): void {
    // Directories are never removed while a node runs: make each one once per instance.
    if (this.made.has(path)) return;
    this.made.add(path);
    let sofar = "";
    for (const part of path.split("/")) {
      sofar = sofar ? `${sofar}/${part}` : part;
      try {
        this.root.createDirectoryAt(sofar);
      } catch (e) {
        if (code(e) !== "exist") throw ioError(`mkdir ${sofar}: ${code(e)}`);
      }
    }
  }

  stat(path: string): FileStat | null {
    try {
      const st = this.root.statAt(NOFOLLOW, path);
      const ms = (t: { seconds: number | bigint; nanoseconds: number } | undefined | null) =>
        t ? Number(t.seconds) * 1000 + Math.floor(t.nanoseconds / 1e6) : 0;
      return { size: Number(st.size), mtimeMs: ms(st.dataModificationTimestamp), atimeMs: ms(st.dataAccessTimestamp) };
    } catch (e) {
      if (code(e) === "no-entry") return null;
      throw ioError(`stat ${path}: ${code(e)}`);
    }
  }

  /** An existing file opened for `access`; null when it does not exist. */
  private openExisting(path: string, access: { read?: boolean; write?: boolean }): Descriptor | null {
    try {
      return this.root.openAt(NOFOLLOW, path, {}, access);
    } catch (e) {
      if (code(e) === "no-entry") return null;
      throw ioError(`open ${path}: ${code(e)}`);
    }
  }

  readAt(path: string, position: number, length: number): Uint8Array | null {
    const fd = this.openExisting(path, { read: true });
    if (!fd) return null;
    try {
      const chunks: Uint8Array[] = [];
      let got = 0;
      while (got < length) {
        const want = Math.min(length - got, 1 << 20);
        const [bytes, eof] = fd.read(want, position + got) as [Uint8Array, boolean];
        if (bytes.length) chunks.push(bytes);
        got += bytes.length;
        // A read of a regular file returns fewer bytes than asked only at its end (both hosts:
        // wasmtime makes one pread of up to READ_CHUNK, the Node host reads until the end or 16
        // MiB), so fewer than READ_CHUNK ends it: without this every read of a small file cost a
        // second call, only to be told "end of file" (wasmtime sets that flag only on a read of
        // 0 bytes). Larger reads go on until a read returns nothing, as before.
        if (eof || bytes.length < Math.min(want, READ_CHUNK)) break;
      }
      if (chunks.length === 1) return chunks[0];
      const out = new Uint8Array(got);
      let o = 0;
      for (const c of chunks) { out.set(c, o); o += c.length; }
      return out;
    } catch (e) {
      throw ioError(`read ${path}: ${code(e)}`);
    } finally {
      dispose(fd);
    }
  }

  writeAt(path: string, position: number, data: Uint8Array, durable = true): void {
    let fd: Descriptor;
    try {
      fd = this.root.openAt(NOFOLLOW, path, { create: true }, { write: true });
    } catch (e) {
      throw ioError(`open ${path}: ${code(e)}`);
    }
    this.writeThrough(fd, path, position, data, durable);
  }

  overwrite(path: string, position: number, data: Uint8Array): boolean {
    const fd = this.openExisting(path, { write: true });
    if (!fd) return false;
    this.writeThrough(fd, path, position, data, true);
    return true;
  }

  appender(path: string): Appender {
    let fd: Descriptor | undefined;
    let at = 0;
    const fail = (what: string, e: unknown): never => {
      dispose(fd);
      fd = undefined;
      throw ioError(`${what} ${path}: ${code(e)}`);
    };
    return {
      write: (data) => {
        try {
          fd ??= this.root.openAt(NOFOLLOW, path, { create: true }, { write: true });
          writeAll(fd, data, at);
          at += data.length;
        } catch (e) {
          fail("append", e);
        }
      },
      reset: () => {
        at = 0;
        try {
          fd?.setSize(0);
        } catch (e) {
          fail("reset", e);
        }
      },
    };
  }

  sync(path: string): boolean {
    const fd = this.openExisting(path, { write: true });
    if (!fd) return false;
    try {
      fd.syncData();
      return true;
    } catch (e) {
      throw ioError(`sync ${path}: ${code(e)}`);
    } finally {
      dispose(fd);
    }
  }

  truncate(path: string, size: number): void {
    let fd: Descriptor;
    try {
      fd = this.root.openAt(NOFOLLOW, path, {}, { write: true });
    } catch (e) {
      throw ioError(`open ${path}: ${code(e)}`);
    }
    try {
      fd.setSize(size);
      fd.syncData();
    } catch (e) {
      throw ioError(`truncate ${path}: ${code(e)}`);
    } finally {
      dispose(fd);
    }
  }


  touch(path: string): void {
    try {
      this.root.setTimesAt(NOFOLLOW, path, { tag: "now" }, { tag: "no-change" });
    } catch {
      // Access times only steer lru eviction; a failed touch must not fail a read.
    }
  }

  sleep(ms: number): void {
    // QuickJS passes u64 as a plain number.
    const p = subscribeDuration(Math.max(1, Math.round(ms * 1e6)) as never);
    try { p.block(); } finally { dispose(p); }
  }

  /**
   * A new temp file beside `path`, open for writing. A name already taken gets another: names
   * are random, but QuickJS's Math.random gives every fresh instance the same sequence, so two
   * instances started together pick the same names (in the same millisecond, the same name).
   */
  private createTemp(path: string): { fd: Descriptor; name: string } {
    for (let attempt = 1; ; attempt++) {
      const name = tempName(path);
      try {
        return { fd: this.root.openAt(NOFOLLOW, name, { create: true, exclusive: true, truncate: true }, { write: true }), name };
      } catch (e) {
        if (code(e) !== "exist" || attempt >= 8) throw ioError(`create ${name}: ${code(e)}`);
      }
    }
  }

  private writeFile(path: string, data: Uint8Array, open: { create: boolean; exclusive: boolean }, durable = true): void {
    let fd: Descriptor;
    try {
      fd = this.root.openAt(NOFOLLOW, path, { ...open, truncate: true }, { write: true });
    } catch (e) {
      throw ioError(`create ${path}: ${code(e)}`);
    }
    this.writeThrough(fd, path, 0, data, durable);
  }

  /** All of `data` at `position` through `fd`, fdatasynced when `durable`; closes `fd` either way. */
  private writeThrough(fd: Descriptor, path: string, position: number, data: Uint8Array, durable: boolean): void {
    try {
      writeAll(fd, data, position);
      if (durable) fd.syncData();
    } catch (e) {
      throw ioError(`write ${path}: ${code(e)}`);
    } finally {
      dispose(fd);
    }
  }

  private syncDirOf(path: string): void {
    const parent = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
    try {
      const d = this.root.openAt(NOFOLLOW, parent, { directory: true }, { read: true });
      try { d.sync(); } finally { dispose(d); }
    } catch {
      // Some hosts cannot fsync a directory; the rename is still atomic.
    }
  }
}
