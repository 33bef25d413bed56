// Around the whole vitest run. First the build is brought up to date (`scripts/build.ts
// --if-stale`, ~0.5 s when it is): tests start the Node host from its bundle and wasmtime from
// dist/, so a test run after an edit to host/src or a component must not use the last build.
// Every process a test starts inherits KEEL_TEST_RUN (set here,
// before the workers are forked, so it reaches them and everything they spawn). A worker that
// dies mid-test — or a test that throws between starting a node and handing it to its cleanup —
// can leave a wasmtime or Node host running; at the end of the run any process still carrying
// this run's tag is killed and named, so one run's leftovers never hold ports or CPU in the next.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const TAG = "KEEL_TEST_RUN";

/** Live processes (Linux /proc) whose environment has TAG=run, other than this one. */
export function taggedProcesses(run: string): { pid: number; cmd: string }[] {
  const want = `${TAG}=${run}`;
  const found: { pid: number; cmd: string }[] = [];
  for (const name of fs.readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (!fs.readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(want)) continue;
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ").trim();
      // vitest's own workers carry the tag too; they end with the run.
      if (!cmd.includes("vitest")) found.push({ pid, cmd });
    } catch {
      // gone already, or not ours to read
    }
  }
  return found;
}

export default function setup(): () => void {
  const root = path.resolve(import.meta.dirname, "..", "..");
  execFileSync(process.execPath, [path.join(root, "scripts", "build.ts"), "--if-stale"], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  const run = `${process.pid}-${Date.now()}`;
  process.env[TAG] = run;
  return () => {
    if (!fs.existsSync("/proc/self/environ")) return;
    const left = taggedProcesses(run);
    for (const p of left) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        // exited meanwhile
      }
    }
    if (left.length) console.warn(`[keel] killed ${left.length} process(es) a test left running:\n${left.map((p) => `  ${p.pid} ${p.cmd.slice(0, 160)}`).join("\n")}`);
  };
}
