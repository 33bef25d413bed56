// Nothing acknowledged is lost: kill the serving process with SIGKILL at random moments during
// a write load, many times over, on both hosts. After every restart each acknowledged write (and
// each acknowledged key in a prefix scan, which reads the key index) must be there, and each
// key rewritten over and over (an update in place, storage's slotted files) holds its last
// acknowledged value or the one in flight when the process died; at the end the store
// verifies clean once compaction has cut torn tails.
import { describe, expect, it } from "vitest";
import { type HostKind, UNLIMITED, configVariant, runCli, startNode, tempDataDir } from "../helpers/nodes.ts";

// Load tests run without rate limits (they are tested on their own in rate-limit.test.ts).
const CONFIG = configVariant(UNLIMITED);

const CYCLES = Number(process.env.KEEL_CRASH_CYCLES ?? 50);
const WORKERS = 4;

interface Acked {
  keys: Map<string, string>;
  records: Map<number, string>;
  /** Keys each worker rewrites: the last acknowledged value, and one sent but not answered. */
  updated: Map<string, { acked: string | undefined; pending: string | undefined }>;
}

async function load(url: string, cycle: number, acked: Acked, stop: { now: boolean }): Promise<void> {
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, w) => {
      for (let i = 0; !stop.now; i++) {
        try {
          if (i % 3 === 2) {
            // Lengths vary (0–699), so some updates outgrow their slot and take a new file.
            const key = `hot-w${w}-${i % 4}`;
            const value = `${key}:${cycle}:${i}:${"u".repeat((i * 37) % 700)}`;
            const u = acked.updated.get(key) ?? { acked: undefined, pending: undefined };
            acked.updated.set(key, u);
            u.pending = value;
            const r = await fetch(`${url}/v1/kv/${key}`, { method: "PUT", body: value });
            if (r.status === 200) u.acked = value;
            u.pending = undefined;
          } else if (i % 3 === 0) {
            const key = `c${cycle}-w${w}-${i}`;
            const value = `${key}:${"v".repeat(i % 700)}`;
            const r = await fetch(`${url}/v1/kv/${key}`, { method: "PUT", body: value });
            if (r.status === 200) acked.keys.set(key, value);
          } else {
            const records = [0, 1, 2].map((j) => `c${cycle}-w${w}-${i}-${j}`);
            const r = await fetch(`${url}/v1/topics/crash/records`, {
              method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ records }),
            });
            if (r.status === 200) {
              const { offsets } = (await r.json()) as { offsets: number[] };
              offsets.forEach((o, j) => acked.records.set(o, records[j]));
            }
          }
        } catch {
          return; // the process was killed under us: this write was never acknowledged
        }
      }
    }),
  );
}

async function verifyAll(url: string, acked: Acked): Promise<void> {
  for (const [key, value] of acked.keys) {
    const r = await fetch(`${url}/v1/kv/${key}`);
    expect(r.status, key).toBe(200);
    expect(await r.text(), key).toBe(value);
  }
  // A prefix scan (the key index) lists every acknowledged key, page by page.
  const listed = new Set<string>();
  for (let cursor: string | null = null; ; ) {
    const q: string = `${url}/v1/kv?prefix=c&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const page = (await (await fetch(q)).json()) as { entries: { key: string }[]; next_cursor: string | null };
    for (const e of page.entries) listed.add(e.key);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  for (const key of acked.keys.keys()) expect(listed.has(key), `${key} in a scan`).toBe(true);
  for (const [key, u] of acked.updated) {
    const r = await fetch(`${url}/v1/kv/${key}`);
    if (u.acked === undefined && r.status === 404) continue;
    expect(r.status, key).toBe(200);
    const value = await r.text();
    expect([u.acked, u.pending], key).toContain(value);
    // What the write in flight did is settled now: the next cycle builds on what is stored.
    u.acked = value;
    u.pending = undefined;
  }
  const got = new Map<number, string>();
  for (let from = 0; ; ) {
    const page = (await (await fetch(`${url}/v1/topics/crash/records?from=${from}&max=1000`)).json()) as { records: { offset: number; value: string }[]; next: number };
    if (!page.records.length) break;
    for (const r of page.records) got.set(r.offset, r.value);
    from = page.next;
  }
  for (const [offset, value] of acked.records) expect(got.get(offset), `offset ${offset}`).toBe(value);
  // Offsets stay dense across crashes: no gaps, nothing served twice.
  expect([...got.keys()]).toEqual([...Array(got.size).keys()]);
}

/** verifyAll, failing with what the server printed: that tells a trap from a lost write or a dropped connection. */
async function verifyOn(node: { url: string; output(): string }, acked: Acked, when: string): Promise<void> {
  try {
    await verifyAll(node.url, acked);
  } catch (e) {
    const err = e as Error;
    throw new Error(`${when}: ${err.message} (${(err.cause as Error | undefined)?.message ?? "no cause"})\nserver output:\n${node.output().slice(-4000)}`, { cause: e });
  }
}

describe.each<HostKind>(["wasmtime", "node"])("SIGKILL during writes on the %s host", (kind) => {
  it(`loses no acknowledged write over ${CYCLES} kill cycles`, async () => {
    const dataDir = tempDataDir(`crash-${kind}`);
    const acked: Acked = { keys: new Map(), records: new Map(), updated: new Map() };
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const node = await startNode(kind, { dataDir, env: { KEEL_CONFIG: CONFIG } });
      await verifyOn(node, acked, `cycle ${cycle}`);
      const stop = { now: false };
      const running = load(node.url, cycle, acked, stop);
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 450));
      await node.stop("SIGKILL");
      stop.now = true;
      await running;
    }
    const node = await startNode(kind, { dataDir, env: { KEEL_CONFIG: CONFIG } });
    await verifyOn(node, acked, "after the last cycle");
    await node.stop();
    const compact = await runCli("wasmtime", dataDir, ["compact"]);
    expect(compact.code, compact.stderr).toBe(0);
    const verify = await runCli("wasmtime", dataDir, ["verify"]);
    expect(verify, verify.stdout).toMatchObject({ code: 0, stdout: "ok: every checksum matches\n" });
    console.log(`crash test (${kind}): survived ${CYCLES} SIGKILL cycles; ${acked.keys.size} acknowledged puts of new keys, ${acked.records.size} acknowledged records and the last acknowledged value of ${acked.updated.size} rewritten keys all present`);
    expect(acked.keys.size + acked.records.size).toBeGreaterThan(CYCLES);
  }, 300_000);
});
