// Append-only topic logs. Each topic is a directory of segment files named by the offset of
// their first record; an append writes one checksummed batch frame at the end of the current
// segment and fsyncs it before acknowledging. Offsets are dense and never reused.
//
// Frame layout (little-endian):
//   0  u32 magic "KLG1"       4  u32 frame length L (header + records + trailer)
//   8  u32 crc32(20..L-4) XOR crc32(12..20): body and base offset; the body part is computed
//      before the append lock is taken, so the lock is held only for the write itself
//   12 f64 base offset        20 f64 timestamp ms   28 u32 count
//   32 records: u32 length + bytes, `count` times
//   L-4 u32 L (trailer: lets an append find the last frame from the end of the file)
//
// A crash can leave a torn frame only at the end of the newest segment: readers stop there
// (never serving it) and the next append cuts it off before writing.
import { withLock, type Dir } from "@keel/wasi-dir";
import { crc32, encodeUtf8, decodeUtf8, paddedLine } from "@keel/bytes";
import { checkTopic, isTopic } from "@keel/model";
import { storageError } from "./errors.ts";
import { DEFAULT_SETTINGS, type StorageSettings } from "./settings.ts";

export interface LogRecord {
  offset: number;
  timestampMs: number;
  payload: Uint8Array;
}

export interface Segment {
  base: number;
  name: string;
  size: number;
}

const MAGIC = 0x31474c4b; // "KLG1"
const HEADER = 32;
export const MAX_BATCH_RECORDS = 10_000;
export const MAX_BATCH_BYTES = 16 * 1024 * 1024;
export const MAX_READ_RECORDS = 1000;
const MAX_READ_BYTES = 4 * 1024 * 1024;

const segName = (base: number) => `${String(base).padStart(16, "0")}.seg`;

