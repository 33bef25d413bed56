// The sorted key index behind prefix scans: which keys exist, in key order, without listing the
// kv directory (a listing is O(keys), and at 10⁶ keys a scan that lists costs seconds). A small
// log-structured merge tree of hex key names (hex sorts and prefixes exactly as the key's bytes):
//
//   kv-index/journal-<seq>        keys created since the newest run, one per line, appended and
//                                 fsynced under kv-index/journal.lock before the key's file is
//                                 written (so the index never misses a key that exists)
//   kv-index/run-<from>-<to>      sorted, unique lines; written atomically (temp, fsync, rename).
//                                 A full journal becomes run-<seq>-<seq>; runs from..to merge into
//                                 one run-<from>-<to> that supersedes them
//   kv-index/built                marker: the index covers every key (a data dir written before
//                                 the index existed is listed once, under the journal lock)
//
// Only creations are recorded: a key whose file is gone (dropped tombstone, evicted) stays in the
// index until `rebuild` (compaction), and a scan skips it when it opens the file. A scan reads
// each run from a binary-searched start and stops once it has enough keys, so it costs
// O(log keys + limit), plus the journal (at most JOURNAL_BYTES).
//
// NOTE: concurrency. Appends and flushes hold the journal lock. A merge holds only the merge
// lock (without waiting: a busy merger means someone else is merging) and publishes its run
// atomically; readers ignore runs another run's range contains, so a reader sees the inputs or
// the merged run, never neither. A run deleted under a reader makes the scan start again.
import { withLock, type Dir } from "@keel/wasi-dir";
import { decodeUtf8, encodeUtf8 } from "@keel/bytes";

export const INDEX_DIR = "kv-index";
const JOURNAL_LOCK = `${INDEX_DIR}/journal`;
const MERGE_LOCK = `${INDEX_DIR}/merge.lock`;
const BUILT = `${INDEX_DIR}/built`;
/** A journal this big (≈ 300 keys of 12 bytes) is sorted into a run. */
export const JOURNAL_BYTES = 8192;
/** More runs than this are merged (newest first, sizes tiered: O(log keys) runs remain). */
export const MAX_RUNS = 4;
/** A merge lock older than this was left by a killed merger. */
const MERGE_STALE_MS = 120_000;
const CHUNK = 16 * 1024;

interface Run {
  name: string;
  from: number;
  to: number;
  size: number;
}

const pad = (n: number) => String(n).padStart(12, "0");
export const runName = (from: number, to: number) => `run-${pad(from)}-${pad(to)}`;
const isHexName = (s: string) => s.length > 0 && s.length % 2 === 0 && /^[0-9a-f]+$/.test(s);

/** A run's bytes: sorted unique hex names, one per line (exported for tools that seed a data dir). */
export function formatRun(hexNames: Iterable<string>): Uint8Array {
  return runBytes([...new Set(hexNames)].sort());
}

/** Names already sorted and unique, one per line. */
function runBytes(sorted: string[]): Uint8Array {
  return encodeUtf8(sorted.length ? sorted.join("\n") + "\n" : "");
}

export class KeyIndex {
  private readonly dir: Dir;
  private readonly now: () => number;
  /** Every key's hex name, from the kv directory: for the first build and `rebuild`. */
  private readonly listAll: () => string[];
  private readonly journalBytes: number;
  /** The journal this instance last appended to, and whether the index was built: cached. */
  private journalSeq: number | undefined;
  private built = false;

  constructor(dir: Dir, now: () => number, listAll: () => string[], journalBytes = JOURNAL_BYTES) {
    this.dir = dir;
    this.now = now;
    this.listAll = listAll;
    this.journalBytes = journalBytes;
  }

  /**
   * Record keys about to be created (call it under their locks, before their files are
   * written): one journal write and one flush however many there are.
   */
  add(...hexes: string[]): void {
    if (!hexes.length) return;
    this.ensureBuilt();
    const lines = hexes.map((h) => `\n${h}\n`).join("");
    let flushed = false;
    let written = "";
    withLock(this.dir, JOURNAL_LOCK, this.now, () => {
      // The journal this instance appended to last is still the one while its file exists: a
      // flush removes it and nothing writes that name again (one stat instead of a listing).
      let seq = this.journalSeq;
      let size = seq === undefined ? undefined : this.dir.stat(`${INDEX_DIR}/journal-${pad(seq)}`)?.size;
      if (seq === undefined || size === undefined) {
        seq = this.state().journal;
        size = this.dir.stat(`${INDEX_DIR}/journal-${pad(seq)}`)?.size ?? 0;
      }
      this.journalSeq = seq;
      const path = `${INDEX_DIR}/journal-${pad(seq)}`;
      // A leading newline: a line torn by a crash never joins the next one.
      this.dir.writeAt(path, size, encodeUtf8(lines), false);
      written = path;
      if (size + lines.length >= this.journalBytes) {
        flushed = this.flush(seq);
        written = "";
      }
    });
    // NOTE: group commit. The line is flushed after the lock is released: writers that came
    // while another flushed share its fdatasync instead of queueing behind it. The key's file
    // is written only after this returns, so the index never misses a key that is on disk.
    // A journal flushed meanwhile is gone: it is in a run, written durably, with our line.
    if (written) this.dir.sync(written);
    if (flushed) this.maybeMerge();
  }

