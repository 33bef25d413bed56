// `npm start` (scripts/keel.mjs start) becomes the Node host: the process it started is the host
// itself, under host/launch.json's Node flags, and it ends on SIGTERM — no wrapper is left.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { freePort, NODE, NODE_HOST_ARGS, ROOT, tempDataDir } from "../helpers/nodes.ts";

describe("npm start", () => {
  it("execs the bundled host with its flags, answers, and exits on SIGTERM", async () => {
    const port = await freePort();
    const p = spawn(NODE, [path.join(ROOT, "scripts", "keel.mjs"), "start"], {
      cwd: ROOT, stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, KEEL_ADDR: `127.0.0.1:${port}`, KEEL_DATA: tempDataDir("npm-start") },
    });
    let out = "";
    p.stdout!.on("data", (d) => (out += d));
    p.stderr!.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => p.once("exit", (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        if (p.exitCode !== null) throw new Error(`npm start exited with ${p.exitCode}:\n${out}`);
        const ok = await fetch(`http://127.0.0.1:${port}/_keel/health`).then((r) => r.ok, () => false);
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`no answer within 60 s:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      // The PID we started is now the host (execve), not a wrapper with the host as its child.
      const argv = fs.readFileSync(`/proc/${p.pid}/cmdline`, "utf8").split("\0");
      // host/launch.json's flags and bundle, as the tests' own nodes start (NODE_HOST_ARGS).
      for (const arg of NODE_HOST_ARGS) expect(argv).toContain(arg);
      expect(argv.join(" ")).not.toContain("keel.mjs");
      p.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      if (p.exitCode === null) p.kill("SIGKILL");
    }
  }, 90_000);
});
