// The cloud's store on NATS JetStream ([cloud] store = "jetstream"): what edges push goes to
// JetStream, so any number of stateless cloud gateways serve the same edges and the cluster —
// not Keel — replicates, elects leaders and fails over.
//
// Layout (NAME = [cloud] name, default "keel"; topic and node names escaped by `token`):
//   stream NAME_t_<topic>   subjects NAME.t.<topic>.<edge>   one message per record an edge pushed,
//                           headers Keel-Offset (the edge's offset) and Keel-Time (its timestamp);
//                           NAME.t.<topic>.%cloud holds what cloud services publish for edges to pull
//   KV bucket NAME_kv       key k.<base64url(key)>, value the key's state {p: parts, r: replaced}
//
// Exactly once: before storing an edge's records the gateway reads the last message on the
// edge's subject (its Keel-Offset says how far the edge got), keeps only later records, and
// publishes them as one atomic batch whose first message expects that last subject sequence.
// A retried batch — to this gateway or another, within or long after any dedupe window —
// either finds its records stored and stores nothing, or loses the race on the expected
// sequence and reads again. Key versions go through conflict resolution (the conflict
// component, plug-ins included) and compare-and-set on the KV revision, retried on a race.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { encodeUtf8, decodeUtf8, toBase64, fromBase64 } from "@keel/bytes";
import {
  applyRemote, asVersion, created, isNodeId,
  type Part, type RemotePart, type Resolution, type Version,
} from "@keel/model";
import { checkKvItem, checkTopicItem, decodeBody, encodeBody, sealedHeader, SealError, WireError, type BatchDoc, type KvItem, type PullDoc, type TopicItem } from "@keel/wire";

export interface JetStreamSettings {
  servers: string[];
  replicas: number;
  name: string;
  requestTimeoutMs: number;
  token?: string;
  /** Topics the cloud sends to edges (cloud_to_edge, bidirectional): what pulls may ask for. */
  pullTopics: string[];
  /** Whether key versions are pulled at all (the cloud has cloud_to_edge or bidirectional prefixes). */
  pullKeys: boolean;
  /**
   * Topics marked end_to_end: pushes must hold sealed records (their shape is checked; the cloud
   * has no key), and pulls of such a topic forward every edge's sealed records as the local store
   * does ({n: origin edge, o: its offset, t, b}), for edges holding the key to open.
   */
  endToEnd: string[];
  compress: boolean;
}

/** Decides a conflict between two versions of a key (the conflict component, through the host). */
export type Resolve = (key: string, local: Version, remote: Version) => Resolution;

/** JetStream could not be reached or did not answer in time: the edge should retry (503). */
export class StoreUnavailable extends Error {}

export interface CloudStats {
  pushes: number;
  pulls: number;
  records: number;
  duplicates: number;
  versions: number;
  /** Compare-and-set or expected-sequence races lost and retried. */
  retries: number;
  unavailable: number;
  /** Pushes refused because a record of an end-to-end topic was not sealed. */
  notSealed: number;
}

/** Atomic batches hold at most 1000 messages (a server limit). */
const MAX_BATCH = 1000;
const MAX_RACES = 20;
const CLOUD_SUBJECT = "%cloud";

/** A topic or node name as one subject token and stream-name part: `_` → `__`, `.` → `_d`. */
export function token(name: string): string {
  return name.replace(/_/g, "__").replace(/\./g, "_d");
}

/** The name a token stands for (`token` backwards). */
export function untoken(tok: string): string {
  return tok.replace(/_(_|d)/g, (_, c: string) => (c === "_" ? "_" : "."));
}

