// The mesh: who the peers are, whether they answer, and anti-entropy exchanges that carry only
// what the other side lacks. Plain TypeScript over a Dir (its own state) and storage (the data);
// the HTTP transport is the host's (components/mesh/README.md has the protocol).
//
// - Keys: storage's mesh feed holds every change to a meshed key, local or applied from a peer,
//   with dense offsets. A node keeps, per peer, the next offset of that peer's feed it wants, and
//   asks for it in each exchange; the answer is those keys as they are now, applied through
//   conflict resolution. Since applied changes enter the applier's own feed too, a change travels
//   on through nodes its writer cannot reach, and stops where it changes nothing.
// - Topics: per replicated topic, a version vector {origin: next offset}. A node's own records
//   are in the topic; an origin's records are in `<topic>--<origin>` as envelopes carrying the
//   origin's offset, so a record is stored once per node whatever path it took.
// - Membership: SWIM-style. Each exchange is a probe; a peer that fails one is suspect, and dead
//   after `suspect_timeout_ms` more without an answer — unless a peer that can reach it says so
//   (members lists carry first-hand last-seen times). Dead peers are retried with backoff
//   forever, so a healed partition heals the mesh with no restart.
import type { Dir } from "@keel/wasi-dir";
import { withLock } from "@keel/wasi-dir";
import { decodeUtf8, encodeUtf8, isBase64, toBase64All } from "@keel/bytes";
import { isNodeId, scopedTopic } from "@keel/model";
import { WireError, checkKvItem, decodeBody, envelopes, envelopeOffset, kvItems, type KeyState, type KvItem, type LogRecord, type RemoteVersion } from "@keel/wire";
import { trimUrl, type MeshConfig } from "./config.ts";

export { WireError as MeshError } from "@keel/wire";
export class NotConfigured extends Error {}

/** What the mesh needs from storage: the `keel:storage` kv, log and replication imports. */
export interface Storage {
  /** Versions from another node, applied together (keel:storage/kv apply-many); the outcomes in order. */
  applyMany(versions: { key: string; remote: RemoteVersion }[]): string[];
  append(topic: string, payloads: Uint8Array[]): void;
  read(topic: string, from: number, max: number): LogRecord[];
  lastRecord(topic: string): LogRecord | null;
  topics(): string[];
  meshChanges(from: number, max: number): { keys: KeyState[]; read: number; last: number | null };
  meshEnd(): number;
}

export type PeerState = "alive" | "suspect" | "dead";
export type PeerSource = "static" | "joined" | "discovered";
/** Per replicated topic, origin → next offset. */
type Vectors = Record<string, Record<string, number>>;
/** A record on the wire: [origin's offset, timestamp ms, base64 payload]. */
type Rec = [number, number, string];

export interface Peer {
  id: string;
  url: string;
  source: PeerSource;
  state: PeerState;
  /** Last answer from the peer itself (0: never). */
  lastSeenMs: number;
  /** When it entered its state. */
  sinceMs: number;
  /** Last time another peer said it heard from it since it became suspect. */
  vouchedMs: number;
  failures: number;
  /** Dead peers are retried from then on. */
  nextTryMs: number;
  /** Next offset of the peer's mesh feed this node wants. */
  want: number;
  /** Next offset of this node's feed the peer asked for last: what it has of ours. */
  theirWant: number;
  /** The peer's topic vectors as it last sent them. */
  theirTopics: Vectors;
  /** The peer's membership hash and the peers it suspects, as it last sent them. */
  theirMh?: string;
  theirSus?: string[];
  /** When this node last asked it (picks who is asked next: the longest unasked first). */
  askedMs?: number;
  /**
   * Key versions to ask it for per reply: halved when an exchange fails (a reply that cannot be
   * built, sent and applied within the timeout is lost work, and asking for as much again would
   * lose it again), grown by MIN_ASK on each success — additive increase, multiplicative
   * decrease, as TCP does. Records are asked for in proportion.
   */
  ask?: number;
}

interface Counters { rounds: number; served: number; bytesSent: number; bytesReceived: number; repaired: number; failed: number }
interface State { peers: Record<string, Peer>; left: Record<string, number>; lastRoundMs: number; counters: Counters }

