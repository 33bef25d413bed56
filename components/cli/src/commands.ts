// The keel cli's commands over a data dir, as plain functions of their arguments so tests
// run them directly. Output is text lines; the exit code says whether it worked.
import { toBase64, fromBase64 } from "@keel/bytes";
import { witError, describeThrown } from "@keel/model";

import type { Entry, LogRecord, Page, ResourceUsage } from "keel:storage/types@0.1.0";

export type { Entry, LogRecord };

/** The keel:storage imports the cli uses (their WIT types; u64s as numbers: QuickJS). */
export interface Store {
  get(key: string): Entry | null;
  put(key: string, value: Uint8Array, ifMatch: string | null): string;
  delete(key: string, ifMatch: string | null): boolean;
  scan(prefix: string, cursor: string | null, limit: number): Page;
  append(topic: string, payloads: Uint8Array[]): number[];
  read(topic: string, from: number, max: number): LogRecord[];
  topics(): string[];
  usage(): ResourceUsage;
  queue(): { name: string; records: number; oldestMs: number }[];
  verify(): string[];
  compact(): number;
}

export interface Text {
  encode(s: string): Uint8Array;
  decode(b: Uint8Array): string;
}

export interface Output {
  code: number;
  stdout: string[];
  stderr: string[];
}

export const USAGE = [
  "usage: keel <command> [args]",
  "  get <key>                      print the value of a key",
  "  put <key> <value>              write a value (UTF-8 text)",
  "  delete <key>                   delete a key",
  "  scan [prefix]                  list keys: key, version, size",
  "  topics                         list topics",
  "  append <topic> <value>...      append records (UTF-8 text)",
  "  tail <topic> [from] [max]      print records: offset, timestamp ms, value",
  "  usage                          bytes and counts against the limits",
  "  queue                          records waiting to sync, per topic (and @outbox for keys)",
  "  verify                         check every checksum; exit 1 if anything is corrupt",
  "  compact                        reclaim dead space (temp files, torn tails, retention)",
  "  export                         every key and record as JSON lines on stdout",
  "  import                         read `export` JSON lines from stdin",
  "  help                           this text",
];

const IMPORT_BATCH = 1000;

