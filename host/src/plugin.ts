// Merge plug-ins: users' components exporting keel:conflict/merge. Checked before use, on both
// hosts: the build (composed.wasm) and the Node host (loaded from edge.toml, no rebuild).
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ConfigError } from "./config-error.ts";
import { transpileForHost } from "./glue.ts";
import { loadJco } from "./jco.ts";

export const MERGE_INTERFACE = "keel:conflict/merge@0.1.0";

/** The plug-in's bytes, after checking it is a component that exports the merge interface. */
export async function checkMergePlugin(file: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new ConfigError(`merge plug-in ${file}: cannot read it (${(e as Error).message})`);
  }
  const { componentWit } = loadJco();
  let wit: string;
  try {
    wit = await componentWit(bytes);
  } catch (e) {
    throw new ConfigError(`merge plug-in ${file} is not a WebAssembly component (${String((e as Error).message ?? e).split("\n")[0]})`);
  }
  const exports = [...wit.matchAll(/^\s*export ([^;]+);/gm)].map((m) => m[1].trim());
  if (!exports.includes(MERGE_INTERFACE)) {
    throw new ConfigError(`merge plug-in ${file} does not export ${MERGE_INTERFACE} (world keel:conflict/merge-plugin); it exports: ${exports.join(", ") || "nothing"}`);
  }
  return bytes;
}

/** Transpile a checked plug-in for the Node host (sync instantiation), cached by content. */
export async function transpilePlugin(bytes: Uint8Array): Promise<string> {
  const hash = crypto.createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  // v2: the glue is patched (glue.ts); plug-ins transpiled before are not reused.
  const dir = path.join(os.tmpdir(), `keel-merge-plugin-v2-${hash}`);
  const entry = path.join(dir, "merge-plugin.js");
  if (fs.existsSync(entry)) return dir;
  const tmp = `${dir}.${process.pid}.tmp`;
  for (const [file, data] of await transpileForHost(bytes, "merge-plugin")) {
    fs.mkdirSync(path.dirname(path.join(tmp, file)), { recursive: true });
    fs.writeFileSync(path.join(tmp, file), data);
  }
  fs.renameSync(tmp, dir);
  return dir;
}

/** `[conflict] plugin` from a config, resolved against the config file's directory. */
export function pluginPath(raw: Record<string, unknown>, configFile: string): string | undefined {
  const p = (raw.conflict as { plugin?: unknown } | undefined)?.plugin;
  if (p === undefined || p === "") return undefined;
  if (typeof p !== "string") throw new ConfigError(`${configFile}: conflict.plugin must be a path to a .wasm component`);
  return path.resolve(path.dirname(path.resolve(configFile)), p);
}