interface Message {
  v: 1;
  from: string;
  url: string;
  /** want: next offset of the receiver's feed; max: key versions the sender takes in one reply (absent: MAX_KV_ITEMS). */
  kv: { want: number; max?: number };
  topics: Vectors;
  /**
   * [id, url, last seen first-hand] of the sender's live peers and itself — all of them when
   * the receiver's membership hash differs, else only those the receiver suspects: in a steady
   * mesh an exchange carries no member list at all.
   */
  members: [string, string, number][];
  /** Hash of the sender's membership (ids and URLs, itself included). */
  mh: string;
  /** Peers the sender finds suspect or dead (the receiver answers with its sightings of them). */
  sus: string[];
}

interface Reply extends Message {
  /** Key changes from the asked offset, and the offset to ask for next. */
  items: KvItem[];
  next: number;
  /** Per topic, per origin, records the asker lacked. */
  records: Record<string, Record<string, Rec[]>>;
}

const STATE = "mesh/state.json";
const ROUND_LOCK = "mesh/round.lock";
/** A round marker untouched this long belongs to a round that was cut off. */
const ROUND_STALE_MS = 15_000;
/** Most key changes / topic records one reply carries (the next exchange continues). */
const MAX_KV_ITEMS = 100;
/** The smallest reply a node asks for after failures (AIMD step too). */
const MIN_ASK = 10;
/** Key changes read per storage call while a reply is built. */
const KV_CHUNK = 25;
const MAX_RECORDS = 500;
/** Largest gap between retries of a dead peer. */
const MAX_RETRY_MS = 10_000;

export class Mesh {
  readonly cfg: MeshConfig;
  private readonly dir: Dir;
  private readonly storage: Storage;
  private readonly now: () => number;
  private dirMade = false;

  constructor(dir: Dir, cfg: MeshConfig, storage: Storage, now: () => number = () => Date.now()) {
    this.dir = dir;
    this.cfg = cfg;
    this.storage = storage;
    this.now = now;
  }

  // ---- state ----------------------------------------------------------------------------
  private load(): State {
    const raw = this.dir.read(STATE);
    let s: State = { peers: {}, left: {}, lastRoundMs: 0, counters: { rounds: 0, served: 0, bytesSent: 0, bytesReceived: 0, repaired: 0, failed: 0 } };
    if (raw) {
      try {
        s = { ...s, ...(JSON.parse(decodeUtf8(raw)) as State) };
      } catch {
        // a damaged state file costs only re-sent changes (every apply is idempotent)
      }
    }
    for (const p of this.cfg.peers) {
      const cur = s.peers[p.id];
      s.peers[p.id] = cur ? { ...cur, url: p.url, source: "static" } : newPeer(p.id, p.url, "static");
    }
    return s;
  }

  /** The mesh's directory, made once per instance (not on every exchange). */
  private ensureDir(): void {
    if (this.dirMade) return;
    this.dir.mkdirp("mesh");
    this.dirMade = true;
  }

  /** Read-modify-write the state under its lock (wasmtime serve runs instances side by side). */
  private update<T>(fn: (s: State) => T): T {
    this.ensureDir();
    return withLock(this.dir, "mesh/state", this.now, () => {
      const s = this.load();
      const out = fn(s);
      // Not fsynced: lost state costs re-sent changes, never data (applies are idempotent).
      this.dir.writeAtomic(STATE, encodeUtf8(JSON.stringify(s)), false);
      return out;
    });
  }

  private requireEnabled(): void {
    if (!this.cfg.enabled) throw new NotConfigured("the mesh is not enabled on this node ([mesh] enabled)");
  }

  // ---- membership -----------------------------------------------------------------------
  join(id: string, url: string, source: PeerSource): void {
    this.requireEnabled();
    if (!isNodeId(id)) throw new WireError(`peer id ${JSON.stringify(String(id).slice(0, 80))} is not a node id (A-Z a-z 0-9 . _ -, at most 64)`);
    if (id === this.cfg.node) throw new WireError("a node cannot join itself");
    const u = trimUrl(url);
    if (!u) throw new WireError(`peer url ${JSON.stringify(String(url).slice(0, 200))} is not an http(s) base URL`);
    this.update((s) => {
      const cur = s.peers[id];
      if (!cur && Object.keys(s.peers).length >= this.cfg.maxPeers) throw new WireError(`this node already has max_peers (${this.cfg.maxPeers}) peers`);
      delete s.left[id];
      s.peers[id] = cur ? { ...cur, url: u, source: cur.source === "static" ? "static" : source, nextTryMs: 0 } : newPeer(id, u, source);
    });
  }

