// Group commit (log.ts) across processes: appenders write under the topic's lock and flush
// after it, the tail hint lags behind them and names older segments across rolls — yet every
// batch gets dense, contiguous offsets, nothing is lost, and the log verifies clean.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { NodeDir } from "@keel/wasi-dir/testing";
import { TopicLog } from "../src/log.ts";
import { DEFAULT_SETTINGS } from "../src/settings.ts";

const run = promisify(execFile);
const APPENDER = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "appender.ts");

describe("topic appends from several processes at once", () => {
  it("dense offsets, whole batches, nothing lost, across many segment rolls", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "keel-log-conc-"));
    const ids = ["a", "bb", "ccc", "dddd"];
    const BATCHES = 150;
    const results = await Promise.all(ids.map((id) => run(process.execPath, [APPENDER, root, id, String(BATCHES)], { timeout: 60_000 })));
    const given = new Map(ids.map((id, k) => [id, JSON.parse(results[k].stdout) as number[][]]));
    const log = new TopicLog(new NodeDir(root), { ...DEFAULT_SETTINGS, segmentBytes: 4096 });
    const records = [];
    for (let from = 0; ; ) {
      const page = log.read("shared", from, 1000);
      if (!page.length) break;
      records.push(...page);
      from = page[page.length - 1].offset + 1;
    }
    const total = [...given.values()].flat().reduce((a, b) => a + b.length, 0);
    expect(records.map((r) => r.offset)).toEqual([...Array(total).keys()]);
    const text = new Map(records.map((r) => [r.offset, new TextDecoder().decode(r.payload)]));
    for (const [id, batches] of given) {
      batches.forEach((offsets, b) => {
        // A batch's offsets are consecutive, and each holds what that process wrote there.
        offsets.forEach((o, i) => {
          expect(o).toBe(offsets[0] + i);
          expect(text.get(o)).toBe(`${id}-${b}-${i}-${"p".repeat(40)}`);
        });
      });
    }
    expect(log.segments("shared").length).toBeGreaterThan(10);
    expect(log.verify("shared")).toEqual([]);
    expect(log.nextOffset("shared")).toBe(total);
  }, 90_000);
});
