// Append-only topic logs. Each topic is a directory of segment files named by the offset of
// their first record; an append writes one checksummed batch frame at the end of the current
// segment and fdatasyncs it before acknowledging. Offsets are dense and never reused.
//
// Group commit: the frame is written under the topic's append lock, and flushed after the lock
// is released, so appenders that queued behind it share one flush instead of taking turns
// holding the lock through theirs. A flush makes every frame written before it durable, so an
// acknowledged frame has everything before it on disk; only frames not yet acknowledged can be
// missing after a power cut — possibly one in the middle of several, with a later one kept. The
// tail hint says how far the segment is known to be flushed (it is written after a flush), and
// an append checks every frame after that point, cutting the segment at the first bad one.
//
// Frame layout (little-endian):
//   0  u32 magic "KLG1"       4  u32 frame length L (header + records + trailer)
//   8  u32 crc32(20..L-4) XOR crc32(12..20): body and base offset; the body part is computed
//      before the append lock is taken, so the lock is held only for the write itself
//   12 f64 base offset        20 f64 timestamp ms   28 u32 count
//   32 records: u32 length + bytes, `count` times
//   L-4 u32 L (trailer: checked against the length, so a frame cut short is seen whole or not at all)
//
// A crash can leave torn or missing frames only after the flushed part of the newest segment:
// readers stop at the first one (never serving it) and the next append cuts it off there.
import { withLock, type Dir } from "@keel/wasi-dir";
import { crc32, encodeUtf8, decodeUtf8, packInto, packedSize, paddedLine } from "@keel/bytes";
import { checkTopic, isTopic } from "@keel/model";
import { storageError } from "./errors.ts";
import { DEFAULT_SETTINGS, type StorageSettings } from "./settings.ts";

export interface LogRecord {
  offset: number;
  timestampMs: number;
  payload: Uint8Array;
}

/** Where a batch landed: offsets `first` … `first + count - 1`. */
export interface Appended {
  first: number;
  count: number;
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
  const out = new Uint8Array(HEADER + packedSize(payloads) + 4);
  packInto(out, HEADER, payloads);
  return finishBody(out, timestampMs, payloads.length);
}

/**
 * `encodeBody` of records already packed as the frame holds them (each its u32 length, then its
 * bytes; `packedCount` checked them): one copy instead of one per record.
 */
export function encodePackedBody(timestampMs: number, packed: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(HEADER + packed.length + 4);
  out.set(packed, HEADER);
  return finishBody(out, timestampMs, count);
}

