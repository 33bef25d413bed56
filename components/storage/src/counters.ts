// Durable counters for rare storage events (evictions, compactions, refused writes), shared by
// every instance on the data dir: one file per counter under `metrics/`, bumped under a lock.
// Not for per-request counts: each bump is a locked read and an fsynced write.
import { withLock, type Dir } from "@keel/wasi-dir";
import { encodeUtf8, decodeUtf8 } from "@keel/bytes";

const DIR = "metrics";
const NAME = /^[a-z_][a-z0-9_]{0,99}$/;

export class Counters {
  private readonly dir: Dir;
  private readonly now: () => number;
  constructor(dir: Dir, now: () => number) {
    this.dir = dir;
    this.now = now;
  }

  add(name: string, n: number): void {
    if (!NAME.test(name) || !(n > 0)) return;
    this.dir.mkdirp(DIR);
    const file = `${DIR}/${name}`;
    withLock(this.dir, file, this.now, () => {
      this.dir.writeAtomic(file, encodeUtf8(String(readNumber(this.dir, file) + n)));
    });
  }

  get(name: string): number {
    return readNumber(this.dir, `${DIR}/${name}`);
  }

  all(): { name: string; value: number }[] {
    return this.dir
      .list(DIR)
      .filter((n) => NAME.test(n))
      .sort()
      .map((name) => ({ name, value: this.get(name) }));
  }
}

function readNumber(dir: Dir, file: string): number {
  const raw = dir.read(file);
  const v = raw ? Number(decodeUtf8(raw)) : 0;
  return Number.isFinite(v) ? v : 0;
}