  /**
   * Hex names ≥ `start` (and > `after` when given) that start with `prefix`, in order, lazily:
   * the caller stops pulling when it has enough.
   */
  *range(prefix: string, after: string | undefined): Generator<string> {
    this.ensureBuilt();
    for (let attempt = 0; ; attempt++) {
      const { runs, journals } = this.state();
      const start = after !== undefined && after >= prefix ? after : prefix;
      const sources: Iterator<string>[] = runs.map((r) => this.runFrom(`${INDEX_DIR}/${r.name}`, r.size, start));
      const pending = new Set<string>();
      for (const j of journals) for (const h of this.journalNames(j)) if (h >= start) pending.add(h);
      sources.push([...pending].sort()[Symbol.iterator]());
      const merged = mergeSorted(sources);
      for (;;) {
        let next: IteratorResult<string>;
        try {
          next = merged.next();
        } catch (e) {
          // A run merged away under us: read the new set of runs, going on after the last name.
          if (e instanceof RunGone && attempt < 3) break;
          throw e;
        }
        if (next.done) return;
        const h = next.value;
        if (after !== undefined && h <= after) continue;
        if (!h.startsWith(prefix)) {
          if (h > prefix) return;
          continue;
        }
        after = h;
        yield h;
      }
    }
  }

  /** List the kv directory into a fresh index (compaction; a data dir from before the index). */
  rebuild(): void {
    this.dir.mkdirp(INDEX_DIR);
    withLock(this.dir, JOURNAL_LOCK, this.now, () => this.buildLocked());
  }

  private ensureBuilt(): void {
    if (this.built || (this.built = this.dir.stat(BUILT) !== null)) return;
    this.dir.mkdirp(INDEX_DIR);
    withLock(this.dir, JOURNAL_LOCK, this.now, () => {
      if (!this.dir.stat(BUILT)) this.buildLocked();
    });
    this.built = true;
  }

  private buildLocked(): void {
    const { runs, journal, journals } = this.state();
    const keys = this.listAll();
    // NOTE: a fresh data dir (no key, no run, no journal: a node's first write) has nothing to
    // index, so no empty run is written; the first journal becomes the first run in time. Its
    // run and marker, each written and flushed with its directory, were four of the seven
    // flushes of a new node's first PUT.
    if (keys.length || runs.length || journals.length) {
      // The new run covers every seq so far and the current journal: all of them are superseded.
      this.dir.writeAtomic(`${INDEX_DIR}/${runName(0, journal)}`, formatRun(keys));
      for (const r of runs) this.dir.remove(`${INDEX_DIR}/${r.name}`);
      this.dir.remove(`${INDEX_DIR}/journal-${pad(journal)}`);
    }
    // The marker is not flushed: lost in a crash, it only makes the next write build again —
    // from the listing, which holds every key whose file was written (each is flushed before
    // its write is acknowledged), so the index still misses none.
    if (!this.dir.stat(BUILT)) this.dir.writeAtomic(BUILT, new Uint8Array(0), false);
  }

  /** The runs a scan reads now (oldest first): for tests. */
  runs(): { name: string; bytes: number }[] {
    return this.state().runs.map((r) => ({ name: r.name, bytes: r.size }));
  }

  /** Runs in use (oldest first), the journal appends go to, and journals not yet in a run. */
  private state(): { runs: Run[]; journal: number; journals: string[] } {
    const names = this.dir.list(INDEX_DIR);
    let all: Run[] = [];
    for (const n of names) {
      const m = /^run-(\d{12})-(\d{12})$/.exec(n);
      if (m) all.push({ name: n, from: Number(m[1]), to: Number(m[2]), size: 0 });
    }
    // A run inside another's range was merged into it (and is about to be removed).
    all = all.filter((r) => !all.some((o) => o !== r && o.from <= r.from && o.to >= r.to && (o.from < r.from || o.to > r.to)));
    all.sort((a, b) => a.to - b.to);
    for (const r of all) r.size = this.dir.stat(`${INDEX_DIR}/${r.name}`)?.size ?? 0;
    const covered = all.length ? all[all.length - 1].to : -1;
    const journals: string[] = [];
    for (const n of names) {
      const m = /^journal-(\d{12})$/.exec(n);
      if (m && Number(m[1]) > covered) journals.push(`${INDEX_DIR}/${n}`);
    }
    return { runs: all, journal: covered + 1, journals };
  }

