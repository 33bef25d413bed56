// The keel cli's commands over a data dir, as plain functions of their arguments so tests
// run them directly. Output is text lines; the exit code says whether it worked.

export interface Entry {
  key: string;
  value: Uint8Array;
  version: string;
}

export interface Store {
  get(key: string): Entry | null | undefined;
  put(key: string, value: Uint8Array, ifMatch: string | undefined): string;
  delete(key: string, ifMatch: string | undefined): boolean;
  scan(prefix: string, cursor: string | undefined, limit: number): { entries: Entry[]; nextCursor?: string | null };
}

export interface Output {
  code: number;
  stdout: string[];
  stderr: string[];
}

export const USAGE = [
  "usage: keel <command> [args]",
  "  get <key>            print the value of a key",
  "  put <key> <value>    write a value (UTF-8 text)",
  "  delete <key>         delete a key",
  "  scan [prefix]        list keys (key, version, size) in order",
  "  help                 this text",
];

export function runCommand(args: string[], store: Store, text: { encode(s: string): Uint8Array; decode(b: Uint8Array): string }): Output {
  const out: Output = { code: 0, stdout: [], stderr: [] };
  const fail = (msg: string, code = 1) => {
    out.code = code;
    out.stderr.push(`keel: ${msg}`);
    return out;
  };
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
        out.stdout.push(store.put(rest[0], text.encode(rest[1]), undefined));
        return out;
      }
      case "delete": {
        if (rest.length !== 1) return fail("delete takes one key", 2);
        if (!store.delete(rest[0], undefined)) return fail(`key ${JSON.stringify(rest[0])} does not exist`);
        return out;
      }
      case "scan": {
        if (rest.length > 1) return fail("scan takes at most a prefix", 2);
        let cursor: string | undefined;
        do {
          const page = store.scan(rest[0] ?? "", cursor, 1000);
          for (const e of page.entries) out.stdout.push(`${e.key}\t${e.version}\t${e.value.length}`);
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined);
        return out;
      }
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
    const p = (e as { payload?: { tag?: string; val?: string } })?.payload ?? (e as { tag?: string; val?: string });
    return fail(p?.tag ? `${p.tag}${p.val ? ": " + p.val : ""}` : String(e));
  }
}