/** The header, trailer and body checksum of a frame whose records are in place. */
function finishBody(out: Uint8Array, timestampMs: number, count: number): Uint8Array {
  const len = out.length;
  const v = new DataView(out.buffer, out.byteOffset, len);
  v.setUint32(0, MAGIC, true);
  v.setUint32(4, len, true);
  v.setFloat64(20, timestampMs, true);
  v.setUint32(28, count, true);
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

/**
 * Where the whole frames at the start of `buf` end, and the offset after them, when the first
 * should hold offset `next`: a frame that does not continue the sequence ends the run too.
 */
function framesFrom(buf: Uint8Array, next: number, check: boolean): { end: number; next: number } {
  let end = 0;
  for (let f = frameAt(buf, 0, check); f && f.base === next; f = frameAt(buf, end, check)) {
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
    const { first } = this.appendBody(topic, encodeBody(this.now(), payloads), payloads.length);
    return payloads.map((_, i) => first + i);
  }

  /**
   * `append` of a batch packed as a frame holds its records (each its u32 length, then its
   * bytes: keel:text/utf8 encode-packed): checked whole first, as `append` checks its list.
   */
  appendPacked(topic: string, packed: Uint8Array): Appended {
    checkTopic(topic);
    const count = this.packedCount(packed);
    if (count === 0) return { first: 0, count: 0 };
    return this.appendBody(topic, encodePackedBody(this.now(), packed, count), count);
  }

  /** How many records `packed` holds, each within the limits; throws when it does not add up. */
  private packedCount(packed: Uint8Array): number {
    const v = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
    let count = 0;
    for (let o = 0; o < packed.length; count++) {
      if (count >= MAX_BATCH_RECORDS) throw storageError("too-large", `batch has more than ${MAX_BATCH_RECORDS} records; the limit is ${MAX_BATCH_RECORDS}`);
      if (o + 4 > packed.length) throw storageError("other", `packed batch: record ${count}'s length is cut off at byte ${o}`);
      const n = v.getUint32(o, true);
      if (n > this.settings.maxValueBytes) throw storageError("too-large", `record is ${n} bytes; the limit is ${this.settings.maxValueBytes}`);
      o += 4 + n;
      if (o > packed.length) throw storageError("other", `packed batch: record ${count} runs past its end (${packed.length} bytes)`);
    }
    if (packed.length - 4 * count > MAX_BATCH_BYTES) throw storageError("too-large", `batch is ${packed.length - 4 * count} bytes; the limit is ${MAX_BATCH_BYTES}`);
    return count;
  }

  /** Write a frame body (`encodeBody`) of `count` records at the end of the topic. */
  private appendBody(topic: string, body: Uint8Array, count: number): Appended {
    const tdir = `${this.root}/${topic}`;
    this.dir.mkdirp(tdir);
    // NOTE: every instance appending to this topic serialises here; the frame is written whole
    // while the lock is held, so offsets are dense and frames never interleave. The flush comes
    // after the lock (group commit, above).
    const done = withLock(this.dir, `${tdir}/append`, this.now, () => {
      let seg = this.currentSegment(tdir);
      let { next, size } = this.tail(tdir, seg);
      if (size >= this.settings.segmentBytes) {
        seg = { base: next, name: segName(next), size: 0 };
        this.dir.writeAtomic(`${tdir}/head`, encodeUtf8(String(next)));
        size = 0;
        this.applyRetention(topic);
      }
      this.dir.writeAt(`${tdir}/${seg.name}`, size, sealFrame(body, next), false);
      return { seg, end: size + body.length, next };
    });
    // False only when retention removed the segment meanwhile: its records are gone either way.
    if (this.dir.sync(`${tdir}/${done.seg.name}`)) this.writeHint(tdir, done.seg, done.end, done.next + count);
    return { first: done.next, count };
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
    const from = this.hinted(tdir, seg, size) ?? { size: 0, next: seg.base };
    if (from.size === size) return from.next;
    return framesFrom(this.dir.readAt(path, from.size, size - from.size) ?? new Uint8Array(0), from.next, false).next;
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
   * After each append's flush: how far the segment is known to be on disk, and the offset after
   * that point. Not fsynced itself (a cache): a lost or torn line only makes the next append
   * check more frames. One fixed-width line rewritten in place (one pwrite). Concurrent
   * appenders write it in the order their flushes return, so it may name a point a few frames
   * back, or the segment before a roll: it is only ever behind, never ahead of what is flushed.
   */
  private writeHint(tdir: string, seg: Segment, size: number, next: number): void {
    this.dir.writeAt(`${tdir}/tail`, 0, paddedLine(`${seg.name} ${size} ${next}`, HINT_WIDTH), false);
  }

  /** The flushed point the tail hint gives, when it describes `seg` within its `size` bytes. */
  private hinted(tdir: string, seg: Segment, size: number): { size: number; next: number } | null {
    const hint = this.dir.read(`${tdir}/tail`);
    if (!hint) return null;
    let text: string;
    try {
      text = decodeUtf8(hint);
    } catch {
      return null; // a damaged hint: scan instead
    }
    const [name, hsize, hnext] = text.trim().split(" ");
    const at = Number(hsize), next = Number(hnext);
    return name === seg.name && Number.isSafeInteger(at) && at >= 0 && at <= size && Number.isSafeInteger(next) && next >= seg.base ? { size: at, next } : null;
  }

  /**
   * Next offset and valid size of the current segment: every frame after the hint's flushed
   * point (the whole segment without a usable hint) is checked, and the segment is cut at the
   * first torn, missing or out-of-sequence one — written by an append that was never
   * acknowledged (a crash mid-write, or a power cut before its flush).
   */
  private tail(tdir: string, seg: Segment): { next: number; size: number } {
    const path = `${tdir}/${seg.name}`;
    const size = this.dir.stat(path)?.size ?? 0;
    if (size === 0) return { next: seg.base, size: 0 };
    const from = this.hinted(tdir, seg, size) ?? { size: 0, next: seg.base };
    if (from.size === size) return from;
    const after = framesFrom(this.dir.readAt(path, from.size, size - from.size) ?? new Uint8Array(0), from.next, true);
    if (from.size + after.end === size) return { next: after.next, size };
    // Something to cut (only after a crash): decided on the whole segment, not on the hint alone.
    const { end, next } = from.size ? framesFrom(this.dir.read(path) ?? new Uint8Array(0), seg.base, true) : after;
    // truncate fsyncs, so all that is left is on disk: the hint may say so.
    this.dir.truncate(path, end);
    this.writeHint(tdir, seg, end, next);
    return { next, size: end };
  }
}