  leave(id: string): void {
    this.requireEnabled();
    if (this.cfg.peers.some((p) => p.id === id)) throw new WireError(`${id} is a static peer: remove it from [mesh] peers`);
    this.update((s) => {
      if (!s.peers[id]) throw new WireError(`${JSON.stringify(String(id).slice(0, 80))} is not a peer of this node`);
      delete s.peers[id];
      s.left[id] = this.now();
    });
  }

  peers(): Peer[] {
    return Object.values(this.load().peers);
  }

  /** Take members another node listed: new peers join; first-hand sightings vouch for suspects. */
  private merge(s: State, members: unknown, now: number): void {
    if (!Array.isArray(members)) return;
    for (const m of members.slice(0, 256)) {
      if (!Array.isArray(m)) continue;
      const [id, url, seen] = m as unknown[];
      if (!isNodeId(id) || id === this.cfg.node || typeof url !== "string" || typeof seen !== "number") continue;
      const p = s.peers[id];
      if (!p) {
        const u = trimUrl(url);
        if (u && !(id in s.left) && Object.keys(s.peers).length < this.cfg.maxPeers) s.peers[id] = newPeer(id, u, "joined");
        continue;
      }
      if (p.state !== "alive" && seen > p.sinceMs && seen <= now) {
        p.vouchedMs = Math.max(p.vouchedMs, seen);
        // Reachable from elsewhere: a dead peer is tried again at the normal pace.
        if (p.state === "dead") Object.assign(p, { state: "suspect", sinceMs: now, nextTryMs: 0 });
      }
    }
  }

  private seen(s: State, id: string, now: number): Peer {
    const p = s.peers[id];
    Object.assign(p, { state: "alive", sinceMs: p.state === "alive" ? p.sinceMs : now, lastSeenMs: now, failures: 0, nextTryMs: 0 });
    return p;
  }

  // ---- rounds -----------------------------------------------------------------------------
  due(now: number): boolean {
    if (!this.cfg.enabled || !this.cfg.token) return false;
    const s = this.load();
    return Object.keys(s.peers).length > 0 && now - s.lastRoundMs >= this.cfg.intervalMs;
  }

  /** Claim the round and build a message per peer to ask; null when off or another round runs. */
  beginRound(now: number): { token: string; timeoutMs: number; exchanges: { peer: string; url: string; message: Uint8Array }[] } | null {
    if (!this.cfg.enabled || !this.cfg.token) return null;
    this.ensureDir();
    if (!this.dir.createExclusive(ROUND_LOCK, new Uint8Array(0))) {
      const st = this.dir.stat(ROUND_LOCK);
      if (!st || now - st.mtimeMs <= ROUND_STALE_MS) return null;
      this.dir.remove(ROUND_LOCK);
      if (!this.dir.createExclusive(ROUND_LOCK, new Uint8Array(0))) return null;
    }
    try {
      const vectors = this.vectors();
      return this.update((s) => {
        s.lastRoundMs = now;
        const targets = pickTargets(Object.values(s.peers), this.cfg.fanout, now);
        for (const p of targets) p.askedMs = now;
        const exchanges = targets.map((p) => {
          const message = encodeUtf8(JSON.stringify(this.message(s, p, vectors)));
          s.counters.bytesSent += message.length;
          return { peer: p.id, url: `${p.url}/_keel/mesh/gossip`, message };
        });
        s.counters.rounds += exchanges.length ? 1 : 0;
        return { token: this.cfg.token, timeoutMs: this.cfg.timeoutMs, exchanges };
      });
    } catch (e) {
      this.dir.remove(ROUND_LOCK);
      throw e;
    }
  }

  endRound(): void {
    this.dir.remove(ROUND_LOCK);
  }

  /** A peer's reply: take its key changes and records; returns what changed here. */
  deliver(peerId: string, body: Uint8Array, now: number): number {
    this.requireEnabled();
    const doc = decodeBody(body) as Reply;
    checkMessage(doc);
    const items = (Array.isArray(doc.items) ? doc.items : []).map((x) => checkKvItem(x));
    if (!Number.isSafeInteger(doc.next) || doc.next < 0) throw new WireError("reply has no usable next offset");
    const records = checkRecords(doc.records);
    let repaired = 0;
    for (const outcome of this.storage.applyMany(items)) if (outcome !== "duplicate") repaired++;
    repaired += this.storeRecords(records);
    this.update((s) => {
      const p = s.peers[peerId];
      if (p) {
        this.seen(s, peerId, now);
        Object.assign(p, { want: doc.next, theirWant: doc.kv.want, theirTopics: doc.topics, ask: Math.min(MAX_KV_ITEMS, (p.ask ?? MAX_KV_ITEMS) + MIN_ASK), ...theirMembership(doc) });
      }
      this.merge(s, doc.members, now);
      s.counters.bytesReceived += body.length;
      s.counters.repaired += repaired;
    });
    return repaired;
  }

