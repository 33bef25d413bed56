// Wiring only: keel:mesh/membership → mesh.ts. The data goes through keel:storage (kv, log,
// replication); /data/mesh holds only the mesh's own state (peers, cursors, counters).
import { nodeConfig } from "@keel/wasi-dir/node-config";
import { WasiDir } from "@keel/wasi-dir/wasi";
import * as kv from "keel:storage/kv@0.1.0";
import * as log from "keel:storage/log@0.1.0";
import * as replication from "keel:storage/replication@0.1.0";
import { describeThrown } from "@keel/model";
import { compress, decompress, deflate } from "keel:text/gzip@0.1.0";
import { useGzip } from "@keel/wire";
import * as base64 from "keel:text/base64@0.1.0";
import { useBase64 } from "@keel/bytes";
import { meshConfig } from "./config.ts";
import { Mesh, MeshError, NotConfigured, type Storage } from "./mesh.ts";
import type * as Membership from "keel:mesh/membership@0.1.0";

// Replies are gzipped and inflated compiled (components/gzip: libdeflate), not by fflate in QuickJS.
useGzip({ compress, decompress, deflate });
useBase64(base64);

const record = (r: { offset: number | bigint; timestampMs: number | bigint; payload: Uint8Array }) => ({ offset: Number(r.offset), timestampMs: Number(r.timestampMs), payload: r.payload });

const storage: Storage = {
  applyMany: (versions) => kv.applyMany(versions.map(({ key, remote }) => [key, remote])),
  append: (topic, payloads) => void log.append(topic, payloads),
  read: (topic, from, max) => log.read(topic, from, max).map(record),
  lastRecord: (topic) => {
    const r = replication.lastRecord(topic);
    return r ? record(r) : null;
  },
  topics: () => log.topics(),
  meshChanges: (from, max) => {
    const c = replication.meshChanges(from, max);
    return { keys: c.keys, read: c.read, last: c.last === null || c.last === undefined ? null : Number(c.last) };
  },
  meshEnd: () => Number(replication.meshEnd()),
};

let mesh: Mesh | undefined;
function current(): Mesh {
  if (!mesh) {
    const { config, env } = nodeConfig();
    mesh = new Mesh(WasiDir.open(), meshConfig(config, env), storage);
  }
  return mesh;
}

/** Mesh errors become the WIT error variant; storage errors pass through as `other`. */
function guard<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof NotConfigured) throw { tag: "not-configured" };
    if (e instanceof MeshError) throw { tag: "invalid", val: e.message };
    throw { tag: "other", val: describeThrown(e) };
  }
}

export const membership: typeof Membership = {
  status: (_nowMs) => guard(() => current().status()),
  join: (id, url, source, _nowMs) => guard(() => current().join(id, url, source)),
  leave: (id) => guard(() => current().leave(id)),
  gossip: (from, message, nowMs) => guard(() => current().gossip(from, message, Number(nowMs))),
  due: (nowMs) => {
    try {
      return current().due(Number(nowMs));
    } catch {
      return false;
    }
  },
  beginRound: (nowMs) => guard(() => current().beginRound(Number(nowMs))),
  deliver: (peer, reply, nowMs) => guard(() => current().deliver(peer, reply, Number(nowMs))),
  unreachable: (peer, _reason, nowMs) => guard(() => current().unreachable(peer, Number(nowMs))),
  endRound: () => guard(() => current().endRound()),
};
