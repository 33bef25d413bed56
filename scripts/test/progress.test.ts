// scripts/lib/progress.ts: plain lines for logs and CI (exactly these), a spinner line that ends
// in a ✔ line on a terminal (tests/e2e run without one, so that mode draws into a fake stream).
import { stripVTControlCharacters } from "node:util";
import { describe, expect, it } from "vitest";
import { createProgress, isTerminal } from "../lib/progress.ts";

function sink(): { stream: NodeJS.WriteStream; text: () => string } {
  let out = "";
  const stream = { write: (s: string) => ((out += s), true), columns: 80, isTTY: true } as unknown as NodeJS.WriteStream;
  return { stream, text: () => out };
}

describe("progress", () => {
  it("plain lines when not on a terminal: label, then duration and note", async () => {
    const s = sink();
    const p = createProgress({ terminal: false, stream: s.stream });
    await p.step("compose composed.wasm", () => "9.21 MB");
    p.info("build done");
    p.status("run 1/3");
    p.done();
    expect(s.text()).toMatch(/^\[keel\] compose composed\.wasm …\n\[keel\]   done in \d+\.\d s \(9\.21 MB\)\n\[keel\] build done\n\[keel\] run 1\/3\n$/);
    expect(s.text()).not.toMatch(/\x1b/);
  });

  it("on a terminal: one spinner line per step, ended by a ✔ line with the duration", async () => {
    const s = sink();
    const p = createProgress({ terminal: true, stream: s.stream });
    // colours depend on the environment (FORCE_COLOR, NO_COLOR): compare the text without them
    const text = () => stripVTControlCharacters(s.text());
    await p.step("precompile", async () => "23 MB");
    expect(text()).toMatch(/[✔√] precompile — \d+\.\d s \(23 MB\)\n/);
    expect(text()).not.toMatch(/\[keel\]/);
    await expect(p.step("fails", () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(text()).toMatch(/[✖×] fails — failed after/);
  });

  it("a log, CI or a dumb terminal is not a terminal", () => {
    expect(isTerminal({ CI: "true" })).toBe(false);
    expect(isTerminal({ TERM: "dumb" })).toBe(false);
    // vitest's workers write to pipes
    expect(isTerminal({})).toBe(false);
  });
});
