// /_keel/sync/*: operators (admin scope) see and steer sync on this node; other nodes (sync
// scope, node credentials) push to and pull from a cloud node. 501 in builds without sync.
import type { Ctx, Handler, Route } from "../route-table.ts";
import type { SyncService } from "../services.ts";
import type { Io } from "../sync-runner.ts";
import { runSync } from "../sync-runner.ts";
import { errorResponse, jsonResponse } from "../errors.ts";
import { limitParam, offsetParam } from "../query.ts";
import { MAX_BODY_BYTES } from "../limits.ts";

type SyncCtx = Ctx & { sync: SyncService; io: Io };

/** A handler that needs sync: 501 where the build has none (edge-lite). */
const withSync = (run: (ctx: SyncCtx) => ReturnType<Handler>): Handler => (ctx) => {
  const { sync, io } = ctx.svc;
  if (!sync || !io) return errorResponse(501, "not_implemented", "sync is not part of this build (edge-lite); run dist/composed.wasm for sync");
  return run({ ...ctx, sync, io });
};

const status = (pick: "status" | "queue") => withSync(({ sync }) => {
  const st = sync.status() as { lags?: unknown };
  return jsonResponse(200, pick === "queue" ? { queue: st.lags } : st);
});

const steer = (paused: boolean) => withSync(({ sync }) => {
  if (paused) sync.pause();
  else sync.resume();
  return jsonResponse(200, { paused });
});

const push = withSync(({ req, sync }) => {
  const node = req.principal?.node;
  if (!node) return errorResponse(403, "forbidden", "pushing needs a node credential (a token with a node claim)");
  if (req.body === null) return errorResponse(413, "too_large", `body is larger than ${MAX_BODY_BYTES} bytes`);
  return jsonResponse(200, sync.push(node, req.body));
});

const pull = withSync(({ req, sync, query }) => {
  const node = req.principal?.node;
  if (!node) return errorResponse(403, "forbidden", "pulling needs a node credential (a token with a node claim)");
  const cursor = offsetParam(query, "cursor", 0);
  const max = limitParam(query, "max", 500, 5000);
  if (typeof cursor !== "number") return cursor;
  if (typeof max !== "number") return max;
  const topics: { topic: string; next: number }[] = [];
  for (const k of query.keys()) {
    if (!k.startsWith("t.")) continue;
    const next = offsetParam(query, k, 0);
    if (typeof next !== "number") return next;
    topics.push({ topic: k.slice(2), next });
  }
  return { status: 200, headers: [["content-type", "application/json"]], body: sync.pull(node, cursor, topics, max) };
});

export const syncRoutes: Route[] = [
  { path: "/_keel/sync/status", methods: { GET: { cls: "admin", run: status("status") } } },
  { path: "/_keel/sync/queue", methods: { GET: { cls: "admin", run: status("queue") } } },
  {
    path: "/_keel/sync/now",
    methods: {
      POST: {
        cls: "admin",
        run: withSync(({ sync, io }) => {
          const summary = runSync(sync, io);
          return jsonResponse(summary.error ? 502 : 200, summary);
        }),
      },
    },
  },
  { path: "/_keel/sync/pause", methods: { POST: { cls: "admin", run: steer(true) } } },
  { path: "/_keel/sync/resume", methods: { POST: { cls: "admin", run: steer(false) } } },
  { path: "/_keel/sync/push", methods: { POST: { cls: "sync", run: push } } },
  { path: "/_keel/sync/pull", methods: { GET: { cls: "sync", run: pull } } },
];
