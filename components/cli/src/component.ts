// Wiring only: wasi:cli/run → commands.ts over the keel:storage imports.
// Built with QuickJS: no TextEncoder, so UTF-8 comes from the storage package.
import { getArguments } from "wasi:cli/environment@0.2.12";
import { getStdout } from "wasi:cli/stdout@0.2.12";
import { getStderr } from "wasi:cli/stderr@0.2.12";
import { exit } from "wasi:cli/exit@0.2.12";
import * as kv from "keel:storage/kv@0.1.0";
import { encodeUtf8, decodeUtf8 } from "../../storage/src/utf8.ts";
import { runCommand } from "./commands.ts";

function writeLines(stream: { blockingWriteAndFlush(b: Uint8Array): void }, lines: string[]): void {
  if (!lines.length) return;
  const bytes = encodeUtf8(lines.join("\n") + "\n");
  // NOTE: blocking-write-and-flush takes at most 4096 bytes per call.
  for (let i = 0; i < bytes.length; i += 4096) stream.blockingWriteAndFlush(bytes.subarray(i, i + 4096));
}

const store = {
  get: (key: string) => kv.get(key),
  put: (key: string, value: Uint8Array, ifMatch: string | undefined) => kv.put(key, value, ifMatch ?? null),
  delete: (key: string, ifMatch: string | undefined) => kv.delete(key, ifMatch ?? null),
  scan: (prefix: string, cursor: string | undefined, limit: number) => kv.scan(prefix, cursor ?? null, limit),
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

export const run = {
  run() {
    // argv[0] is the program name.
    const out = runCommand(getArguments().slice(1), store, text);
    writeLines(getStdout(), out.stdout);
    writeLines(getStderr(), out.stderr);
    // A failed command exits 1 (wasi:cli 0.2 has no other codes) after printing why.
    if (out.code !== 0) exit({ tag: "err", val: undefined });
  },
};