/** A Keel key as a JetStream KV key (which allows only A-Z a-z 0-9 - _ = . /). */
export function kvKey(key: string): string {
  return `k.${toBase64(encodeUtf8(key)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

interface KeyState { k: string; p: { v: string; o: "edge" | "cloud"; b: string | null }[]; r: string[] }

function encodeState(key: string, s: { parts: Part[]; replaced: string[] }): Uint8Array {
  const doc: KeyState = { k: key, p: s.parts.map((p) => ({ v: p.version, o: p.origin, b: p.value ? toBase64(p.value) : null })), r: s.replaced };
  return encodeUtf8(JSON.stringify(doc));
}

function decodeState(data: Uint8Array): { key: string; parts: Part[]; replaced: string[] } {
  const doc = JSON.parse(decodeUtf8(data)) as KeyState;
  return { key: doc.k, parts: doc.p.map((p) => ({ version: p.v, origin: p.o, value: p.b === null ? null : fromBase64(p.b)! })), replaced: doc.r ?? [] };
}

const isRace = (e: unknown) => /wrong last sequence|wrong last msg|10071|10164/i.test(String((e as Error)?.message ?? e) + String((e as { api_error?: { err_code?: number } })?.api_error?.err_code ?? ""));
const isNotFound = (e: unknown) => /no message found|not found|404|10037|10059/i.test(String((e as Error)?.message ?? e));

export class JetStreamCloud {
  readonly stats: CloudStats = { pushes: 0, pulls: 0, records: 0, duplicates: 0, versions: 0, retries: 0, unavailable: 0, notSealed: 0 };
  private readonly cfg: JetStreamSettings;
  private readonly resolve: Resolve;
  private readonly ready: Promise<{ nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager; kv: KV }>;
  /** Streams known to exist, by topic. */
  private readonly streams = new Map<string, Promise<string>>();

  constructor(cfg: JetStreamSettings, resolve: Resolve) {
    this.cfg = cfg;
    this.resolve = resolve;
    this.ready = this.open();
    this.ready.catch(() => undefined);
  }

  private async open() {
    // waitOnFirstConnect: a gateway started before the cluster keeps trying (pushes answer 503 meanwhile).
    const nc = await connect({
      servers: this.cfg.servers, name: `keel-cloud-${process.pid}`, waitOnFirstConnect: true,
      maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: this.cfg.requestTimeoutMs,
      ...(this.cfg.token ? { token: this.cfg.token } : {}),
    });
    const js = jetstream(nc, { timeout: this.cfg.requestTimeoutMs });
    const jsm = await jetstreamManager(nc, { timeout: this.cfg.requestTimeoutMs });
    const kv = await new Kvm(js).create(`${this.cfg.name}_kv`, { history: 1, replicas: this.cfg.replicas, allow_direct: true });
    return { nc, js, jsm, kv };
  }

  /** The connection, or StoreUnavailable after the request timeout. */
  private async conn() {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailable(`JetStream (${this.cfg.servers.join(", ")}) did not answer within ${this.cfg.requestTimeoutMs} ms`)), this.cfg.requestTimeoutMs);
    });
    try {
      return await Promise.race([this.ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private streamName(topic: string): string {
    return `${this.cfg.name}_t_${token(topic)}`;
  }

  private subject(topic: string, sender: string): string {
    return `${this.cfg.name}.t.${token(topic)}.${sender === CLOUD_SUBJECT ? CLOUD_SUBJECT : token(sender)}`;
  }

  /** The topic's stream, made on first use (by whichever gateway gets there first). */
  private topicStream(topic: string, jsm: JetStreamManager): Promise<string> {
    let s = this.streams.get(topic);
    if (!s) {
      const name = this.streamName(topic);
      s = (async () => {
        try {
          await jsm.streams.info(name);
        } catch (e) {
          if (!isNotFound(e)) throw e;
          try {
            await jsm.streams.add({
              name, subjects: [`${this.cfg.name}.t.${token(topic)}.*`], num_replicas: this.cfg.replicas,
              allow_atomic: true, allow_direct: true, description: `Keel topic ${topic}: records edges pushed, one subject per edge`,
            } as never);
          } catch (e2) {
            // Another gateway made it meanwhile.
            if (!/already in use|10058/i.test(String((e2 as Error)?.message ?? e2))) throw e2;
          }
        }
        return name;
      })();
      s.catch(() => this.streams.delete(topic));
      this.streams.set(topic, s);
    }
    return s;
  }

  /** Accept a batch from `edge`: the same contract as the local store (keel:sync/cloud push). */
  async push(edge: string, body: Uint8Array): Promise<{ versions: number; records: number; duplicates: number }> {
    if (!isNodeId(edge)) throw new WireError("the credential carries no usable node id");
    const doc = decodeBody(body) as BatchDoc;
    if (doc?.v !== 1 || !Array.isArray(doc.kv) || !Array.isArray(doc.topics)) throw new WireError("not a Keel sync batch");
    // Check everything before storing anything.
    const versions = doc.kv.map((x) => checkKvItem(x));
    const topics = doc.topics.map((t) => {
      const records = checkTopicItem(t, edge).records.map(([o, ts, b]): [number, number, string] => [o, ts, b]);
      if (this.cfg.endToEnd.includes(t.t)) {
        for (const [o, , b] of records) {
          try {
            sealedHeader(fromBase64(b)!);
          } catch (e) {
            if (!(e instanceof SealError)) throw e;
            this.stats.notSealed++;
            throw new SealError(e.reason, `end-to-end topic ${t.t}: record ${o}: ${e.message}; the batch was refused and nothing applied`);
          }
        }
      }
      return { topic: t.t, records };
    });
    const c = await this.guard(() => this.conn());
    let records = 0;
    let duplicates = 0;
    await this.guard(async () => {
      for (const v of versions) await this.applyVersion(c.kv, v.key, { ...v.remote, replaces: v.remote.replaces });
      for (const t of topics) {
        const r = await this.storeRecords(c, t.topic, edge, t.records);
        records += r.stored;
        duplicates += r.duplicates;
      }
    });
    this.stats.pushes++;
    this.stats.versions += versions.length;
    this.stats.records += records;
    this.stats.duplicates += duplicates;
    return { versions: versions.length, records, duplicates };
  }

  /** Apply one key version through conflict resolution, compare-and-set on the KV revision. */
  private async applyVersion(kv: KV, key: string, remote: RemotePart): Promise<void> {
    const k = kvKey(key);
    for (let race = 0; race < MAX_RACES; race++) {
      const e = await kv.get(k);
      try {
        if (!e || e.operation !== "PUT") {
          await kv.create(k, encodeState(key, created(remote)));
          return;
        }
        const next = applyRemote(decodeState(e.value), remote, (local) => this.resolve(key, asVersion(local), asVersion(remote)));
        // A duplicate changes nothing. Keeping the local version changes nothing an edge could
        // pull; the next copy of this version is resolved again, to the same answer (strategies
        // are deterministic).
        if (!next || next.outcome === "kept-local") return;
        await kv.update(k, encodeState(key, next), e.revision);
        return;
      } catch (err) {
        if (!isRace(err) && !/exists/i.test(String((err as Error)?.message ?? err))) throw err;
        this.stats.retries++;
      }
    }
    throw new StoreUnavailable(`key ${JSON.stringify(key.slice(0, 40))} kept changing under ${MAX_RACES} attempts; retry`);
  }

  /** Store the records after the last one of this edge's already in the topic's stream. */
  private async storeRecords(c: { js: JetStreamClient; jsm: JetStreamManager }, topic: string, edge: string, recs: [number, number, string][]): Promise<{ stored: number; duplicates: number }> {
    const stream = await this.topicStream(topic, c.jsm);
    const subj = this.subject(topic, edge);
    let stored = 0;
    const sorted = [...recs].sort((a, b) => a[0] - b[0]);
    for (let race = 0; race < MAX_RACES;) {
      const last = await this.lastOn(c.jsm, stream, subj);
      const fresh = sorted.filter(([o]) => o > last.offset);
      if (!fresh.length) return { stored, duplicates: recs.length - stored };
      const chunk = fresh.slice(0, MAX_BATCH);
      try {
        await this.publishChunk(c.js, subj, chunk, last.seq);
        stored += chunk.length;
      } catch (e) {
        if (!isRace(e)) throw e;
        this.stats.retries++;
        race++;
      }
    }
    throw new StoreUnavailable(`topic ${topic}: another gateway kept storing this edge's records; retry`);
  }

  /** The edge's last stored offset on `subj` and that message's stream sequence (0 when none). */
  private async lastOn(jsm: JetStreamManager, stream: string, subj: string): Promise<{ offset: number; seq: number }> {
    let m;
    try {
      m = await jsm.streams.getMessage(stream, { last_by_subj: subj });
    } catch (e) {
      if (isNotFound(e)) return { offset: -1, seq: 0 };
      throw e;
    }
    if (!m) return { offset: -1, seq: 0 };
    const offset = Number(m.header?.get("Keel-Offset"));
    return { offset: Number.isSafeInteger(offset) ? offset : -1, seq: m.seq };
  }

  /** One atomic batch (a single message is a plain publish), the first expecting `lastSeq` on the subject. */
  private async publishChunk(js: JetStreamClient, subj: string, chunk: [number, number, string][], lastSeq: number): Promise<void> {
    const msg = ([o, t, b]: [number, number, string]) => {
      const h = natsHeaders();
      h.set("Keel-Offset", String(o));
      h.set("Keel-Time", String(t));
      return { data: fromBase64(b)!, headers: h };
    };
    const first = msg(chunk[0]);
    if (chunk.length === 1) {
      await js.publish(subj, first.data, { headers: first.headers, expect: { lastSubjectSequence: lastSeq } });
      return;
    }
    const batch = await js.startBatch(subj, first.data, { headers: first.headers, expect: { lastSubjectSequence: lastSeq } });
    for (let i = 1; i < chunk.length - 1; i++) {
      const m = msg(chunk[i]);
      batch.add(subj, m.data, { headers: m.headers });
    }
    const end = msg(chunk[chunk.length - 1]);
    const ack = await batch.commit(subj, end.data, { headers: end.headers } as never);
    if (ack.count !== chunk.length) throw new Error(`JetStream stored ${ack.count} of a batch of ${chunk.length}`);
  }

  /** Key versions after `cursor` (the KV stream's sequence) and what cloud services published on pulled topics. */
  async pull(edge: string, cursor: number, topicCursors: { topic: string; next: number }[], max: number): Promise<Uint8Array> {
    if (!isNodeId(edge)) throw new WireError("the credential carries no usable node id");
    const limit = Math.max(1, Math.min(max || 500, 5000));
    const c = await this.guard(() => this.conn());
    const doc: PullDoc = { v: 1, kv: [], next: cursor, topics: [] };
    await this.guard(async () => {
      for (const tc of topicCursors) {
        if (!this.cfg.pullTopics.includes(tc.topic)) continue; // only topics the cloud sends
        const stream = await this.topicStream(tc.topic, c.jsm);
        const sealed = this.cfg.endToEnd.includes(tc.topic);
        // An end-to-end topic forwards what every edge pushed (sealed); others serve what cloud services published.
        const msgs = await this.range(c.jsm, stream, Math.max(1, tc.next), Math.min(limit, 1000), sealed ? undefined : this.subject(tc.topic, CLOUD_SUBJECT));
        const time = (m: (typeof msgs)[number]) => Number(m.header?.get("Keel-Time")) || m.time.getTime();
        const payload = (m: (typeof msgs)[number]) => {
          const from = m.subject.slice(m.subject.lastIndexOf(".") + 1);
          if (!sealed || from === CLOUD_SUBJECT) return toBase64(m.data);
          return toBase64(encodeUtf8(JSON.stringify({ n: untoken(from), o: Number(m.header?.get("Keel-Offset")), t: time(m), b: toBase64(m.data) })));
        };
        if (msgs.length) doc.topics.push({ t: tc.topic, r: msgs.map((m) => [m.seq, time(m), payload(m)]) } satisfies TopicItem);
      }
      if (this.cfg.pullKeys) {
        const msgs = await this.range(c.jsm, `KV_${this.cfg.name}_kv`, Math.max(1, cursor), limit);
        const latest = new Map<string, KvItem[]>();
        for (const m of msgs) {
          if (!m.data.length) continue; // a delete marker: Keel never deletes KV entries, tombstones are parts
          const s = decodeState(m.data);
          latest.set(s.key, s.parts.map((p) => ({ k: s.key, v: p.version, o: p.origin, b: p.value ? toBase64(p.value) : null, r: s.replaced })));
        }
        doc.kv = [...latest.values()].flat();
        if (msgs.length) doc.next = msgs[msgs.length - 1].seq + 1;
      }
    });
    this.stats.pulls++;
    return encodeBody(doc, this.cfg.compress).body;
  }

  /** Up to `max` messages from `seq` on (only `subject`'s, when given); none past the end. */
  private async range(jsm: JetStreamManager, stream: string, seq: number, max: number, subject?: string) {
    const out = [];
    try {
      const it = await jsm.direct.getBatch(stream, { seq, batch: max, ...(subject ? { next_by_subj: subject } : {}) });
      for await (const m of it) out.push(m);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    return out;
  }

  /** NATS failures (no leader, timeouts, no connection) as StoreUnavailable: the edge retries. */
  private async guard<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      if (e instanceof WireError || e instanceof StoreUnavailable) {
        if (e instanceof StoreUnavailable) this.stats.unavailable++;
        throw e;
      }
      this.stats.unavailable++;
      throw new StoreUnavailable(`JetStream: ${String((e as Error)?.message ?? e).slice(0, 300)}`);
    }
  }

  async close(): Promise<void> {
    try {
      const c = await Promise.race([this.ready, new Promise<null>((r) => setTimeout(() => r(null), 200))]);
      await c?.nc.drain();
    } catch {
      // closing anyway
    }
  }
}
