// tests/helpers/global-setup.ts: a process a test leaves running is found by its run tag (and
// only by that), so the run's teardown can kill it.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { taggedProcesses } from "../helpers/global-setup.ts";

describe("leftover test processes", () => {
  it("are found by this run's tag, not by another's, and vitest's workers are not", async (ctx) => {
    const run = process.env.KEEL_TEST_RUN;
    if (!run) ctx.skip("not under the project's vitest config (no KEEL_TEST_RUN)");
    const ours = spawn("sleep", ["30"], { stdio: "ignore" });
    const other = spawn("sleep", ["30"], { stdio: "ignore", env: { ...process.env, KEEL_TEST_RUN: `${run}-other` } });
    try {
      await new Promise((r) => setTimeout(r, 100));
      const pids = taggedProcesses(run!).map((p) => p.pid);
      expect(pids).toContain(ours.pid);
      expect(pids).not.toContain(other.pid);
      expect(pids).not.toContain(process.pid);
      expect(taggedProcesses(run!).every((p) => !p.cmd.includes("vitest"))).toBe(true);
    } finally {
      ours.kill("SIGKILL");
      other.kill("SIGKILL");
    }
  });
});
