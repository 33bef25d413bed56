// Durable counters, shared by every instance on the data dir, under `metrics/`:
//   - rare storage events (evictions, compactions, refused writes): one file per counter,
//     bumped under a lock with an fsynced write (`add`);
//   - series with labels (the gateway's requests by route class and status, latency buckets),
//     all in one file, folded in from request-log.ts's files about once a second under one
//     lock and one write (`fold`). Not fsynced: a power cut may lose the last second of
//     counts, never the file.
import { withLock, type Dir } from "@keel/wasi-dir";
import { encodeUtf8, decodeUtf8 } from "@keel/bytes";

const DIR = "metrics";
const NAME = /^[a-z_][a-z0-9_]{0,99}$/;
const SERIES_FILE = `${DIR}/series.json`;
/** `keel_…` with optional labels `{name="value",…}` (no quotes, backslashes or newlines in values). */
export const SERIES = /^keel_[a-z0-9_]{1,90}(\{[a-z_]+="[^"\\\n]{0,64}"(,[a-z_]+="[^"\\\n]{0,64}"){0,4}\})?$/;
/** More series than any Keel component makes; a bound so a bad caller cannot grow the file forever. */
const MAX_SERIES = 2000;

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

  /**
   * Add counts to the series under their lock: `collect` fills them in (reading whatever it
   * folds) and returns what to do once they are written (remove what it folded).
   */
  fold(collect: (into: Map<string, number>) => () => void): void {
    this.dir.mkdirp(DIR);
    withLock(this.dir, SERIES_FILE, this.now, () => {
      const counts = new Map<string, number>();
      const done = collect(counts);
      const all = this.series();
      for (const [name, value] of counts) {
        if (value > 0 && Number.isSafeInteger(value) && SERIES.test(name) && (all[name] !== undefined || Object.keys(all).length < MAX_SERIES)) all[name] = (all[name] ?? 0) + value;
      }
      this.dir.writeAtomic(SERIES_FILE, encodeUtf8(JSON.stringify(all)), false);
      done();
    });
  }

  get(name: string): number {
    return readNumber(this.dir, `${DIR}/${name}`);
  }

  /**
   * Every counter: one-file counters, then the series, each sorted by name. `extra` adds
   * counts not folded in yet; then the series are read under their lock, so a fold is never
   * seen half done (counters never go down).
   */
  all(extra?: (into: Map<string, number>) => void): { name: string; value: number }[] {
    const read = () => {
      const series = this.series();
      const more = new Map<string, number>();
      extra?.(more);
      for (const [name, value] of more) if (SERIES.test(name)) series[name] = (series[name] ?? 0) + value;
      return series;
    };
    // A node whose first counted thing is this read has no metrics dir yet (the lock lives there).
    if (extra) this.dir.mkdirp(DIR);
    const series = extra ? withLock(this.dir, SERIES_FILE, this.now, read) : read();
    return [
      ...this.dir.list(DIR).filter((n) => NAME.test(n)).sort().map((name) => ({ name, value: this.get(name) })),
      ...Object.keys(series).sort().map((name) => ({ name, value: series[name] })),
    ];
  }

  /** When the series were last written (0: never). */
  foldedAtMs(): number {
    return this.dir.stat(SERIES_FILE)?.mtimeMs ?? 0;
  }

  private series(): Record<string, number> {
    // Only this class writes the file; a damaged one (it is not fsynced) starts the series again.
    try {
      const raw = this.dir.read(SERIES_FILE);
      return Object.assign(Object.create(null) as Record<string, number>, raw ? (JSON.parse(decodeUtf8(raw)) as Record<string, number>) : {});
    } catch {
      return Object.create(null) as Record<string, number>;
    }
  }
}

function readNumber(dir: Dir, file: string): number {
  const raw = dir.read(file);
  const v = raw ? Number(decodeUtf8(raw)) : 0;
  return Number.isFinite(v) ? v : 0;
}
