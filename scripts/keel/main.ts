// `keel`: the operator command. Against a running node (--url, default http://$KEEL_ADDR):
// health, resources, queue, sync, mesh, conflicts, metrics; on this machine: token, up, serve,
// build, budgets and verify | compact | export | import over a data dir. `--json` on every
// command. Exit codes: errors.ts (and README § "The keel command").
// Launched by bin/keel.mjs (`pnpm keel …`, `npx keel …`), which finds a Node that runs .ts.
import fs from "node:fs";
import path from "node:path";
import { Command, CommanderError } from "commander";
import { ROOT } from "../lib/project.ts";
import { call, resolveTarget, resolveUrl, type Answer, type Target, type TargetOptions } from "./client.ts";
import { CliError, EXIT } from "./errors.ts";
import { withProgress } from "./progress.ts";
import * as render from "./render.ts";
import { localToken } from "../token.ts";
import { DATA_COMMANDS, dataCommandLine, parseImported, parseReclaimed, run, script, type DataCommand } from "./local.ts";
import { cloudSnippet, natsDown, natsStatus, natsUp } from "./nats.ts";

interface Globals extends TargetOptions {
  json?: boolean;
}

type Json = Record<string, unknown>;

const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version;

/** What a command prints: JSON on --json, else the human text. */
function out(g: Globals, value: unknown, human: () => string): void {
  process.stdout.write(g.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

/** The global options wherever they were written (before or after the command). */
const globals = (cmd: Command): Globals => cmd.optsWithGlobals() as Globals;

async function remote(cmd: Command, method: string, route: string, label: string, body?: unknown): Promise<{ target: Target; answer: Answer }> {
  const g = globals(cmd);
  const target = resolveTarget(g);
  const answer = await withProgress(label, !!g.json, () => call(target, method, route, body));
  return { target, answer };
}

/** Whole number options (`--max 10`). */
function whole(name: string, max: number) {
  return (v: string) => {
    if (!/^\d{1,15}$/.test(v) || Number(v) > max) throw new CliError(`${name} must be a whole number from 0 to ${max}`, EXIT.USAGE, "bad_argument");
    return Number(v);
  };
}

export function program(): Command {
  const p = new Command("keel")
    .description("Operate Keel nodes: a running node over HTTP, or this checkout and its data dirs.")
    .version(VERSION, "-V, --version")
    .option("--url <url>", "node address (default: http://$KEEL_ADDR, else http://127.0.0.1:8080)")
    .option("--token <jwt>", "bearer token (default: $KEEL_TOKEN, else one minted from the local data dir's dev secret)")
    .option("--data <dir>", "data dir (default: $KEEL_DATA, else ./data)")
    .option("--config <file>", "node config (default: $KEEL_CONFIG, else deployment/edge.toml)")
    .option("--timeout <seconds>", "give up on a call after this long", "30")
    .option("--json", "machine-readable JSON on stdout")
    .showHelpAfterError(false)
    .addHelpText("after", `
Exit codes: 0 ok · 1 the node answered with an error or a command failed · 2 bad arguments ·
3 node unreachable · 4 credential refused (401/403) · 5 not available on this node (501).`);

  // ---- a running node ----------------------------------------------------------------
  p.command("health").description("is the node up (no token needed)").action(async (_o, cmd: Command) => {
    const { target, answer } = await remote(cmd, "GET", "/_keel/health", "asking for health");
    out(globals(cmd), { url: target.url, ms: +answer.ms.toFixed(1), ...(answer.body as Json) }, () => render.health(answer.body as Json, target.url, answer.ms));
  });

  p.command("resources").description("storage use against the [storage] limits").action(async (_o, cmd: Command) => {
    const { answer } = await remote(cmd, "GET", "/_keel/resources", "reading resources");
    out(globals(cmd), answer.body, () => render.resources(answer.body as Json));
  });

  p.command("queue").description("records waiting to sync, per topic and for keys (@outbox)").action(async (_o, cmd: Command) => {
    const { answer } = await remote(cmd, "GET", "/_keel/sync/queue", "reading the sync queue");
    const q = (answer.body as { queue?: unknown }).queue;
    out(globals(cmd), answer.body, () => render.queue(Array.isArray(q) ? q : []));
  });

  const sync = p.command("sync").description("edge ⇄ cloud sync on this node");
  sync.command("status").description("enabled, paused, last success and error, lag per queue").action(async (_o, cmd: Command) => {
    const { answer } = await remote(cmd, "GET", "/_keel/sync/status", "reading sync status");
    out(globals(cmd), answer.body, () => render.syncStatus(answer.body as Json));
  });
  sync.command("now").description("run a sync now and wait for it").action(async (_o, cmd: Command) => {
    const g = globals(cmd);
    const target = resolveTarget(g);
    let summary: Json;
    let failed: CliError | undefined;
    try {
      summary = (await withProgress("syncing", !!g.json, () => call(target, "POST", "/_keel/sync/now"))).body as Json;
    } catch (e) {
      // 502: the run failed against the cloud; its summary says how far it got.
      if (!(e instanceof CliError) || e.status !== 502 || !e.body) throw e;
      summary = e.body as Json;
      failed = e;
    }
    out(g, summary, () => render.syncRun(summary));
    if (failed) process.exitCode = EXIT.FAILED;
  });
  for (const [name, what] of [["pause", "stop syncing until resumed (writes still queue)"], ["resume", "sync again"]] as const) {
    sync.command(name).description(what).action(async (_o, cmd: Command) => {
      const { answer } = await remote(cmd, "POST", `/_keel/sync/${name}`, `${name === "pause" ? "pausing" : "resuming"} sync`);
      out(globals(cmd), answer.body, () => `sync ${(answer.body as { paused?: boolean }).paused ? "paused" : "resumed"}`);
    });
  }

  const mesh = p.command("mesh").description("peer-to-peer mesh of this node (components/mesh/README.md)");
  mesh.command("status").description("this node's mesh state").action(async (_o, cmd: Command) => {
    const { answer } = await remote(cmd, "GET", "/_keel/mesh/status", "reading mesh status");
    out(globals(cmd), answer.body, () => render.generic(answer.body));
  });
  mesh.command("peers").description("known peers").action(async (_o, cmd: Command) => {
    const { answer } = await remote(cmd, "GET", "/_keel/mesh/peers", "reading mesh peers");
    out(globals(cmd), answer.body, () => render.generic(answer.body));
  });
  mesh.command("join").description("add a peer").argument("<id>", "the peer's node id").argument("<url>", "the peer's address (http://host:port)")
    .action(async (id: string, url: string, _o, cmd: Command) => {
      const peer = resolveUrl(url, {});
      const { answer } = await remote(cmd, "POST", "/_keel/mesh/join", `joining ${id}`, { id, url: peer });
      out(globals(cmd), answer.body, () => render.generic(answer.body));
    });
  mesh.command("leave").description("drop a peer").argument("<id>", "the peer's node id").action(async (id: string, _o, cmd: Command) => {
    const { answer } = await remote(cmd, "POST", "/_keel/mesh/leave", `leaving ${id}`, { id });
    out(globals(cmd), answer.body, () => render.generic(answer.body));
  });

  p.command("conflicts").description("the conflict log: key, both versions, outcome, strategy")
    .option("--from <offset>", "first offset", whole("--from", Number.MAX_SAFE_INTEGER), 0)
    .option("--max <n>", "at most this many (1-1000)", whole("--max", 1000), 100)
    .action(async (o: { from: number; max: number }, cmd: Command) => {
      if (o.max < 1) throw new CliError("--max must be from 1 to 1000", EXIT.USAGE, "bad_argument");
      const { answer } = await remote(cmd, "GET", `/_keel/conflicts?from=${o.from}&max=${o.max}`, "reading conflicts");
      out(globals(cmd), answer.body, () => render.conflicts(answer.body as { conflicts: Json[]; next: number }));
    });

  p.command("metrics").description("the node's Prometheus metrics as a table").option("--raw", "the Prometheus text as the node sent it")
    .action(async (o: { raw?: boolean }, cmd: Command) => {
      const { answer } = await remote(cmd, "GET", "/_keel/metrics", "reading metrics");
      if (o.raw) {
        process.stdout.write(answer.text);
        return;
      }
      const families = render.parseMetrics(answer.text);
      out(globals(cmd), { families }, () => render.metrics(families));
    });

  // ---- this machine ---------------------------------------------------------------------
  p.command("token").description("mint a token the local node accepts (its dev secret or KEEL_JWT_SECRET)")
    .option("--scope <scopes>", "space- or comma-separated scopes", "read write admin")
    .option("--node <id>", "a node credential for sync and mesh, carrying this node id")
    .option("--sub <name>", "subject", "local-admin")
    .option("--ttl <seconds>", "lifetime in seconds", whole("--ttl", 31_536_000), 3600)
    .action((o: { scope: string; node?: string; sub: string; ttl: number }, cmd: Command) => {
      const g = globals(cmd);
      let t;
      try {
        t = localToken({ scope: o.scope, node: o.node, sub: o.sub, ttlSeconds: o.ttl, dataDir: g.data, configFile: g.config });
      } catch (e) {
        throw new CliError((e as Error).message, (e as Error).message.startsWith("--") ? EXIT.USAGE : EXIT.FAILED, "token");
      }
      out(g, t, () => t.token);
    });

  /** Environment for a node started from here: --url/--data/--config become KEEL_*. */
  const nodeEnv = (g: Globals): NodeJS.ProcessEnv => {
    const env = { ...process.env };
    if (g.url) env.KEEL_ADDR = new URL(resolveUrl(g.url)).host;
    if (g.data) env.KEEL_DATA = path.resolve(g.data);
    if (g.config) env.KEEL_CONFIG = path.resolve(g.config);
    return env;
  };
  const exitWith = (code: number) => {
    process.exitCode = code;
  };

  p.command("up").description("set up what is missing, build, and run a node on the Node host (= npm start)")
    .allowExcessArguments(false)
    .action(async (_o, cmd: Command) => exitWith(await script("scripts/keel.mjs", ["start"], nodeEnv(globals(cmd)))));

  p.command("serve").description("run the node under wasmtime serve, as on an edge box (= pnpm serve)")
    .option("--lite", "serve dist/edge-lite.cwasm (the Pi Zero build)")
    .argument("[wasmtime-flags...]", "extra flags for wasmtime serve, after --")
    .action(async (flags: string[], o: { lite?: boolean }, cmd: Command) => {
      exitWith(await script("scripts/keel.mjs", ["exec", "scripts/serve.ts", ...(o.lite ? ["--lite"] : []), ...flags], nodeEnv(globals(cmd))));
    });

  p.command("build").description("build the components and compositions (= pnpm build)")
    .option("--force", "rebuild everything").option("--merge <plugin.wasm>", "compose this merge plug-in")
    .action(async (o: { force?: boolean; merge?: string }, cmd: Command) => {
      const t0 = Date.now();
      const code = await script("scripts/build.ts", [...(o.force ? ["--force"] : []), ...(o.merge ? ["--merge", o.merge] : [])]);
      if (globals(cmd).json) process.stdout.write(`${JSON.stringify({ ok: code === 0, seconds: +((Date.now() - t0) / 1000).toFixed(1) })}\n`);
      exitWith(code);
    });

  p.command("budgets").description("sizes against deployment/edge.toml [budgets] (= pnpm budgets)")
    .action(async (_o, cmd: Command) => exitWith(await script("scripts/budgets.ts", globals(cmd).json ? ["--json"] : [])));

  const nats = p.command("nats").description("a local NATS JetStream cluster for a cloud node with [cloud] store = \"jetstream\"");
  const natsDir = (o: { dir?: string }) => path.resolve(o.dir ?? process.env.KEEL_NATS_DIR ?? path.join(ROOT, ".nats"));
  nats.command("up").description("install nats-server if needed (go install) and start a cluster on loopback in the background")
    .option("--servers <n>", "servers in the cluster (1 to 5)", whole("--servers", 5), 3)
    .option("--port <port>", "client port of the first server (the next ones follow; cluster ports +2000)", whole("--port", 63_000), 4222)
    .option("--dir <dir>", "store dirs, logs and state (default: .nats in the repo, or $KEEL_NATS_DIR)")
    .action(async (o: { servers: number; port: number; dir?: string }, cmd: Command) => {
      const g = globals(cmd);
      const say = (line: string) => (g.json ? undefined : process.stderr.write(`${line}\n`));
      const r = await natsUp({ dir: natsDir(o), servers: o.servers, port: o.port }, say);
      out(g, r, () => `JetStream ready in ${r.ready_seconds.toFixed(1)} s. Point a cloud node at it in edge.toml:\n\n${cloudSnippet(r.urls)}\n\nStop it with: pnpm nats down`);
    });
  nats.command("down").description("stop the cluster keel nats up started (its data stays in --dir)")
    .option("--dir <dir>", "as given to keel nats up")
    .action(async (o: { dir?: string }, cmd: Command) => {
      const r = await natsDown(natsDir(o));
      out(globals(cmd), r, () => `stopped ${r.stopped.length} server${r.stopped.length === 1 ? "" : "s"}`);
    });
  nats.command("status").description("which servers of the local cluster run, and whether JetStream answers")
    .option("--dir <dir>", "as given to keel nats up")
    .action(async (o: { dir?: string }, cmd: Command) => {
      const r = await natsStatus(natsDir(o));
      out(globals(cmd), r, () => `${render.generic(r.servers)}\njetstream: ${r.jetstream ? "ready" : "not answering"}`);
      if (!r.jetstream) process.exitCode = EXIT.UNREACHABLE;
    });

  for (const name of DATA_COMMANDS) dataCommand(p, name);
  return p;
}

const DATA_HELP: Record<DataCommand, string> = {
  verify: "check every checksum in the data dir; exit 1 if anything is corrupt",
  compact: "reclaim dead space in the data dir (temp files, torn tails, retention)",
  export: "every key and record of the data dir as JSON lines (stdout, or --out)",
  import: "read export lines (a file, or stdin) into the data dir",
};

function dataCommand(p: Command, name: DataCommand): void {
  const c = p.command(name).description(DATA_HELP[name]);
  if (name === "export") c.option("--out <file>", "write to this file instead of stdout");
  if (name === "import") c.argument("[file]", "export lines to read (default: stdin)");
  c.action(async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const o = args[args.length - 2] as { out?: string };
    const file = name === "import" ? (args[0] as string | undefined) : undefined;
    const g = globals(cmd);
    const dataDir = g.data ?? process.env.KEEL_DATA ?? "data";
    const line = dataCommandLine(name, dataDir, g.config);
    if (file !== undefined && !fs.existsSync(file)) throw new CliError(`${file}: no such file`, EXIT.USAGE, "no_file");
    const input = name === "import" ? (file !== undefined ? fs.createReadStream(file) : (process.stdin as unknown as fs.ReadStream)) : undefined;
    const r = await withProgress(`${name} ${path.resolve(dataDir)}`, !!g.json, () => run(line.cmd, line.args, { env: line.env, input }));
    const lines = r.stdout.split("\n").filter(Boolean);
    const problem = (r.stderr.split("\n").find((l) => l.startsWith("keel: ")) ?? r.stderr.trim().split("\n").pop() ?? "").replace(/^keel: /, "");
    if (name === "export") {
      if (r.code !== 0) throw new CliError(`export failed: ${problem}`, EXIT.FAILED, "export_failed");
      if (o.out) fs.writeFileSync(o.out, r.stdout);
      else process.stdout.write(r.stdout);
      if (o.out && g.json) process.stdout.write(`${JSON.stringify({ file: o.out, lines: lines.length })}\n`);
      return;
    }
    if (name === "verify") {
      const ok = r.code === 0;
      if (!ok && !lines.length) throw new CliError(`verify failed: ${problem}`, EXIT.FAILED, "verify_failed");
      out(g, { ok, problems: ok ? [] : lines }, () => (ok ? lines.join("\n") : `${lines.join("\n")}\n${problem}`));
      if (!ok) process.exitCode = EXIT.FAILED;
      return;
    }
    if (r.code !== 0) throw new CliError(`${name} failed: ${problem}`, r.code === 2 ? EXIT.USAGE : EXIT.FAILED, `${name}_failed`);
    if (name === "compact") out(g, { reclaimed_bytes: parseReclaimed(lines[0] ?? "") }, () => lines.join("\n"));
    else out(g, parseImported(lines[0] ?? "") ?? { output: lines }, () => lines.join("\n"));
  });
}

/** Print a failure as one line (JSON with --json) and set the exit code. */
function report(e: unknown, json: boolean): void {
  const err = e instanceof CliError ? e : new CliError((e as Error)?.message ?? String(e), EXIT.FAILED, "error");
  if (json) process.stderr.write(`${JSON.stringify({ error: err.code, message: err.message, exit: err.exit, ...(err.status ? { status: err.status } : {}) })}\n`);
  else process.stderr.write(`keel: ${err.message}\n`);
  process.exitCode = err.exit;
}

export async function main(argv: string[]): Promise<void> {
  const p = program();
  const json = argv.includes("--json");
  // Commander's own errors (unknown command or option, missing argument) as one line, exit 2.
  const apply = (c: Command) => {
    c.exitOverride().configureOutput({ outputError: () => undefined });
    c.commands.forEach(apply);
  };
  apply(p);
  try {
    await p.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0 || e.code === "commander.helpDisplayed" || e.code === "commander.version") return;
      if (e.code === "commander.help") {
        // A command group with no subcommand (`keel sync`): its help, then the usage exit.
        process.exitCode = EXIT.USAGE;
        return;
      }
      return report(new CliError(`${e.message.replace(/^error: /, "")} (keel --help)`, EXIT.USAGE, "usage"), json);
    }
    report(e, json);
  }
}

if (import.meta.main) await main(process.argv.slice(2));