/** A frame with its body checksummed and the base offset still to be set (`sealFrame`). */
export function encodeBody(timestampMs: number, payloads: Uint8Array[]): Uint8Array {
  let len = HEADER + 4;
  for (const p of payloads) len += 4 + p.length;
  const out = new Uint8Array(len);
  const v = new DataView(out.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint32(4, len, true);
  v.setFloat64(20, timestampMs, true);
  v.setUint32(28, payloads.length, true);
  let o = HEADER;
  for (const p of payloads) {
    v.setUint32(o, p.length, true);
    out.set(p, o + 4);
    o += 4 + p.length;
  }
  v.setUint32(len - 4, len, true);
  v.setUint32(8, crc32(out, 20, len - 4), true);
  return out;
}

/** Set the base offset and fold it into the checksum (cheap: 8 bytes), under the lock. */
export function sealFrame(body: Uint8Array, base: number): Uint8Array {
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  v.setFloat64(12, base, true);
  v.setUint32(8, (v.getUint32(8, true) ^ crc32(body, 12, 20)) >>> 0, true);
  return body;
}

/** Width of the tail hint line (space-padded): a segment name and two numbers fit easily. */
const HINT_WIDTH = 80;

interface Frame {
  base: number;
  timestampMs: number;
  count: number;
  start: number;
  end: number;
  bytes: Uint8Array;
}

/**
 * The valid frame at `pos` of `buf`, or null when it is torn, altered or not there. With
 * `check` false only the framing (magic, length, trailer) is checked: for skipping frames
 * nobody asked for, whose checksum `verify` still covers.
 */
function frameAt(buf: Uint8Array, pos: number, check = true): Frame | null {
  if (pos + HEADER + 4 > buf.length) return null;
  const v = new DataView(buf.buffer, buf.byteOffset + pos, buf.length - pos);
  if (v.getUint32(0, true) !== MAGIC) return null;
  const len = v.getUint32(4, true);
  if (len < HEADER + 4 || pos + len > buf.length) return null;
  if (v.getUint32(len - 4, true) !== len) return null;
  if (check && v.getUint32(8, true) !== (crc32(buf, pos + 20, pos + len - 4) ^ crc32(buf, pos + 12, pos + 20)) >>> 0) return null;
  return { base: v.getFloat64(12, true), timestampMs: v.getFloat64(20, true), count: v.getUint32(28, true), start: pos, end: pos + len, bytes: buf };
}

/** Where the whole frames at the start of a segment end, and the offset after them. */
function validPrefix(buf: Uint8Array, base: number, check: boolean): { end: number; next: number } {
  let end = 0;
  let next = base;
  for (let f = frameAt(buf, 0, check); f; f = frameAt(buf, end, check)) {
    next = f.base + f.count;
    end = f.end;
  }
  return { end, next };
}

function* recordsOf(f: Frame): Generator<LogRecord> {
  const v = new DataView(f.bytes.buffer, f.bytes.byteOffset);
  let o = f.start + HEADER;
  for (let i = 0; i < f.count; i++) {
    const n = v.getUint32(o, true);
    yield { offset: f.base + i, timestampMs: f.timestampMs, payload: f.bytes.slice(o + 4, o + 4 + n) };
    o += 4 + n;
  }
}

export class TopicLog {
  private readonly dir: Dir;
  private readonly settings: StorageSettings;
  private readonly now: () => number;
  /** Directory holding the topics: `logs` for users' topics, `system` for Keel's own. */
  private readonly root: string;

  constructor(dir: Dir, settings: StorageSettings = DEFAULT_SETTINGS, now: () => number = () => Date.now(), root = "logs") {
    this.dir = dir;
    this.settings = settings;
    this.now = now;
    this.root = root;
  }

  /** Append a batch atomically; returns the offset of each record. */
  append(topic: string, payloads: Uint8Array[]): number[] {
    checkTopic(topic);
    if (payloads.length === 0) return [];
    if (payloads.length > MAX_BATCH_RECORDS) throw storageError("too-large", `batch has ${payloads.length} records; the limit is ${MAX_BATCH_RECORDS}`);
    let total = 0;
    for (const p of payloads) {
      if (p.length > this.settings.maxValueBytes) throw storageError("too-large", `record is ${p.length} bytes; the limit is ${this.settings.maxValueBytes}`);
      total += p.length;
    }
    if (total > MAX_BATCH_BYTES) throw storageError("too-large", `batch is ${total} bytes; the limit is ${MAX_BATCH_BYTES}`);
    const tdir = `${this.root}/${topic}`;
    this.dir.mkdirp(tdir);
    const body = encodeBody(this.now(), payloads);
    // NOTE: every instance appending to this topic serialises here; the frame is written and
    // fsynced while the lock is held, so offsets are dense and frames never interleave.
    return withLock(this.dir, `${tdir}/append`, this.now, () => {
      let seg = this.currentSegment(tdir);
      let { next, size } = this.tail(tdir, seg);
      if (size >= this.settings.segmentBytes) {
        seg = { base: next, name: segName(next), size: 0 };
        this.dir.writeAtomic(`${tdir}/head`, encodeUtf8(String(next)));
        size = 0;
        this.applyRetention(topic);
      }
      this.dir.writeAt(`${tdir}/${seg.name}`, size, sealFrame(body, next));
      this.writeHint(tdir, seg, size + body.length, next + payloads.length);
      return payloads.map((_, i) => next + i);
    });
  }

  /** Up to `max` records from offset `from` (records before the oldest kept one are gone). */
  read(topic: string, from: number, max: number): LogRecord[] {
    checkTopic(topic);
    const limit = Math.max(1, Math.min(max || 100, MAX_READ_RECORDS));
    const segs = this.segments(topic);
    if (!segs.length) return [];
    let i = segs.length - 1;
    while (i > 0 && segs[i].base > from) i--;
    const out: LogRecord[] = [];
    let bytes = 0;
    for (; i < segs.length && out.length < limit; i++) {
      const path = `${this.root}/${topic}/${segs[i].name}`;
      const buf = this.dir.read(path);
      if (!buf) continue;
      const last = i === segs.length - 1;
      for (let pos = 0; pos < buf.length; ) {
        const head = frameAt(buf, pos, false);
        // Frames wholly before `from` are skipped on their framing; served ones are checksummed.
        const f = head && head.base + head.count <= from ? head : frameAt(buf, pos);
        if (!f) {
          // A torn tail of the newest segment is an unacknowledged append: not served.
          if (last) break;
          throw storageError("corrupt", `${path}: bad frame at byte ${pos}`);
        }
        if (f.base + f.count > from) {
          for (const r of recordsOf(f)) {
            if (r.offset < from) continue;
            if (out.length >= limit || (out.length > 0 && bytes + r.payload.length > MAX_READ_BYTES)) return out;
            out.push(r);
            bytes += r.payload.length;
          }
        }
        pos = f.end;
      }
    }
    return out;
  }

  topics(): string[] {
    return this.dir.list(this.root).filter((n) => isTopic(n)).sort();
  }

  /** Segments of a topic, oldest first. */
  segments(topic: string): Segment[] {
    const tdir = `${this.root}/${topic}`;
    return this.dir
      .list(tdir)
      .filter((n) => /^\d{16}\.seg$/.test(n))
      .sort()
      .map((name) => ({ base: Number(name.slice(0, 16)), name, size: this.dir.stat(`${tdir}/${name}`)?.size ?? 0 }));
  }

  /** Delete whole old segments past the topic's age or size retention (never the newest). */
  applyRetention(topic: string): number {
    const { maxAgeSeconds, maxBytesPerTopic } = this.settings.retention;
    if (!maxAgeSeconds && !maxBytesPerTopic) return 0;
    const segs = this.segments(topic);
    let total = segs.reduce((a, s) => a + s.size, 0);
    let freed = 0;
    for (let i = 0; i < segs.length - 1; i++) {
      const path = `${this.root}/${topic}/${segs[i].name}`;
      const tooBig = maxBytesPerTopic > 0 && total > maxBytesPerTopic;
      const tooOld = maxAgeSeconds > 0 && this.newestTimestamp(path) < this.now() - maxAgeSeconds * 1000;
      if (!tooBig && !tooOld) break;
      this.dir.remove(path);
      total -= segs[i].size;
      freed += segs[i].size;
    }
    return freed;
  }

  /** Drop the oldest segment of a topic (eviction); returns bytes freed, 0 when only the newest is left. */
  dropOldestSegment(topic: string): { freed: number; lastOffset: number } {
    const segs = this.segments(topic);
    if (segs.length < 2) return { freed: 0, lastOffset: -1 };
    this.dir.remove(`${this.root}/${topic}/${segs[0].name}`);
    return { freed: segs[0].size, lastOffset: segs[1].base - 1 };
  }

  /**
   * The offset the next append will get, without taking the lock: from the tail hint when it
   * matches the segment, else from the newest segment's frames (a torn tail is not counted).
   */
  nextOffset(topic: string): number {
    checkTopic(topic);
    const tdir = `${this.root}/${topic}`;
    const seg = this.currentSegment(tdir);
    const path = `${tdir}/${seg.name}`;
    const size = this.dir.stat(path)?.size ?? 0;
    if (size === 0) return seg.base;
    return this.hinted(tdir, seg, size) ?? validPrefix(this.dir.read(path) ?? new Uint8Array(0), seg.base, false).next;
  }


  /** Cut a torn tail off the newest segment (after a crash); returns bytes removed. */
  repairTail(topic: string): number {
    checkTopic(topic);
    const tdir = `${this.root}/${topic}`;
    return withLock(this.dir, `${tdir}/append`, this.now, () => {
      const seg = this.currentSegment(tdir);
      const before = this.dir.stat(`${tdir}/${seg.name}`)?.size ?? 0;
      const { size } = this.tail(tdir, seg);
      return before - size;
    });
  }

  /** Check every frame of every segment; one line per problem. */
  verify(topic: string): string[] {
    const problems: string[] = [];
    const segs = this.segments(topic);
    let expected = segs.length ? segs[0].base : 0;
    segs.forEach((s, i) => {
      const path = `${this.root}/${topic}/${s.name}`;
      const buf = this.dir.read(path) ?? new Uint8Array(0);
      if (s.base !== expected && i > 0) problems.push(`${path}: starts at offset ${s.base}, expected ${expected}`);
      expected = s.base;
      for (let pos = 0; pos < buf.length; ) {
        const f = frameAt(buf, pos);
        if (!f) {
          const what = i === segs.length - 1 ? "torn tail (an unacknowledged append; cut off by the next append)" : "corrupt frame";
          problems.push(`${path}: ${what} at byte ${pos} of ${buf.length}`);
          break;
        }
        if (f.base !== expected) problems.push(`${path}: frame at byte ${pos} has offset ${f.base}, expected ${expected}`);
        expected = f.base + f.count;
        pos = f.end;
      }
    });
    return problems;
  }

  private newestTimestamp(path: string): number {
    const buf = this.dir.read(path);
    if (!buf) return 0;
    let ts = 0;
    for (let pos = 0; pos < buf.length; ) {
      const f = frameAt(buf, pos);
      if (!f) break;
      ts = f.timestampMs;
      pos = f.end;
    }
    return ts;
  }

  /** The segment appends go to: named by `head`, which changes only when a segment rolls. */
  private currentSegment(tdir: string): Segment {
    const head = this.dir.read(`${tdir}/head`);
    const base = head ? Number(decodeUtf8(head)) : NaN;
    if (Number.isSafeInteger(base) && base >= 0) return { base, name: segName(base), size: 0 };
    // No (or a damaged) head: the newest segment is current; record it for next time.
    const names = this.dir.list(tdir).filter((n) => /^\d{16}\.seg$/.test(n)).sort();
    const b = names.length ? Number(names[names.length - 1].slice(0, 16)) : 0;
    // Only a topic that exists gets a head (readers of topics not yet written create nothing).
    if (names.length) this.dir.writeAtomic(`${tdir}/head`, encodeUtf8(String(b)));
    return { base: b, name: segName(b), size: 0 };
  }

  /**
   * After each append: where it ended. Not fsynced (a cache), but written only after the frame
   * was fsynced, so when it matches the segment's size the segment ends in a whole frame and
   * the next append need not re-read and re-checksum it. One fixed-width line rewritten in
   * place (one pwrite; a temp file and rename were two directory changes per append): a torn
   * or stale line only fails to match the segment's size, and the last frame is read instead.
   */
  private writeHint(tdir: string, seg: Segment, size: number, next: number): void {
    this.dir.writeAt(`${tdir}/tail`, 0, paddedLine(`${seg.name} ${size} ${next}`, HINT_WIDTH), false);
  }

  /** The next offset the tail hint gives, when it describes `seg` at exactly `size` bytes. */
  private hinted(tdir: string, seg: Segment, size: number): number | null {
    const hint = this.dir.read(`${tdir}/tail`);
    if (!hint) return null;
    let text: string;
    try {
      text = decodeUtf8(hint);
    } catch {
      return null; // a damaged hint: scan instead
    }
    const [name, hsize, hnext] = text.trim().split(" ");
    return name === seg.name && Number(hsize) === size && Number.isSafeInteger(Number(hnext)) ? Number(hnext) : null;
  }

  /** Next offset and valid size of the current segment, cutting off a torn tail. */
  private tail(tdir: string, seg: Segment): { next: number; size: number } {
    const path = `${tdir}/${seg.name}`;
    const size = this.dir.stat(path)?.size ?? 0;
    if (size === 0) return { next: seg.base, size: 0 };
    const hinted = this.hinted(tdir, seg, size);
    if (hinted !== null) return { next: hinted, size };
    // Fast path: the trailer gives the last frame's length; read just that frame.
    const trailer = this.dir.readAt(path, size - 4, 4);
    if (trailer && trailer.length === 4) {
      const len = new DataView(trailer.buffer, trailer.byteOffset, 4).getUint32(0, true);
      if (len >= HEADER + 4 && len <= size) {
        const buf = this.dir.readAt(path, size - len, len);
        const f = buf && frameAt(buf, 0);
        if (f) return { next: f.base + f.count, size };
      }
    }
    // Slow path, only after a crash mid-append: scan the segment, keep the valid prefix.
    const { end: pos, next } = validPrefix(this.dir.read(path) ?? new Uint8Array(0), seg.base, true);
    if (pos < size) this.dir.truncate(path, pos);
    this.writeHint(tdir, seg, pos, next);
    return { next, size: pos };
  }
}
