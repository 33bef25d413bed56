// The WASI the Node host gives its components, by package (cli, clocks, filesystem, http, io,
// random, sockets), in the shape jco's glue expects from preview2-shim's exports.
//
// NOTE: importing preview2-shim starts its I/O worker thread (synckit: a second V8 isolate,
// ~27 MB resident) and costs ~40 ms of start-up, though a node serving KV requests never calls
// into it: files are ours (wasi-filesystem.ts), and so are what the components call on every
// request — environment, exit, clocks, random, stdout/stderr. The rest (streams and pollables,
// outgoing HTTP for sync and mesh, sockets, clock subscriptions, stdin) is preview2-shim's,
// loaded with a synchronous require() the first time a component uses it. Until then each of
// those exports is a stand-in that forwards every operation (call, `new`, statics, `prototype`,
// `instanceof`) to the real one, so the glue's class checks see the shim's classes.
import fs from "node:fs";
import { randomBytes } from "node:crypto";
import { filesystem } from "./wasi-filesystem.ts";
import { loadShim, shimLoaded } from "./shim.ts";

/** A stand-in for export `name` of the shim's `pkg/iface`, loading the shim on first use. */
function deferred(pkg: string, iface: string, name: string, ownInstances?: (v: unknown) => boolean): unknown {
  const real = () => loadShim(`wasi:${pkg}/${iface}#${name}`)[pkg][iface][name] as object;
  // `function` (not an arrow): the target must be constructible for `new` to reach the trap.
  return new Proxy(function deferredExport() {}, {
    get: (_, key) => {
      if (key === Symbol.hasInstance && ownInstances) {
        return (v: unknown) => ownInstances(v) || (shimLoaded() && v instanceof (real() as never));
      }
      return Reflect.get(real(), key);
    },
    has: (_, key) => Reflect.has(real(), key),
    apply: (_, self, args) => Reflect.apply(real() as never, self, args),
    construct: (_, args) => Reflect.construct(real() as never, args),
  });
}

/** An interface whose exports are all deferred to the shim, except those given in `own`. */
function deferredInterface(pkg: string, iface: string, own: Record<string, unknown> = {}, ownInstances: Record<string, (v: unknown) => boolean> = {}): Record<string, unknown> {
  const made = new Map<string, unknown>(Object.entries(own));
  return new Proxy({}, {
    get: (_, name) => {
      if (typeof name !== "string") return undefined;
      if (!made.has(name)) made.set(name, deferred(pkg, iface, name, ownInstances[name]));
      return made.get(name);
    },
  });
}

// --- cli: environment and exit are ours; stdout and stderr write straight to fds 1 and 2 ---

let env: [string, string][] = [];

/** The environment the components see (the host decides it: config.ts componentEnv). */
export function setEnv(vars: Record<string, string>): void {
  env = Object.entries(vars);
}

/**
 * wasi:io/streams#output-stream for the process's stdout or stderr: a blocking write of what
 * the guest gives (a component's log line). `subscribe` returns a pollable that is always
 * ready, from the shim (loading it): no Keel component polls stdio.
 */
class StdioOutput {
  readonly #fd: number;
  constructor(fd: number) {
    this.#fd = fd;
  }
  checkWrite(): bigint {
    return 1n << 20n;
  }
  write(bytes: Uint8Array): void {
    this.#writeAll(bytes);
  }
  blockingWriteAndFlush(bytes: Uint8Array): void {
    this.#writeAll(bytes);
  }
  flush(): void {}
  blockingFlush(): void {}
  subscribe(): unknown {
    return readyPollable();
  }
  [Symbol.dispose](): void {}
  #writeAll(bytes: Uint8Array): void {
    let off = 0;
    let waited = 0;
    while (off < bytes.length) {
      try {
        off += fs.writeSync(this.#fd, bytes, off, bytes.length - off);
      } catch (e) {
        // A full non-blocking pipe: wait a millisecond and retry, for up to a second (a reader
        // that stopped reading must not stall the node); anything else (a closed pipe) drops
        // the rest of the line.
        if ((e as NodeJS.ErrnoException).code !== "EAGAIN" || waited++ >= 1000) return;
        Atomics.wait(PAUSE, 0, 0, 1);
      }
    }
  }
}

/** A pollable that is ready now: the shim's zero-duration clock subscription. */
function readyPollable(): unknown {
  return (loadShim("wasi:io/streams#[method]output-stream.subscribe").clocks.monotonicClock.subscribeDuration as (d: bigint) => unknown)(0n);
}

const PAUSE = new Int32Array(new SharedArrayBuffer(4));
const stdout = new StdioOutput(1);
const stderr = new StdioOutput(2);
const isStdio = (v: unknown) => v === stdout || v === stderr;

const cli = {
  environment: {
    getEnvironment: () => env,
    getArguments: (): string[] => [],
    initialCwd: (): string | undefined => undefined,
  },
  exit: {
    exit(status: { tag: string }): never {
      process.exit(status.tag === "err" ? 1 : 0);
    },
    exitWithCode(code: number): never {
      process.exit(code);
    },
  },
  stdout: { getStdout: () => stdout },
  stderr: { getStderr: () => stderr },
  stdin: deferredInterface("cli", "stdin"),
  terminalInput: deferredInterface("cli", "terminalInput"),
  terminalOutput: deferredInterface("cli", "terminalOutput"),
  terminalStdin: { getTerminalStdin: (): undefined => undefined },
  terminalStdout: { getTerminalStdout: (): undefined => undefined },
  terminalStderr: { getTerminalStderr: (): undefined => undefined },
};

// --- clocks: reading them is ours; subscribing (a pollable) is the shim's ---

const clocks = {
  monotonicClock: deferredInterface("clocks", "monotonicClock", {
    now: () => process.hrtime.bigint(),
    resolution: () => 1n,
  }),
  wallClock: {
    now() {
      const ms = Date.now();
      return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1_000_000 };
    },
    resolution: () => ({ seconds: 0n, nanoseconds: 1_000_000 }),
  },
};

// --- random: node:crypto ---

const u64 = () => randomBytes(8).readBigUInt64LE(0);
const bytes = (len: bigint | number) => new Uint8Array(randomBytes(Number(len)));
let seed: [bigint, bigint] | undefined;
const random = {
  random: { getRandomBytes: bytes, getRandomU64: u64 },
  insecure: { getInsecureRandomBytes: bytes, getInsecureRandomU64: u64 },
  insecureSeed: { insecureSeed: () => (seed ??= [u64(), u64()]) },
};

// --- io, http, sockets: the shim's, except that an output stream may be our stdio ---

const io = {
  error: deferredInterface("io", "error"),
  poll: deferredInterface("io", "poll"),
  streams: deferredInterface("io", "streams", {}, { OutputStream: isStdio }),
};

const lazyPackage = (pkg: string) => new Proxy({}, {
  get: (_, iface) => (typeof iface === "string" ? deferredInterface(pkg, iface) : undefined),
});

/** WASI packages by name, as the host resolves `wasi:<pkg>/<iface>` imports. */
export const WASI: Record<string, Record<string, unknown>> = {
  cli, clocks, filesystem, random, io,
  http: lazyPackage("http"),
  sockets: lazyPackage("sockets"),
};