  unreachable(peerId: string, now: number): void {
    this.update((s) => {
      const p = s.peers[peerId];
      s.counters.failed++;
      if (!p) return;
      p.failures++;
      p.ask = Math.max(MIN_ASK, Math.floor((p.ask ?? MAX_KV_ITEMS) / 2));
      if (p.state === "alive") Object.assign(p, { state: "suspect", sinceMs: now });
      else if (p.state === "suspect" && now - p.sinceMs >= this.cfg.suspectMs && p.vouchedMs < now - this.cfg.suspectMs) {
        Object.assign(p, { state: "dead", sinceMs: now });
      }
      if (p.state === "dead") p.nextTryMs = now + Math.min(this.cfg.intervalMs * 2 ** Math.min(p.failures, 10), MAX_RETRY_MS);
    });
  }

  // ---- the other side of an exchange ------------------------------------------------------
  /** Answer an exchange `from` (the node its credential names) started. */
  gossip(from: string, body: Uint8Array, now: number): Uint8Array {
    this.requireEnabled();
    const doc = decodeBody(body) as Message;
    checkMessage(doc);
    const vectors = this.vectors();
    const from0 = doc.kv.want;
    const end = this.storage.meshEnd();
    // A peer that asks past our end knew an older life of this data dir: start it over.
    const max = askedFor(doc);
    const { keys, next } = this.changesFrom(from0 > end ? 0 : from0, end, max);
    const records = this.recordsFor(doc.topics, vectors, Math.ceil((MAX_RECORDS * max) / MAX_KV_ITEMS));
    return this.update((s) => {
      if (!s.peers[from]) {
        const u = trimUrl(doc.url);
        if (u && Object.keys(s.peers).length < this.cfg.maxPeers) {
          delete s.left[from];
          s.peers[from] = newPeer(from, u, "joined");
        }
      }
      const p = s.peers[from];
      if (p) {
        this.seen(s, from, now);
        Object.assign(p, { theirWant: Math.min(from0, end), theirTopics: doc.topics, ...theirMembership(doc) });
      }
      this.merge(s, doc.members, now);
      const reply: Reply = { ...this.message(s, p, vectors), items: kvItems(keys), next, records };
      // Not compressed: gzip in the component costs about a millisecond per record, which made
      // a catching-up peer's replies miss its timeout; on a LAN the bytes are the cheaper part.
      const out = encodeUtf8(JSON.stringify(reply));
      s.counters.served++;
      s.counters.bytesReceived += body.length;
      s.counters.bytesSent += out.length;
      return out;
    });
  }

  /**
   * Key changes from `from`, in chunks, until MAX_KV_ITEMS or a quarter of the exchange timeout
   * is spent: a reply that takes longer than the asker waits is never delivered, and would be
   * built again and again (a catching-up peer would never catch up).
   */
  private changesFrom(from: number, end: number, max: number): { keys: KeyState[]; next: number } {
    const keys: KeyState[] = [];
    const t0 = this.now();
    let next = Math.min(from, end);
    while (keys.length < max && next < end && this.now() - t0 < this.cfg.timeoutMs / 4) {
      const c = this.storage.meshChanges(next, Math.min(KV_CHUNK, max - keys.length));
      if (c.last === null) break;
      keys.push(...c.keys);
      next = c.last + 1;
    }
    return { keys, next };
  }

  private message(s: State, to: Peer | undefined, vectors: Vectors): Message {
    const peers = Object.values(s.peers);
    const mh = fnv1a([`${this.cfg.node}=${this.cfg.url}`, ...peers.map((p) => `${p.id}=${p.url}`)].sort().join(" "));
    const all = !to || to.theirMh !== mh;
    const members: [string, string, number][] = peers
      .filter((p) => p.state === "alive" && p.lastSeenMs > 0 && (all || to.theirSus?.includes(p.id)))
      .map((p) => [p.id, p.url, p.lastSeenMs]);
    if (this.cfg.url && all) members.push([this.cfg.node, this.cfg.url, this.now()]);
    const sus = peers.filter((p) => p.state !== "alive").map((p) => p.id);
    return { v: 1, from: this.cfg.node, url: this.cfg.url, kv: { want: to?.want ?? 0, max: to?.ask ?? MAX_KV_ITEMS }, topics: vectors, members, mh, sus };
  }

