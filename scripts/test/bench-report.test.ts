// Bench results kept and compared: the chart has a bar per value and the 1.0 line; compare
// shows every numeric cell as old → new with its change, and refuses what is not a results file.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { compare, ratioChart } from "../lib/bench-report.ts";

describe("bench-report", () => {
  it("draws one bar per value, skips missing ones, and marks the baseline", () => {
    const svg = ratioChart("t <&>", ["a", "b"], [{ name: "x", color: "#000", values: [0.5, 2] }, { name: "y", color: "#111", values: [null, 1.25] }]);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<rect [^>]*><title>/g)).toHaveLength(3);
    expect(svg).toContain("baseline = 1.0");
    expect(svg).toContain("t &#60;&#38;&#62;");
  });

  it("compares two runs cell by cell", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-bench-"));
    const doc = (put: string, commit: string) => ({ benchmark: "storage", date: "d", commit, tables: [{ title: "T", columns: ["scenario", "Keel"], rows: [["kv put", put], ["kv get", "-"]] }] });
    fs.writeFileSync(path.join(dir, "a.json"), JSON.stringify(doc("100", "c1")));
    fs.writeFileSync(path.join(dir, "b.json"), JSON.stringify(doc("150", "c2")));
    const out: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
    try {
      compare(path.join(dir, "a.json"), path.join(dir, "b.json"));
    } finally {
      spy.mockRestore();
    }
    expect(out.join("\n")).toContain("c1 (d) → c2 (d)");
    expect(out.join("\n")).toMatch(/kv put\s+100 → 150 \(\+50%\)/);
    expect(out.join("\n")).toMatch(/kv get\s+-/);
    fs.writeFileSync(path.join(dir, "bad.json"), "{");
    expect(() => compare(path.join(dir, "bad.json"), path.join(dir, "b.json"))).toThrow(/not a bench results file/);
  });
});
