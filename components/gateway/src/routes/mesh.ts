// /_keel/mesh/*: operators (admin scope) see and steer the mesh; peers (mesh scope, node
// credentials) exchange gossip. A refused gossip is counted (keel_mesh_refused_total). 501 in
// builds without the mesh (edge-lite).
import type { Ctx, Handler, Route } from "../route-table.ts";
import { guard } from "../route-table.ts";
import type { MeshService } from "../services.ts";
import type { Io } from "../sync-runner.ts";
import { runMeshRound } from "../mesh-runner.ts";
import { errorResponse, jsonResponse } from "../errors.ts";
import { decodeText } from "../text.ts";
import { MAX_BODY_BYTES } from "../limits.ts";
import { witError } from "@keel/model";

/** Durable counter of gossip refused for a missing or bad node credential. */
export const MESH_REFUSED = "keel_mesh_refused_total";

type MeshCtx = Ctx & { mesh: MeshService; io: Io };

const withMesh = (run: (ctx: MeshCtx) => ReturnType<Handler>): Handler => (ctx) => {
  const { mesh, io } = ctx.svc;
  if (!mesh || !io) return errorResponse(501, "not_implemented", "the mesh is not part of this build (edge-lite); run dist/composed.wasm for the mesh");
  try {
    return run({ ...ctx, mesh, io });
  } catch (e) {
    const err = witError(e);
    if (err?.tag === "not-configured") return errorResponse(409, "mesh_disabled", "the mesh is not enabled on this node ([mesh] enabled = true)");
    if (err?.tag === "invalid") return errorResponse(400, "bad_request", String(err.val ?? "invalid"));
    throw e;
  }
};

/** A JSON object body, or the error response. */
function jsonBody(ctx: Ctx): Record<string, unknown> | ReturnType<Handler> {
  if (ctx.req.body === null) return errorResponse(413, "too_large", `body is larger than ${MAX_BODY_BYTES} bytes`);
  try {
    const doc = JSON.parse(decodeText(ctx.req.body)) as unknown;
    if (typeof doc === "object" && doc !== null && !Array.isArray(doc)) return doc as Record<string, unknown>;
  } catch {
    // answered below
  }
  return errorResponse(400, "bad_json", "body must be a JSON object");
}

const isResponse = (x: unknown): x is ReturnType<Handler> => typeof x === "object" && x !== null && "status" in x && "body" in x;

const status = withMesh(({ mesh, io }) => {
  const s = mesh.status(io.nowMs());
  return jsonResponse(200, {
    enabled: s.enabled, node: s.node, url: s.url ?? null,
    peers: s.peers.map(peerJson),
    lags: s.lags.map((l) => ({ scope: l.scope, peer: l.peer, behind: l.behind })),
    rounds: s.rounds, served: s.served, bytes_sent: s.bytesSent, bytes_received: s.bytesReceived, repaired: s.repaired, failed: s.failed,
  });
});

const peerJson = (p: ReturnType<MeshService["status"]>["peers"][number]) => ({ id: p.id, url: p.url, state: p.state, source: p.source, last_seen_ms: p.lastSeenMs, failures: p.failures });

const join = withMesh((ctx) => {
  const doc = jsonBody(ctx);
  if (isResponse(doc)) return doc;
  if (typeof doc.id !== "string" || typeof doc.url !== "string") return errorResponse(400, "bad_request", 'body must be {"id": "<node id>", "url": "http://host:port"}');
  ctx.mesh.join(doc.id, doc.url, ctx.io.nowMs());
  return jsonResponse(200, { joined: doc.id });
});

const leave = withMesh((ctx) => {
  const doc = jsonBody(ctx);
  if (isResponse(doc)) return doc;
  if (typeof doc.id !== "string") return errorResponse(400, "bad_request", 'body must be {"id": "<node id>"}');
  ctx.mesh.leave(doc.id);
  return jsonResponse(200, { left: doc.id });
});

/** Guarded here rather than by the table, so a refusal can be counted. */
const gossip: Handler = (ctx) => {
  const denied = guard(ctx.req, ctx.svc, "mesh");
  const node = ctx.req.principal?.node;
  if (denied || !node) {
    try {
      ctx.svc.admin.recordEvent(MESH_REFUSED);
    } catch {
      // a counter is not worth failing over
    }
    return denied ?? errorResponse(403, "forbidden", "gossip needs a node credential (a token with the mesh scope and a node claim)");
  }
  return withMesh(({ req, mesh, io }) => {
    if (req.body === null) return errorResponse(413, "too_large", `body is larger than ${MAX_BODY_BYTES} bytes`);
    return { status: 200, headers: [["content-type", "application/json"]], body: mesh.gossip(node, req.body, io.nowMs()) };
  })(ctx);
};

export const meshRoutes: Route[] = [
  { path: "/_keel/mesh/status", methods: { GET: { cls: "admin", run: status } } },
  { path: "/_keel/mesh/peers", methods: { GET: { cls: "admin", run: withMesh(({ mesh, io }) => jsonResponse(200, { peers: mesh.status(io.nowMs()).peers.map(peerJson) })) } } },
  { path: "/_keel/mesh/join", methods: { POST: { cls: "admin", run: join } } },
  { path: "/_keel/mesh/leave", methods: { POST: { cls: "admin", run: leave } } },
  { path: "/_keel/mesh/gossip", methods: { POST: { cls: null, run: gossip } } },
  // A round now (for a cron under wasmtime serve, which has no timers; and for operators).
  { path: "/_keel/mesh/now", methods: { POST: { cls: "admin", run: withMesh(({ mesh, io }) => jsonResponse(200, runMeshRound(mesh, io))) } } },
  // Anything else under /_keel/mesh/: closed before anything else (node credentials), then 404.
  { path: /^\/_keel\/mesh\//, methods: {}, any: { cls: "mesh", run: ({ req }) => errorResponse(404, "not_found", `no mesh route ${req.pathWithQuery.split("?")[0]}`) } },
];