  // ---- topics -----------------------------------------------------------------------------
  /** Per replicated topic, what this node holds of each origin: {origin: next offset}. */
  vectors(): Vectors {
    const all = this.cfg.topics.length ? this.storage.topics() : [];
    const out: Vectors = {};
    for (const topic of this.cfg.topics) {
      const v: Record<string, number> = { [this.cfg.node]: (this.storage.lastRecord(topic)?.offset ?? -1) + 1 };
      const prefix = `${topic}--`;
      for (const name of all) {
        const origin = name.startsWith(prefix) ? name.slice(prefix.length) : "";
        // `<topic>--cloud` holds what sync pulled; the cloud is not a mesh origin.
        if (!isNodeId(origin) || origin === "cloud" || origin === this.cfg.node) continue;
        v[origin] = envelopeOffset(this.storage.lastRecord(name)) + 1;
      }
      out[topic] = v;
    }
    return out;
  }

  /** Records the asker lacks, by its vectors, within MAX_RECORDS. */
  private recordsFor(theirs: Vectors, mine: Vectors, max = MAX_RECORDS): Record<string, Record<string, Rec[]>> {
    const out: Record<string, Record<string, Rec[]>> = {};
    let budget = Math.min(max, MAX_RECORDS);
    for (const [topic, mv] of Object.entries(mine)) {
      const tv = theirs?.[topic] ?? {};
      for (const [origin, end] of Object.entries(mv)) {
        const from = typeof tv[origin] === "number" ? tv[origin] : 0;
        if (budget <= 0 || from >= end) continue;
        const recs = origin === this.cfg.node
          ? this.ownRecords(topic, from, Math.min(budget, end - from))
          : this.relayed(scopedTopic(topic, origin), from, budget);
        if (!recs.length) continue;
        (out[topic] ??= {})[origin] = recs;
        budget -= recs.length;
      }
    }
    return out;
  }

  /** This node's own records of `topic` from offset `from`, each in base64 (one call for all). */
  private ownRecords(topic: string, from: number, max: number): Rec[] {
    const recs = this.storage.read(topic, from, max);
    const b64 = toBase64All(recs.map((r) => r.payload));
    return recs.map((r, i): Rec => [r.offset, r.timestampMs, b64[i]]);
  }

  /** Records of another origin held here, from its offset `from` on (envelopes are in origin order). */
  private relayed(target: string, from: number, max: number): Rec[] {
    // Find the first envelope whose origin offset is ≥ from: usually at local offset `from`
    // (an origin's records arrive densely), else by binary search.
    const at = (i: number) => envelopeOffset(this.storage.read(target, i, 1)[0]);
    let lo = 0;
    let hi = (this.storage.lastRecord(target)?.offset ?? -1) + 1;
    if (from < hi && at(from) === from) lo = from;
    else {
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        if (at(mid) < from) lo = mid + 1;
        else hi = mid;
      }
    }
    return this.storage.read(target, lo, max).flatMap((r): Rec[] => {
      try {
        const e = JSON.parse(decodeUtf8(r.payload)) as { o: number; t: number; b: string };
        return e.o >= from ? [[e.o, e.t, e.b]] : [];
      } catch {
        return [];
      }
    });
  }

  /** Store each origin's records past what is here; returns records stored. */
  private storeRecords(records: Record<string, Record<string, Rec[]>>): number {
    let stored = 0;
    for (const [topic, byOrigin] of Object.entries(records)) {
      if (!this.cfg.topics.includes(topic)) continue;
      for (const [origin, recs] of Object.entries(byOrigin)) {
        if (origin === this.cfg.node || origin === "cloud") continue; // our own come back: nothing to do
        const target = scopedTopic(topic, origin);
        const last = envelopeOffset(this.storage.lastRecord(target));
        const fresh = [...recs].sort((a, b) => a[0] - b[0]).filter((r, i, a) => r[0] > last && (i === 0 || r[0] !== a[i - 1][0]));
        if (fresh.length) this.storage.append(target, envelopes(fresh));
        stored += fresh.length;
      }
    }
    return stored;
  }

  // ---- status -----------------------------------------------------------------------------
  status() {
    const s = this.load();
    const end = this.cfg.enabled ? this.storage.meshEnd() : 0;
    const vectors = this.cfg.enabled ? this.vectors() : {};
    const lags: { scope: string; peer: string; behind: number }[] = [];
    for (const p of Object.values(s.peers)) {
      if (this.cfg.prefixes.length) lags.push({ scope: "kv", peer: p.id, behind: Math.max(0, end - p.theirWant) });
      for (const [topic, mv] of Object.entries(vectors)) {
        const tv = p.theirTopics?.[topic] ?? {};
        const behind = Object.entries(mv).reduce((n, [o, e]) => n + Math.max(0, e - (typeof tv[o] === "number" ? tv[o] : 0)), 0);
        lags.push({ scope: topic, peer: p.id, behind });
      }
    }
    return { enabled: this.cfg.enabled, node: this.cfg.node, url: this.cfg.url || null, peers: Object.values(s.peers), lags, ...s.counters };
  }
}

