// The Node host's wasi:filesystem (host/src/wasi-filesystem.ts), exercised directly on a temp
// directory: the calls WasiDir makes, their result shapes, error codes and the sandbox.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Descriptor, DirectoryEntryStream, filesystem, preopens, setPreopens, types } from "../src/wasi-filesystem.ts";

const NOFOLLOW = { symlinkFollow: false };
const FOLLOW = { symlinkFollow: true };
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** The WASI error code a call throws (it must throw a plain string). */
function codeOf(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return "(no error)";
}

/** Open fds of this process (Linux) on `file` (all of them without one), to prove closes. */
function openFds(file?: string): number | undefined {
  try {
    const fds = fs.readdirSync("/proc/self/fd");
    if (!file) return fds.length;
    return fds.filter((n) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${n}`) === file;
      } catch {
        return false;
      }
    }).length;
  } catch {
    return undefined;
  }
}

let dir: string;
let root: Descriptor;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-wasi-fs-"));
  setPreopens({ "/data": dir });
  const dirs = preopens.getDirectories();
  expect(dirs).toHaveLength(1);
  expect(dirs[0][1]).toBe("/data");
  root = dirs[0][0];
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function writeFile(name: string, data: string): void {
  const fd = root.openAt(NOFOLLOW, name, { create: true, truncate: true }, { write: true });
  try {
    expect(fd.write(enc(data), 0n)).toBe(BigInt(enc(data).length));
  } finally {
    fd[Symbol.dispose]();
  }
}

describe("wasi:filesystem on node:fs", () => {
  it("has the shape jco's glue expects", () => {
    expect(filesystem.types).toBe(types);
    expect(filesystem.preopens).toBe(preopens);
    expect(types.Descriptor).toBe(Descriptor);
    expect(types.DirectoryEntryStream).toBe(DirectoryEntryStream);
    expect(typeof types.filesystemErrorCode).toBe("function");
    expect(root).toBeInstanceOf(Descriptor);
    expect(root.getType()).toBe("directory");
    expect(() => new (Descriptor as unknown as new () => unknown)()).toThrow(TypeError);
  });

  it("creates, writes and reads at offsets, with eof", () => {
    const fd = root.openAt(NOFOLLOW, "a.bin", { create: true }, { read: true, write: true });
    expect(fd.getType()).toBe("regular-file");
    expect(fd.getFlags()).toMatchObject({ read: true, write: true });
    expect(fd.write(enc("hello world"), 0n)).toBe(11n);
    expect(fd.write(enc("W"), 6n)).toBe(1n);
    const [all, eof0] = fd.read(100n, 0n);
    expect(all).toBeInstanceOf(Uint8Array);
    expect(dec(all)).toBe("hello World");
    expect(eof0).toBe(false);
    expect(dec(fd.read(5n, 6n)[0])).toBe("World");
    const [none, eof] = fd.read(10n, 11n);
    expect(none.length).toBe(0);
    expect(eof).toBe(true);
    // A write past the end leaves a hole of zeros.
    expect(fd.write(enc("!"), 13n)).toBe(1n);
    expect([...fd.read(10n, 11n)[0]]).toEqual([0, 0, 33]);
    fd.syncData();
    fd.sync();
    fd[Symbol.dispose]();
    expect(fs.readFileSync(path.join(dir, "a.bin"), "latin1")).toBe("hello World\0\0!");
  });

  it("reads large files in one call, across the scratch buffer", () => {
    const big = Buffer.alloc(300 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    fs.writeFileSync(path.join(dir, "big"), big);
    const fd = root.openAt(NOFOLLOW, "big", {}, { read: true });
    const [all, eof] = fd.read(1n << 20n, 0n);
    expect(eof).toBe(false);
    expect(Buffer.from(all).equals(big)).toBe(true);
    const [tail] = fd.read(1000n, BigInt(big.length - 10));
    expect(Buffer.from(tail).equals(big.subarray(big.length - 10))).toBe(true);
    // Returned bytes are not views of a buffer reused by the next read.
    const [a] = fd.read(4n, 0n);
    const copy = [...a];
    fd.read(4n, 100n);
    expect([...a]).toEqual(copy);
    fd[Symbol.dispose]();
  });

  it("create exclusive and truncate", () => {
    writeFile("x", "12345");
    expect(codeOf(() => root.openAt(NOFOLLOW, "x", { create: true, exclusive: true }, { write: true }))).toBe("exist");
    const fd = root.openAt(NOFOLLOW, "x", { truncate: true }, { write: true });
    expect(fd.stat().size).toBe(0n);
    fd[Symbol.dispose]();
    const fresh = root.openAt(NOFOLLOW, "y", { create: true, exclusive: true }, { write: true });
    fresh[Symbol.dispose]();
    expect(fs.existsSync(path.join(dir, "y"))).toBe(true);
  });

  it("setSize truncates and extends", () => {
    writeFile("s", "abcdef");
    const fd = root.openAt(NOFOLLOW, "s", {}, { read: true, write: true });
    fd.setSize(3n);
    expect(dec(fd.read(10n, 0n)[0])).toBe("abc");
    fd.setSize(5n);
    expect(fd.stat().size).toBe(5n);
    fd[Symbol.dispose]();
  });

  it("stat and statAt: types, sizes, bigints and timestamps", () => {
    writeFile("f", "abc");
    fs.mkdirSync(path.join(dir, "d"));
    fs.symlinkSync("f", path.join(dir, "ln"));
    const st = root.statAt(NOFOLLOW, "f");
    expect(st.type).toBe("regular-file");
    expect(st.size).toBe(3n);
    expect(st.linkCount).toBe(1n);
    expect(typeof st.dataModificationTimestamp.seconds).toBe("bigint");
    expect(typeof st.dataModificationTimestamp.nanoseconds).toBe("number");
    expect(Number(st.dataModificationTimestamp.seconds)).toBeCloseTo(fs.statSync(path.join(dir, "f")).mtimeMs / 1000, -1);
    expect(st.dataAccessTimestamp).toBeDefined();
    expect(st.statusChangeTimestamp).toBeDefined();
    expect(root.statAt(NOFOLLOW, "d").type).toBe("directory");
    expect(root.statAt(NOFOLLOW, "ln").type).toBe("symbolic-link");
    expect(root.statAt(FOLLOW, "ln").type).toBe("regular-file");
    expect(root.stat().type).toBe("directory");
    const fd = root.openAt(NOFOLLOW, "f", {}, { read: true });
    expect(fd.stat()).toMatchObject({ type: "regular-file", size: 3n, linkCount: 1n });
    expect(fd.metadataHash()).toEqual(root.metadataHashAt(NOFOLLOW, "f"));
    fd[Symbol.dispose]();
  });

  it("setTimesAt sets and keeps timestamps", () => {
    writeFile("t", "x");
    root.setTimesAt(NOFOLLOW, "t", { tag: "timestamp", val: { seconds: 1_000_000n, nanoseconds: 0 } }, { tag: "no-change" });
    const before = fs.statSync(path.join(dir, "t"));
    expect(Math.round(before.atimeMs / 1000)).toBe(1_000_000);
    root.setTimesAt(NOFOLLOW, "t", { tag: "no-change" }, { tag: "timestamp", val: { seconds: 2_000_000n, nanoseconds: 0 } });
    const after = fs.statSync(path.join(dir, "t"));
    expect(Math.round(after.atimeMs / 1000)).toBe(1_000_000);
    expect(Math.round(after.mtimeMs / 1000)).toBe(2_000_000);
    root.setTimesAt(NOFOLLOW, "t", { tag: "now" }, { tag: "no-change" });
    expect(Math.abs(fs.statSync(path.join(dir, "t")).atimeMs - Date.now())).toBeLessThan(60_000);
  });

  it("readDirectory lists entries with their types", () => {
    writeFile("one", "1");
    fs.mkdirSync(path.join(dir, "sub"));
    writeFile("sub/two", "2");
    const list = (d: Descriptor) => {
      const s = d.readDirectory();
      expect(s).toBeInstanceOf(DirectoryEntryStream);
      const out: Record<string, string> = {};
      for (let e = s.readDirectoryEntry(); e; e = s.readDirectoryEntry()) out[e.name] = e.type;
      s[Symbol.dispose]();
      return out;
    };
    expect(list(root)).toEqual({ one: "regular-file", sub: "directory" });
    const sub = root.openAt(NOFOLLOW, "sub", { directory: true }, { read: true });
    expect(sub.getType()).toBe("directory");
    expect(list(sub)).toEqual({ two: "regular-file" });
    // Path operations relative to an opened directory.
    expect(root.statAt(NOFOLLOW, "sub/two").size).toBe(1n);
    expect(sub.statAt(NOFOLLOW, "two").size).toBe(1n);
    sub.sync();
    sub[Symbol.dispose]();
    const f = root.openAt(NOFOLLOW, "one", {}, { read: true });
    expect(codeOf(() => f.readDirectory())).toBe("not-directory");
    f[Symbol.dispose]();
  });

  it("rename, unlink, mkdir, removeDirectory", () => {
    writeFile("a", "A");
    root.renameAt("a", root, "b");
    expect(fs.existsSync(path.join(dir, "a"))).toBe(false);
    expect(fs.readFileSync(path.join(dir, "b"), "utf8")).toBe("A");
    // rename over an existing file replaces it (writeAtomic)
    writeFile("c", "C");
    root.renameAt("c", root, "b");
    expect(fs.readFileSync(path.join(dir, "b"), "utf8")).toBe("C");
    root.createDirectoryAt("d");
    root.createDirectoryAt("d/e");
    expect(fs.statSync(path.join(dir, "d/e")).isDirectory()).toBe(true);
    const d = root.openAt(NOFOLLOW, "d", { directory: true }, { read: true });
    d.renameAt("e", root, "e2");
    expect(fs.existsSync(path.join(dir, "e2"))).toBe(true);
    d[Symbol.dispose]();
    root.removeDirectoryAt("e2");
    root.unlinkFileAt("b");
    expect(fs.readdirSync(dir).sort()).toEqual(["d"]);
  });

  it("error codes", () => {
    writeFile("f", "x");
    root.createDirectoryAt("full");
    writeFile("full/inner", "x");
    expect(codeOf(() => root.openAt(NOFOLLOW, "missing", {}, { read: true }))).toBe("no-entry");
    expect(codeOf(() => root.statAt(NOFOLLOW, "missing"))).toBe("no-entry");
    expect(codeOf(() => root.unlinkFileAt("missing"))).toBe("no-entry");
    expect(codeOf(() => root.renameAt("missing", root, "x"))).toBe("no-entry");
    expect(codeOf(() => root.createDirectoryAt("full"))).toBe("exist");
    expect(codeOf(() => root.createDirectoryAt("no/such/parent"))).toBe("no-entry");
    expect(codeOf(() => root.removeDirectoryAt("full"))).toBe("not-empty");
    expect(codeOf(() => root.removeDirectoryAt("f"))).toBe("not-directory");
    expect(codeOf(() => root.unlinkFileAt("full"))).toMatch(/^(is-directory|not-permitted|access)$/);
    expect(codeOf(() => root.openAt(NOFOLLOW, "f", { directory: true }, { read: true }))).toBe("not-directory");
    expect(codeOf(() => root.openAt(NOFOLLOW, "f/", {}, { read: true }))).toBe("not-directory");
    expect(codeOf(() => root.openAt(NOFOLLOW, "full", {}, { write: true }))).toBe("is-directory");
    expect(codeOf(() => root.openAt(NOFOLLOW, "bad\0name", {}, { read: true }))).toBe("invalid");
    expect(codeOf(() => root.openAt(NOFOLLOW, "", {}, { read: true }))).toBe("no-entry");
    const ro = root.openAt(NOFOLLOW, "f", {}, { read: true });
    expect(codeOf(() => ro.write(enc("y"), 0n))).toBe("bad-descriptor");
    ro[Symbol.dispose]();
    // fd operations on the preopen (a directory with no file behind it)
    expect(codeOf(() => root.read(1n, 0n))).toBe("bad-descriptor");
    expect(codeOf(() => root.write(enc("y"), 0n))).toBe("bad-descriptor");
  });

  it("refuses paths that escape the preopen", () => {
    fs.writeFileSync(path.join(path.dirname(dir), `${path.basename(dir)}-outside`), "secret");
    const outside = `../${path.basename(dir)}-outside`;
    try {
      expect(codeOf(() => root.openAt(NOFOLLOW, outside, {}, { read: true }))).toBe("not-permitted");
      expect(codeOf(() => root.openAt(NOFOLLOW, "a/../../x", { create: true }, { write: true }))).toBe("not-permitted");
      expect(codeOf(() => root.openAt(NOFOLLOW, "..", { directory: true }, { read: true }))).toBe("not-permitted");
      expect(codeOf(() => root.openAt(NOFOLLOW, "/etc/passwd", {}, { read: true }))).toBe("not-permitted");
      expect(codeOf(() => root.statAt(FOLLOW, outside))).toBe("not-permitted");
      expect(codeOf(() => root.statAt(FOLLOW, "/"))).toBe("not-permitted");
      expect(codeOf(() => root.createDirectoryAt("../evil"))).toBe("not-permitted");
      expect(codeOf(() => root.unlinkFileAt(outside))).toBe("not-permitted");
      expect(codeOf(() => root.renameAt(outside, root, "stolen"))).toBe("not-permitted");
      expect(codeOf(() => root.renameAt("x", root, "../x"))).toBe("not-permitted");
      expect(codeOf(() => root.symlinkAt("/etc/passwd", "abs"))).toBe("not-permitted");
      expect(codeOf(() => root.symlinkAt("../../etc/passwd", "rel"))).toBe("not-permitted");
      // A directory descriptor cannot climb above itself either.
      root.createDirectoryAt("sub");
      writeFile("top", "t");
      const sub = root.openAt(NOFOLLOW, "sub", { directory: true }, { read: true });
      expect(codeOf(() => sub.openAt(NOFOLLOW, "../top", {}, { read: true }))).toBe("not-permitted");
      sub[Symbol.dispose]();
      // `..` that stays inside is fine.
      expect(root.statAt(NOFOLLOW, "sub/../top").size).toBe(1n);
      expect(fs.readFileSync(path.join(path.dirname(dir), `${path.basename(dir)}-outside`), "utf8")).toBe("secret");
    } finally {
      fs.rmSync(path.join(path.dirname(dir), `${path.basename(dir)}-outside`), { force: true });
    }
  });

  it("symlinkFollow: false does not open through a final symlink", () => {
    writeFile("target", "T");
    root.symlinkAt("target", "link");
    expect(root.readlinkAt("link")).toBe("target");
    expect(codeOf(() => root.openAt(NOFOLLOW, "link", {}, { read: true }))).toBe("loop");
    const fd = root.openAt(FOLLOW, "link", {}, { read: true });
    expect(dec(fd.read(10n, 0n)[0])).toBe("T");
    fd[Symbol.dispose]();
  });

  it("dispose closes the fd; a disposed descriptor is a bad descriptor", () => {
    writeFile("f", "x");
    const file = path.join(fs.realpathSync(dir), "f");
    const before = openFds(file);
    const fds = Array.from({ length: 20 }, () => root.openAt(NOFOLLOW, "f", {}, { read: true }));
    if (before !== undefined) expect(openFds(file)).toBe(before + 20);
    for (const fd of fds) fd[Symbol.dispose]();
    if (before !== undefined) expect(openFds(file)).toBe(before);
    const fd = fds[0];
    fd[Symbol.dispose](); // twice is fine
    expect(codeOf(() => fd.read(1n, 0n))).toBe("bad-descriptor");
    expect(codeOf(() => fd.stat())).toBe("bad-descriptor");
    expect(codeOf(() => fd.openAt(NOFOLLOW, "x", {}, { read: true }))).toBe("bad-descriptor");
    // The preopen survives the guest dropping its handle.
    root[Symbol.dispose]();
    expect(root.statAt(NOFOLLOW, "f").size).toBe(1n);
  });

  it.skipIf(openFds() === undefined)("leaked descriptors are closed when collected", () => {
    writeFile("f", "x");
    // A child with --expose-gc: open 50 descriptors, drop them undisposed, collect, count fds.
    const mod = path.join(import.meta.dirname, "../src/wasi-filesystem.ts");
    const script = `
      import fs from "node:fs";
      const { setPreopens, preopens } = await import(${JSON.stringify(mod)});
      setPreopens({ "/data": ${JSON.stringify(dir)} });
      const file = ${JSON.stringify(path.join(fs.realpathSync(dir), "f"))};
      const count = () => fs.readdirSync("/proc/self/fd").filter((n) => {
        try { return fs.readlinkSync("/proc/self/fd/" + n) === file; } catch { return false; }
      }).length;
      const before = count();
      (() => { const root = preopens.getDirectories()[0][0];
        for (let i = 0; i < 50; i++) root.openAt({ symlinkFollow: false }, "f", {}, { read: true }); })();
      const opened = count() - before;
      for (let i = 0; i < 10 && count() > before; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
      console.log(JSON.stringify({ opened, left: count() - before }));`;
    const out = execFileSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], { encoding: "utf8" });
    expect(JSON.parse(out.trim().split("\n").pop()!)).toEqual({ opened: 50, left: 0 });
  });

  it("setPreopens replaces the preopens; each call hands out fresh descriptors", () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), "keel-wasi-fs2-"));
    try {
      setPreopens({ "/a": dir, "/b": other });
      const dirs = preopens.getDirectories();
      expect(dirs.map(([, n]) => n)).toEqual(["/a", "/b"]);
      const again = preopens.getDirectories();
      expect(again[0][0]).not.toBe(dirs[0][0]);
      expect(again[0][0].isSameObject(dirs[0][0])).toBe(true);
      expect(again[0][0].isSameObject(again[1][0])).toBe(false);
      writeFile("in-a", "1");
      expect(codeOf(() => dirs[1][0].statAt(NOFOLLOW, "in-a"))).toBe("no-entry");
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });
});
