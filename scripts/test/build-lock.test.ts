// scripts/lib/build-lock.ts: one build per checkout; a second waits, a dead builder's lock is taken over.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { takeBuildLock } from "../lib/build-lock.ts";

const LOCK_TS = path.resolve(import.meta.dirname, "../lib/build-lock.ts");

describe("build lock", () => {
  it("waits while another live process holds it, then takes it", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "keel-lock-")), "build.lock");
    const holder = spawn(process.execPath, ["--input-type=module", "-e", `import { takeBuildLock } from ${JSON.stringify(LOCK_TS)}; await takeBuildLock(${JSON.stringify(file)}, () => {}); console.log("held"); setTimeout(() => process.exit(0), 800);`], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((r) => holder.stdout!.once("data", () => r()));
    const said: string[] = [];
    const t0 = Date.now();
    await takeBuildLock(file, (l) => said.push(l));
    expect(Date.now() - t0).toBeGreaterThan(300);
    expect(said[0]).toMatch(new RegExp(`another build \\(pid ${holder.pid}\\) is running`));
    expect(fs.readFileSync(file, "utf8")).toBe(String(process.pid));
    fs.rmSync(file);
  });

  it("takes over a lock whose process is gone", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "keel-lock-")), "build.lock");
    fs.writeFileSync(file, "999999999");
    const said: string[] = [];
    await takeBuildLock(file, (l) => said.push(l));
    expect(said).toEqual([]);
    expect(fs.readFileSync(file, "utf8")).toBe(String(process.pid));
    fs.rmSync(file);
  });
});