export function runCommand(args: string[], store: Store, text: Text, stdin: () => string = () => ""): Output {
  const out: Output = { code: 0, stdout: [], stderr: [] };
  const fail = (msg: string, code = 1) => {
    out.code = code;
    out.stderr.push(`keel: ${msg}`);
    return out;
  };
  const whole = (s: string | undefined, d: number) => (s === undefined ? d : /^\d{1,15}$/.test(s) ? Number(s) : NaN);
  const [cmd, ...rest] = args;
  try {
    switch (cmd) {
      case "get": {
        if (rest.length !== 1) return fail("get takes one key", 2);
        const e = store.get(rest[0]);
        if (!e) return fail(`key ${JSON.stringify(rest[0])} does not exist`);
        out.stdout.push(text.decode(e.value));
        return out;
      }
      case "put": {
        if (rest.length !== 2) return fail("put takes a key and a value", 2);
        out.stdout.push(store.put(rest[0], text.encode(rest[1]), null));
        return out;
      }
      case "delete": {
        if (rest.length !== 1) return fail("delete takes one key", 2);
        if (!store.delete(rest[0], null)) return fail(`key ${JSON.stringify(rest[0])} does not exist`);
        return out;
      }
      case "scan": {
        if (rest.length > 1) return fail("scan takes at most a prefix", 2);
        forEachEntry(store, rest[0] ?? "", (e) => out.stdout.push(`${e.key}\t${e.version}\t${e.value.length}`));
        return out;
      }
      case "topics": {
        out.stdout.push(...store.topics());
        return out;
      }
      case "append": {
        if (rest.length < 2) return fail("append takes a topic and at least one value", 2);
        out.stdout.push(...store.append(rest[0], rest.slice(1).map((v) => text.encode(v))).map(String));
        return out;
      }
      case "tail": {
        if (rest.length < 1 || rest.length > 3) return fail("tail takes a topic, then optionally from and max", 2);
        const from = whole(rest[1], 0);
        const max = whole(rest[2], 100);
        if (!Number.isFinite(from) || !Number.isFinite(max) || max < 1) return fail("from and max must be whole numbers (max ≥ 1)", 2);
        let next = from;
        let left = max;
        while (left > 0) {
          const recs = store.read(rest[0], next, Math.min(left, 1000));
          if (!recs.length) break;
          for (const r of recs) out.stdout.push(`${r.offset}\t${r.timestampMs}\t${text.decode(r.payload)}`);
          next = recs[recs.length - 1].offset + 1;
          left -= recs.length;
        }
        return out;
      }
      case "queue": {
        const q = store.queue();
        if (!q.length) out.stdout.push("nothing is synced from this node");
        for (const l of q) out.stdout.push(`${l.name}\t${l.records}\t${l.records ? new Date(l.oldestMs).toISOString() : "-"}`);
        return out;
      }
      case "usage": {
        out.stdout.push(JSON.stringify(store.usage()));
        return out;
      }
      case "verify": {
        const problems = store.verify();
        if (!problems.length) {
          out.stdout.push("ok: every checksum matches");
          return out;
        }
        out.stdout.push(...problems);
        return fail(`${problems.length} problem(s) found`);
      }
      case "compact": {
        out.stdout.push(`reclaimed ${store.compact()} bytes`);
        return out;
      }
      case "export": {
        forEachEntry(store, "", (e) => out.stdout.push(JSON.stringify({ key: e.key, version: e.version, value_base64: toBase64(e.value) })));
        for (const topic of store.topics()) {
          let next = 0;
          for (;;) {
            const recs = store.read(topic, next, 1000);
            if (!recs.length) break;
            for (const r of recs) out.stdout.push(JSON.stringify({ topic, offset: r.offset, timestamp_ms: r.timestampMs, value_base64: toBase64(r.payload) }));
            next = recs[recs.length - 1].offset + 1;
          }
        }
        return out;
      }
      case "import":
        return importLines(stdin(), store, out, fail);
      case undefined:
      case "help":
      case "--help":
        out.stdout.push(...USAGE);
        if (cmd === undefined) out.code = 2;
        return out;
      default:
        out.stderr.push(...USAGE);
        return fail(`unknown command ${JSON.stringify(cmd)}`, 2);
    }
  } catch (e) {
    return fail(witError(e) ? describeThrown(e) : String(e));
  }
}

function forEachEntry(store: Store, prefix: string, fn: (e: Entry) => void): void {
  let cursor: string | null = null;
  do {
    const page = store.scan(prefix, cursor, 1000);
    page.entries.forEach(fn);
    cursor = page.nextCursor;
  } while (cursor !== null);
}

/**
 * Import `export` lines. Everything is checked before anything is written, so a bad file
 * changes nothing. Keys get new versions; records are appended in order with new offsets.
 */
function importLines(input: string, store: Store, out: Output, fail: (m: string, c?: number) => Output): Output {
  const keys: [string, Uint8Array][] = [];
  const topics = new Map<string, Uint8Array[]>();
  const lines = input.split("\n");
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(line);
    } catch {
      return fail(`line ${i + 1}: not JSON; nothing was imported`);
    }
    const value = typeof doc?.value_base64 === "string" ? fromBase64(doc.value_base64) : null;
    if (!value) return fail(`line ${i + 1}: value_base64 missing or not base64; nothing was imported`);
    if (typeof doc.key === "string") keys.push([doc.key, value]);
    else if (typeof doc.topic === "string") {
      if (!topics.has(doc.topic)) topics.set(doc.topic, []);
      topics.get(doc.topic)!.push(value);
    } else return fail(`line ${i + 1}: needs "key" or "topic"; nothing was imported`);
  }
  for (const [k, v] of keys) store.put(k, v, null);
  let records = 0;
  for (const [topic, values] of topics) {
    for (let i = 0; i < values.length; i += IMPORT_BATCH) records += store.append(topic, values.slice(i, i + IMPORT_BATCH)).length;
  }
  out.stdout.push(`imported ${keys.length} keys and ${records} records in ${topics.size} topics`);
  return out;
}
