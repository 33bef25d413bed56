// Wiring only: the full gateway (dist/composed.wasm) — core services plus sync and the mesh,
// whose runs and rounds use the wasi:http client. Built with QuickJS (compose/components.toml:
// wasi_alias).
import { subscribeDuration } from "wasi:clocks/monotonic-clock@0.2.12";
import * as syncOutbox from "keel:sync/outbox@0.1.0";
import * as syncCloud from "keel:sync/cloud@0.1.0";
import * as membership from "keel:mesh/membership@0.1.0";
import { coreServices, instanceFlags } from "./core-services.ts";
import { decode, encode, encodeAll, encodePacked } from "keel:text/utf8@0.1.0";
import { useEncoder } from "./text.ts";
import * as base64 from "keel:text/base64@0.1.0";
import { useBase64 } from "@keel/bytes";
import { gatewayExports } from "./exports.ts";
import { runSync, type Io } from "./sync-runner.ts";
import { request } from "./wasi-http-client.ts";
import { runMeshRound } from "./mesh-runner.ts";
import type { MeshService, SyncService } from "./router.ts";

const sync: SyncService = {
  plan: () => syncOutbox.plan(),
  nextBatch: () => syncOutbox.nextBatch(),
  paused: () => syncOutbox.paused(),
  tryBegin: (nowMs) => syncOutbox.tryBegin(nowMs),
  end: () => syncOutbox.end(),
  ack: (cursors, nowMs) => syncOutbox.ack(cursors, nowMs),
  fail: (message, nowMs) => syncOutbox.fail(message, nowMs),
  pullRequest: () => syncOutbox.nextPull(),
  applyPulled: (body) => syncOutbox.applyPulled(body),
  status: () => {
    const st = syncOutbox.status();
    return {
      enabled: st.enabled, role: st.role, paused: st.paused, last_sync_ms: st.lastSyncMs, last_error: st.lastError ?? null,
      lags: st.lags.map((l) => ({ name: l.name, records: l.records, oldest_seconds: l.oldestSeconds })),
      sealed_refused: { wrong_key: st.sealedRefused.wrongKey, tampered: st.sealedRefused.tampered, unknown_key: st.sealedRefused.unknownKey, not_sealed: st.sealedRefused.notSealed },
    };
  },
  pause: () => syncOutbox.pause(),
  resume: () => syncOutbox.resume(),
  push: (edge, body) => syncCloud.push(edge, body),
  pull: (edge, cursor, topics, max) => syncCloud.pull(edge, cursor, topics, max),
};

const mesh: MeshService = {
  status: (nowMs) => membership.status(nowMs),
  join: (id, url, nowMs) => membership.join(id, url, "joined", nowMs),
  leave: (id) => membership.leave(id),
  gossip: (from, message, nowMs) => membership.gossip(from, message, nowMs),
  due: (nowMs) => membership.due(nowMs),
  beginRound: (nowMs) => membership.beginRound(nowMs) ?? null,
  deliver: (peer, reply, nowMs) => membership.deliver(peer, reply, nowMs),
  unreachable: (peer, reason, nowMs) => membership.unreachable(peer, reason, nowMs),
  endRound: (nowMs) => membership.endRound(nowMs),
};

const core = coreServices();

const io: Io = {
  request,
  sleep: (ms) => {
    if (ms > 0) subscribeDuration(Math.round(ms * 1e6)).block();
  },
  nowMs: () => Date.now(),
  // Retry jitter from the host: Math.random repeats itself in every fresh instance.
  random: () => core.random(),
};

const services = { ...core, sync, mesh, io };

// wasmtime serve has no timers: a sync or mesh round that is due runs after the response that
// noticed it has been sent (the client is not kept waiting). Peers' gossip requests are
// responses too, so a mesh keeps itself going once one node gossips.
// A node with sync or the mesh off never asks whether a run is due (two component calls per
// request otherwise: ~4% of a GET's CPU).
function afterResponse(): void {
  const work = instanceFlags();
  try {
    if (work.sync && syncOutbox.due(Date.now())) runSync(sync, io, 4, 0, true);
  } catch {
    // recorded in sync status by the run itself
  }
  try {
    if (work.mesh && membership.due(Date.now())) runMeshRound(mesh, io);
  } catch {
    // failures are the mesh's peer states and counters
  }
}

useEncoder({ encode, encodeAll, encodePacked, decode });
useBase64(base64);

export const { incomingHandler, http } = gatewayExports(services, afterResponse);