  /** Sort journal `seq` into run-seq-seq (under the journal lock). */
  private flush(seq: number): boolean {
    const path = `${INDEX_DIR}/journal-${pad(seq)}`;
    this.dir.writeAtomic(`${INDEX_DIR}/${runName(seq, seq)}`, formatRun(this.journalNames(path)));
    this.dir.remove(path);
    return true;
  }

  /** Merge the newest runs when there are too many: never blocks a writer, skips when busy. */
  maybeMerge(): void {
    const { runs } = this.state();
    if (runs.length <= MAX_RUNS) return;
    const lock = this.dir.stat(MERGE_LOCK);
    if (lock && this.now() - lock.mtimeMs > MERGE_STALE_MS) this.dir.remove(MERGE_LOCK);
    if (!this.dir.createExclusive(MERGE_LOCK, new Uint8Array(0))) return;
    try {
      // Size-tiered: the newest runs, back to the first run no bigger than twice what is newer
      // than it. Keeps O(log keys) runs, and each key is rewritten O(log keys) times.
      let i = runs.length - 2;
      let newer = runs[runs.length - 1].size;
      while (i > 0 && runs[i].size <= 2 * newer) newer += runs[i--].size;
      if (runs[i].size > 2 * newer) i++;
      const inputs = runs.slice(Math.min(i, runs.length - 2));
      const out: string[] = [];
      let last: string | undefined;
      for (const h of mergeSorted(inputs.map((r) => this.runFrom(`${INDEX_DIR}/${r.name}`, r.size, "")))) {
        if (h !== last) out.push(h);
        last = h;
      }
      this.dir.writeAtomic(`${INDEX_DIR}/${runName(inputs[0].from, inputs[inputs.length - 1].to)}`, runBytes(out));
      for (const r of inputs) this.dir.remove(`${INDEX_DIR}/${r.name}`);
    } catch (e) {
      if (!(e instanceof RunGone)) throw e;
    } finally {
      this.dir.remove(MERGE_LOCK);
    }
  }

  private journalNames(path: string): string[] {
    const raw = this.dir.read(path);
    if (!raw) return [];
    return decodeUtf8(raw).split("\n").filter(isHexName);
  }

  /** A run's lines ≥ `start`, read in chunks from a binary-searched position. */
  private *runFrom(path: string, size: number, start: string): Generator<string> {
    const read = (pos: number, len: number) => {
      const b = this.dir.readAt(path, pos, len);
      if (!b) throw new RunGone();
      return decodeUtf8(b);
    };
    // Invariant: every line starting before `lo` is < start. Narrow to one chunk, then scan.
    let lo = 0;
    let hi = size;
    if (start !== "") {
      while (hi - lo > 1024) {
        const mid = (lo + hi) >>> 1;
        const text = read(mid, 2100);
        const nl = text.indexOf("\n");
        const end = text.indexOf("\n", nl + 1);
        if (nl < 0 || end < 0) {
          hi = mid;
          continue;
        }
        // The first whole line after mid starts at mid + nl + 1 (byte offsets: hex is ASCII).
        if (text.slice(nl + 1, end) < start) lo = mid + nl + 1;
        else hi = mid;
      }
    }
    let pos = lo;
    let carry = "";
    while (pos < size) {
      const text = carry + read(pos, CHUNK);
      pos += CHUNK;
      const lines = text.split("\n");
      carry = lines.pop() ?? "";
      for (const l of lines) if (l >= start && isHexName(l)) yield l;
    }
    if (isHexName(carry) && carry >= start) yield carry;
  }
}

class RunGone extends Error {}

/** Merge ascending iterators into one ascending sequence (duplicates kept). */
function* mergeSorted(sources: Iterator<string>[]): Generator<string> {
  const heads: { v: string; it: Iterator<string> }[] = [];
  for (const it of sources) {
    const n = it.next();
    if (!n.done) heads.push({ v: n.value, it });
  }
  while (heads.length) {
    let min = 0;
    for (let i = 1; i < heads.length; i++) if (heads[i].v < heads[min].v) min = i;
    const h = heads[min];
    yield h.v;
    const n = h.it.next();
    if (n.done) heads.splice(min, 1);
    else h.v = n.value;
  }
}
