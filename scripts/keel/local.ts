// The `keel` commands that need no running node: they run the repo's own scripts (build, serve,
// budgets, the Node host through scripts/keel.mjs) and the cli component (dist/cli.cwasm under
// `wasmtime run`) on a data dir. Nothing here re-implements what those do.
import { spawn, type StdioOptions } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { DIST, ROOT, tool } from "../lib/project.ts";
import { loadConfig } from "../../host/src/config.ts";
import { DEFAULT_CONFIG } from "../serve.ts";
import { CliError, EXIT } from "./errors.ts";

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run a child to its end. With `inherit` it shares this terminal (and gets the signals this
 * process gets); otherwise its output is collected.
 */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; stdio?: StdioOptions; input?: string | fs.ReadStream } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const stdio: StdioOptions = opts.stdio ?? [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"];
    const child = spawn(cmd, args, { cwd: ROOT, env: opts.env ?? process.env, stdio });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d) => (stdout += d));
    child.stderr?.on("data", (d) => (stderr += d));
    // A child that exits without reading all its input (a refused import) is not an error here.
    child.stdin?.on("error", () => undefined);
    if (child.stdin && opts.input !== undefined) {
      if (typeof opts.input === "string") child.stdin.end(opts.input);
      else opts.input.pipe(child.stdin);
    }
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      process.off("SIGINT", forward);
      process.off("SIGTERM", forward);
      resolve({ code: code ?? (signal === "SIGINT" ? 130 : signal === "SIGTERM" ? 143 : 1), stdout, stderr });
    });
  });
}

/** A repo script on this Node (24: it runs .ts), sharing the terminal; resolves to its exit code. */
export async function script(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return (await run(process.execPath, [path.join(ROOT, file), ...args], { env, stdio: "inherit" })).code;
}

export const DATA_COMMANDS = ["verify", "compact", "export", "import"] as const;
export type DataCommand = (typeof DATA_COMMANDS)[number];

/**
 * The cli component on a data dir: `wasmtime run --dir <data>::/data dist/cli.cwasm <cmd>`,
 * with the node's config (storage limits and retention; no auth secrets) as KEEL_NODE_CONFIG.
 */
export function dataCommandLine(cmd: DataCommand, dataDir: string, configFile: string | undefined, env: NodeJS.ProcessEnv = process.env): { cmd: string; args: string[]; env: NodeJS.ProcessEnv } {
  const dir = path.resolve(dataDir);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    if (cmd !== "import") throw new CliError(`data dir ${dir} does not exist (--data or KEEL_DATA)`, EXIT.USAGE, "no_data_dir");
    fs.mkdirSync(dir, { recursive: true });
  }
  const cwasm = path.join(DIST, "cli.cwasm");
  const wasm = path.join(DIST, "cli.wasm");
  const artifact = fs.existsSync(cwasm) ? cwasm : wasm;
  if (!fs.existsSync(artifact)) throw new CliError(`${path.relative(ROOT, wasm)} is not built: run keel build`, EXIT.FAILED, "not_built");
  const config = loadConfig(configFile ?? env.KEEL_CONFIG ?? DEFAULT_CONFIG);
  const nodeConfig = JSON.stringify({ ...config.raw, auth: { ...config.raw.auth, keys: [], resolved_keys: [] } });
  const args = ["run", "--dir", `${dir}::/data`, "--env", "KEEL_NODE_CONFIG", ...(artifact === cwasm ? ["--allow-precompiled"] : []), artifact, cmd];
  return { cmd: tool("wasmtime"), args, env: { ...env, KEEL_NODE_CONFIG: nodeConfig } };
}

export interface ImportCount {
  keys: number;
  records: number;
  topics: number;
}

/** `imported 1 keys and 2 records in 1 topics` → numbers. */
export function parseImported(line: string): ImportCount | null {
  const m = /imported (\d+) keys and (\d+) records in (\d+) topics/.exec(line);
  return m ? { keys: Number(m[1]), records: Number(m[2]), topics: Number(m[3]) } : null;
}

/** `reclaimed N bytes` → N. */
export function parseReclaimed(line: string): number | null {
  const m = /reclaimed (\d+) bytes/.exec(line);
  return m ? Number(m[1]) : null;
}
