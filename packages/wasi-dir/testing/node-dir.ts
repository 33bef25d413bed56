// Dir on node:fs, so storage, sync and rate-limit logic runs in plain Node tests. Same contract as wasi-dir.ts.
import fs from "node:fs";
import path from "node:path";
import type { Appender, Dir, FileStat, FileWrite } from "../src/dir.ts";

export class NodeDir implements Dir {
  readonly root: string;
  /** false for property tests that write thousands of files: same semantics, no fsync. */
  private readonly fsync: boolean;

  constructor(root: string, opts: { fsync?: boolean } = {}) {
    this.root = root;
    this.fsync = opts.fsync ?? true;
  }

  private p(rel: string): string {
    return path.join(this.root, rel);
  }

  /** A temp file beside `rel`, for a write that replaces it by a rename. */
  private tempPath(rel: string): string {
    return `${this.p(rel)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  }

  read(rel: string): Uint8Array | null {
    try {
      return new Uint8Array(fs.readFileSync(this.p(rel)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  }

  appender(rel: string): Appender {
    let fd: number | undefined;
    let at = 0;
    return {
      write: (data) => {
        fd ??= fs.openSync(this.p(rel), fs.constants.O_WRONLY | fs.constants.O_CREAT);
        fs.writeSync(fd, data, 0, data.length, at);
        at += data.length;
      },
      reset: () => {
        at = 0;
        if (fd !== undefined) fs.ftruncateSync(fd, 0);
      },
    };
  }

  writeAtomic(rel: string, data: Uint8Array, durable: boolean | "file" = true): void {
    const tmp = this.tempPath(rel);
    const fd = fs.openSync(tmp, "wx");
    try {
      fs.writeSync(fd, data);
      if (durable !== false && this.fsync) fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.p(rel));
  }

  writeFiles(files: FileWrite[]): boolean {
    const open: { fd: number; path: string; tmp?: string }[] = [];
    try {
      for (const f of files) {
        const existing = f.inPlace ? this.openExisting(f.path, "r+") : null;
        if (existing !== null) {
          open.push({ fd: existing, path: f.path });
          fs.writeSync(existing, f.inPlace!.data, 0, f.inPlace!.data.length, f.inPlace!.at);
          continue;
        }
        const tmp = this.tempPath(f.path);
        const fd = fs.openSync(tmp, "wx");
        open.push({ fd, path: f.path, tmp });
        fs.writeSync(fd, f.data());
      }
      if (this.fsync) for (const o of open) fs.fdatasyncSync(o.fd);
    } catch (e) {
      for (const o of open) {
        fs.closeSync(o.fd);
        if (o.tmp) fs.rmSync(o.tmp, { force: true });
      }
      throw e;
    }
    for (const o of open) fs.closeSync(o.fd);
    const replaced = open.filter((o) => o.tmp);
    replaced.forEach((o, i) => {
      try {
        fs.renameSync(o.tmp!, this.p(o.path));
      } catch (e) {
        for (const left of replaced.slice(i)) fs.rmSync(left.tmp!, { force: true });
        throw e;
      }
    });
    return replaced.length > 0;
  }

  syncDir(rel: string): void {
    if (!this.fsync) return;
    const fd = fs.openSync(this.p(rel), "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  createExclusive(rel: string, data: Uint8Array): boolean {
    try {
      fs.writeFileSync(this.p(rel), data, { flag: "wx" });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw e;
    }
  }

  remove(rel: string): boolean {
    try {
      fs.unlinkSync(this.p(rel));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw e;
    }
  }

  list(rel: string): string[] {
    try {
      return fs.readdirSync(this.p(rel));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
  }

  mkdirp(rel: string): void {
    fs.mkdirSync(this.p(rel), { recursive: true });
  }

  stat(rel: string): FileStat | null {
    try {
      const st = fs.statSync(this.p(rel));
      return { size: st.size, mtimeMs: st.mtimeMs, atimeMs: st.atimeMs };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  }

  /** An existing file's descriptor opened with `flags`; null when it does not exist. */
  private openExisting(rel: string, flags: string): number | null {
    try {
      return fs.openSync(this.p(rel), flags);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  }

  readAt(rel: string, position: number, length: number): Uint8Array | null {
    const fd = this.openExisting(rel, "r");
    if (fd === null) return null;
    try {
      const buf = Buffer.alloc(length);
      const n = fs.readSync(fd, buf, 0, length, position);
      return new Uint8Array(buf.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
  }

  writeAt(rel: string, position: number, data: Uint8Array, durable = true): void {
    const fd = fs.openSync(this.p(rel), fs.constants.O_WRONLY | fs.constants.O_CREAT);
    try {
      fs.writeSync(fd, data, 0, data.length, position);
      if (this.fsync && durable) fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  overwrite(rel: string, position: number, data: Uint8Array): boolean {
    const fd = this.openExisting(rel, "r+");
    if (fd === null) return false;
    try {
      fs.writeSync(fd, data, 0, data.length, position);
      if (this.fsync) fs.fdatasyncSync(fd);
      return true;
    } finally {
      fs.closeSync(fd);
    }
  }

  sync(rel: string): boolean {
    const fd = this.openExisting(rel, "r+");
    if (fd === null) return false;
    try {
      if (this.fsync) fs.fdatasyncSync(fd);
      return true;
    } finally {
      fs.closeSync(fd);
    }
  }

  truncate(rel: string, size: number): void {
    fs.truncateSync(this.p(rel), size);
  }


  touch(rel: string): void {
    const now = new Date();
    try {
      fs.utimesSync(this.p(rel), now, fs.statSync(this.p(rel)).mtime);
    } catch {
      // as in wasi-dir: never fails a read
    }
  }

  sleep(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  }
}
