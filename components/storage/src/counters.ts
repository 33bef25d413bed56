// Durable counters for rare storage events (evictions, compactions, refused writes), shared by
// every instance on the data dir: one file per counter under `metrics/`, bumped under a lock.
// Not for per-request counts: each bump is a locked read and an fsynced write.
import type { Dir } from "./dir.ts";
import { withLock } from "./lock.ts";
import { encodeUtf8, decodeUtf8 } from "./utf8.ts";

const DIR = "metrics";
const NAME = /^[a-z_][a-z0-9_]{0,99}$/;

export interface CounterOptions {
  /** fsync each bump (rare events); false for per-request counts, which may lose the last bumps on power loss. */
  durable: boolean;
  /** Spread bumps over this many files (`<name>.<shard>`) so concurrent instances rarely wait. */
  shards: number;
}

export class Counters {
  private readonly dir: Dir;
  private readonly now: () => number;
  private readonly opts: CounterOptions;

  constructor(dir: Dir, now: () => number, opts: CounterOptions = { durable: true, shards: 1 }) {
    this.dir = dir;
    this.now = now;
    this.opts = opts;
  }

  add(name: string, n: number): void {
    if (!NAME.test(name) || !(n > 0)) return;
    this.dir.mkdirp(DIR);
    const file = this.opts.shards > 1 ? `${DIR}/${name}.${Math.floor(Math.random() * this.opts.shards)}` : `${DIR}/${name}`;
    withLock(this.dir, file, this.now, () => {
      this.dir.writeAtomic(file, encodeUtf8(String(readNumber(this.dir, file) + n)), this.opts.durable);
    });
  }

  /** A counter's value: the sum of its file and any shards. */
  get(name: string): number {
    return this.all().find((c) => c.name === name)?.value ?? 0;
  }

  all(): { name: string; value: number }[] {
    const sums = new Map<string, number>();
    for (const file of this.dir.list(DIR)) {
      const m = /^([a-z_][a-z0-9_]{0,99})(\.\d{1,3})?$/.exec(file);
      if (!m) continue;
      sums.set(m[1], (sums.get(m[1]) ?? 0) + readNumber(this.dir, `${DIR}/${file}`));
    }
    return [...sums.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, value]) => ({ name, value }));
  }
}

function readNumber(dir: Dir, file: string): number {
  const raw = dir.read(file);
  const v = raw ? Number(decodeUtf8(raw)) : 0;
  return Number.isFinite(v) ? v : 0;
}
