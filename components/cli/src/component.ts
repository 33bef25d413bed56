// Wiring only: wasi:cli/run → commands.ts over the keel:storage imports.
// Built with QuickJS: no TextEncoder, so UTF-8 comes from the storage package.
import { getArguments } from "wasi:cli/environment@0.2.12";
import { getStdout } from "wasi:cli/stdout@0.2.12";
import { getStderr } from "wasi:cli/stderr@0.2.12";
import { getStdin } from "wasi:cli/stdin@0.2.12";
import { exit } from "wasi:cli/exit@0.2.12";
import * as kv from "keel:storage/kv@0.1.0";
import * as log from "keel:storage/log@0.1.0";
import * as admin from "keel:storage/admin@0.1.0";
import { encodeUtf8, decodeUtf8 } from "@keel/bytes";
import { runCommand, type Store } from "./commands.ts";
import type * as Run from "wasi:cli/run@0.2.12";

function writeLines(stream: { blockingWriteAndFlush(b: Uint8Array): void }, lines: string[]): void {
  if (!lines.length) return;
  const bytes = encodeUtf8(lines.join("\n") + "\n");
  // NOTE: blocking-write-and-flush takes at most 4096 bytes per call.
  for (let i = 0; i < bytes.length; i += 4096) stream.blockingWriteAndFlush(bytes.subarray(i, i + 4096));
}

function readStdin(): string {
  const input = getStdin();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let chunk: Uint8Array;
    try {
      chunk = input.blockingRead(65536);
    } catch {
      break; // closed: end of input
    }
    if (!chunk.length) continue;
    chunks.push(chunk);
    total += chunk.length;
  }
  const all = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) { all.set(c, o); o += c.length; }
  return decodeUtf8(all);
}

const store: Store = {
  get: kv.get,
  put: kv.put,
  delete: kv.delete,
  scan: kv.scan,
  append: (topic, payloads) => {
    const { first, count } = log.append(topic, payloads);
    return Array.from({ length: count }, (_, i) => first + i);
  },
  read: (topic, from, max) => log.read(topic, from, max),
  topics: () => log.topics(),
  usage: () => admin.usage(),
  queue: () => admin.queue().map((q) => ({ name: q.name, records: Number(q.records), oldestMs: Number(q.oldestMs) })),
  verify: () => admin.verify(),
  compact: () => admin.compact(),
};

const text = {
  encode: encodeUtf8,
  decode: (b: Uint8Array) => {
    try {
      return decodeUtf8(b);
    } catch {
      return `<${b.length} bytes, not UTF-8>`;
    }
  },
};

export const run: typeof Run = {
  run() {
    // argv[0] is the program name.
    const out = runCommand(getArguments().slice(1), store, text, readStdin);
    writeLines(getStdout(), out.stdout);
    writeLines(getStderr(), out.stderr);
    // A failed command exits 1 (wasi:cli 0.2 has no other codes) after printing why.
    if (out.code !== 0) exit({ tag: "err", val: undefined });
  },
};
