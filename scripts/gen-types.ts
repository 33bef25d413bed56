// `pnpm typecheck`'s first step: TypeScript declarations for every component's world, generated
// from wit/ with jco's guest types, into build/types/<component>/ (`declare module
// "keel:storage/kv@0.1.0"` …), plus build/types/all/: one copy of each interface for the root
// tsconfig (the same interface generates the same file in every world that uses it; a
// difference is an error here rather than a "duplicate identifier" in tsc).
import fs from "node:fs";
import path from "node:path";
import { types } from "@bytecodealliance/jco";
import { ROOT, readComponentsConfig } from "./lib/project.ts";
import { stageWit } from "./lib/stage-wit.ts";

const OUT = path.join(ROOT, "build", "types");

/**
 * The components' view of the WIT as componentize-qjs (every TypeScript component here) lifts
 * and lowers it, which is not what jco's guest types describe (they follow jco's own bindings):
 *  - u64/s64 are a JS number, not a bigint (the project keeps them below 2^53: offsets, byte
 *    counts, milliseconds);
 *  - option<T> is `T | null` with `null` for none, not `T | undefined` (record fields too:
 *    `field: T | null`, always present, not `field?: T`) — except `flags`, whose members jco
 *    also writes `name?: boolean` and which the engine reads as false when absent.
 * (jco's transpiled JS, which the Node host calls, does use bigint and undefined; the host
 * converts at that boundary.) Rewriting the generated text keeps the types saying what the
 * engine does, with one rule here rather than casts in every component.
 */
export function qjsView(dts: string): string {
  return dts
    .replace(/\bbigint\b/g, "number")
    .replace(/ \| undefined\b/g, " | null")
    .replace(/^(\s+)([A-Za-z_$][\w$]*)\?: (?!boolean,)(.+),$/gm, "$1$2: $3 | null,");
}

export async function genTypes(): Promise<string[]> {
  const { components } = readComponentsConfig();
  fs.rmSync(OUT, { recursive: true, force: true });
  const staging = path.join(ROOT, "build", "types-wit");
  const shared = new Map<string, { text: string; from: string }>();
  const done: string[] = [];
  for (const [name, spec] of Object.entries(components)) {
    if (spec.engine === "wat" || spec.engine === "c" || spec.engine === "core") continue; // no TypeScript to check
    const witDir = stageWit(spec.wit, false, path.join(staging, name));
    const files = await types(witDir, { worldName: spec.world, guest: true });
    for (const [file, bytes] of Object.entries(files)) {
      let text = Buffer.from(bytes).toString("utf8");
      if (spec.engine === "qjs") text = qjsView(text);
      const dest = path.join(OUT, name, file);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.writeFileSync(dest, text);
      const seen = shared.get(file);
      if (seen && seen.text !== text) throw new Error(`gen-types: ${file} differs between ${seen.from} and ${name}`);
      shared.set(file, { text, from: name });
    }
    done.push(name);
  }
  for (const [file, { text }] of shared) {
    const dest = path.join(OUT, "all", file);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, text);
  }
  fs.rmSync(staging, { recursive: true, force: true });
  return done;
}

if (import.meta.main) {
  const t = Date.now();
  const done = await genTypes();
  process.stderr.write(`[gen-types] ${done.length} worlds → build/types/ in ${Date.now() - t} ms\n`);
}