/** The membership fields of a message worth keeping (strings only; anything else is dropped). */
function theirMembership(doc: Message): Pick<Peer, "theirMh" | "theirSus"> {
  return {
    theirMh: typeof doc.mh === "string" ? doc.mh.slice(0, 16) : undefined,
    theirSus: Array.isArray(doc.sus) ? doc.sus.filter(isNodeId).slice(0, 256) : [],
  };
}

/** FNV-1a, 32 bits, hex: a short fingerprint (not a defence: peers are authenticated). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}

/**
 * Who a round asks: `fanout` alive peers, those asked longest ago first (so each is asked every
 * ⌈alive ÷ fanout⌉ rounds), plus every suspect peer (to clear or confirm the suspicion within
 * suspect_timeout_ms) and the dead ones due for a retry. A round costs O(fanout), not O(peers):
 * the mesh's total gossip grows with N, not N² — changes still spread to everyone in a few
 * rounds, since every exchange carries what either side lacks of all nodes' writes.
 */
export function pickTargets(peers: Peer[], fanout: number, now: number): Peer[] {
  const alive = peers.filter((p) => p.state === "alive").sort((a, b) => (a.askedMs ?? 0) - (b.askedMs ?? 0) || (a.id < b.id ? -1 : 1));
  return [...alive.slice(0, Math.max(1, fanout)), ...peers.filter((p) => p.state === "suspect" || (p.state === "dead" && p.nextTryMs <= now))];
}

function newPeer(id: string, url: string, source: PeerSource): Peer {
  return { id, url, source, state: "alive", lastSeenMs: 0, sinceMs: 0, vouchedMs: 0, failures: 0, nextTryMs: 0, want: 0, theirWant: 0, theirTopics: {} };
}

/** Key versions the asker takes in one reply: its `kv.max`, within [1, MAX_KV_ITEMS]. */
function askedFor(doc: Message): number {
  const m = doc.kv.max;
  return typeof m === "number" && Number.isSafeInteger(m) && m >= 1 ? Math.min(m, MAX_KV_ITEMS) : MAX_KV_ITEMS;
}

function checkMessage(doc: Message): void {
  if (doc?.v !== 1 || typeof doc.kv !== "object" || doc.kv === null) throw new WireError("not a Keel mesh message");
  if (!Number.isSafeInteger(doc.kv.want) || doc.kv.want < 0) throw new WireError("mesh message: kv.want must be a non-negative integer");
  if (typeof doc.url !== "string") throw new WireError("mesh message: url must be a string");
  if (typeof doc.topics !== "object" || doc.topics === null || Array.isArray(doc.topics)) throw new WireError("mesh message: topics must be an object");
  for (const v of Object.values(doc.topics)) {
    if (typeof v !== "object" || v === null || Object.values(v).some((n) => !Number.isSafeInteger(n) || (n as number) < 0)) throw new WireError("mesh message: a topic vector must map origins to offsets");
  }
}

function checkRecords(records: unknown): Record<string, Record<string, Rec[]>> {
  if (records === undefined) return {};
  if (typeof records !== "object" || records === null || Array.isArray(records)) throw new WireError("reply: records must be an object");
  for (const byOrigin of Object.values(records)) {
    if (typeof byOrigin !== "object" || byOrigin === null) throw new WireError("reply: bad records");
    for (const [origin, recs] of Object.entries(byOrigin)) {
      if (!isNodeId(origin) || !Array.isArray(recs)) throw new WireError("reply: bad records origin");
      for (const r of recs) {
        if (!Array.isArray(r) || !Number.isSafeInteger(r[0]) || r[0] < 0 || typeof r[1] !== "number" || typeof r[2] !== "string" || !isBase64(r[2])) throw new WireError("reply: bad record");
      }
    }
  }
  return records as Record<string, Record<string, Rec[]>>;
}
