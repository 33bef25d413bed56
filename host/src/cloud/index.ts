// [cloud] store = "jetstream": the cloud gateway answers sync pushes and pulls from a NATS
// JetStream cluster instead of its data dir (jetstream.ts), checking credentials with the auth
// component and deciding conflicts with the conflict component (plug-ins included).
import { ConfigError } from "../config-error.ts";
import type { EdgeConfig } from "../config.ts";
import type { Host } from "../host.ts";
import type { PlainRequest, PlainResponse } from "../http-server.ts";
import { log } from "../log.ts";
import { outbound, type Resolution, type Version } from "@keel/model";
import { JetStreamCloud } from "./jetstream.ts";
import { handleCloudRoute, isCloudRoute, type Authorize, type Limit } from "./routes.ts";

export interface CloudTier {
  store: JetStreamCloud;
  route: (req: PlainRequest) => Promise<PlainResponse> | undefined;
  metrics: () => string;
}

interface WitVersion { stamp: { wallMs: bigint; counter: number; node: string }; origin: "edge" | "cloud"; value: Uint8Array | undefined }
interface WitResolution { decision: { tag: string; val?: Uint8Array }; strategy: string; fallbackReason?: string }

const toWit = (v: Version): WitVersion => ({ stamp: { wallMs: BigInt(v.stamp.wallMs), counter: v.stamp.counter, node: v.stamp.node }, origin: v.origin, value: v.value ?? undefined });

/** The JetStream cloud store when edge.toml asks for it; undefined for the local store. */
export function startCloudTier(host: Host, config: EdgeConfig, env: NodeJS.ProcessEnv = process.env): CloudTier | undefined {
  const c = config.raw.cloud;
  if (c.store !== "jetstream") return undefined;
  if (config.node.role !== "cloud") throw new ConfigError(`${config.file}: cloud.store = "jetstream" is for a cloud node (node.role = "cloud")`);
  if (!config.raw.sync.enabled) throw new ConfigError(`${config.file}: cloud.store = "jetstream" needs [sync] enabled = true`);
  let token: string | undefined;
  if (c.token_env !== undefined) {
    token = env[c.token_env];
    if (!token) throw new ConfigError(`${config.file}: environment variable ${c.token_env} (cloud.token_env) is not set`);
  }
  const sends = outbound(config.raw.sync, "cloud");
  const resolver = host.use<{ resolve(key: string, l: WitVersion, r: WitVersion): WitResolution }>("keel:conflict/resolver");
  const verifier = host.use<{ authorize: Authorize }>("keel:auth/verifier");
  const limiter = host.use<{ check: Limit }>("keel:rate-limit/limiter");
  const store = new JetStreamCloud({
    servers: c.servers, replicas: c.replicas, name: c.name, requestTimeoutMs: c.request_timeout_ms, token,
    pullTopics: sends.topics, pullKeys: sends.prefixes.length > 0, compress: config.raw.sync.compression,
    endToEnd: config.raw.sync.topics.filter((t) => t.end_to_end).map((t) => t.name),
  }, (key, local, remote): Resolution => {
    const r = resolver.resolve(key, toWit(local), toWit(remote));
    const decision = r.decision.tag === "merged" ? { tag: "merged" as const, val: r.decision.val ?? null } : (r.decision as Resolution["decision"]);
    return { decision, strategy: r.strategy as Resolution["strategy"], fallbackReason: r.fallbackReason ?? null };
  });
  log("info", "cloud store: JetStream", { servers: c.servers, replicas: c.replicas, name: c.name });
  return {
    store,
    route: (req) => (isCloudRoute(req.pathWithQuery) ? handleCloudRoute(req, store, verifier.authorize, limiter.check) : undefined),
    metrics: () => cloudMetricsText(store),
  };
}

function cloudMetricsText(store: JetStreamCloud): string {
  const s = store.stats;
  const lines: string[] = [];
  const counter = (name: string, help: string, v: number) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${v}`);
  counter("keel_cloud_pushes_total", "Sync pushes this gateway stored in JetStream.", s.pushes);
  counter("keel_cloud_pulls_total", "Sync pulls this gateway answered from JetStream.", s.pulls);
  counter("keel_cloud_records_total", "Topic records stored in JetStream by this gateway.", s.records);
  counter("keel_cloud_duplicate_records_total", "Pushed records already in JetStream (a retried batch), not stored again.", s.duplicates);
  counter("keel_cloud_versions_total", "Key versions applied through conflict resolution to the JetStream KV bucket.", s.versions);
  counter("keel_cloud_races_total", "Compare-and-set or expected-sequence races lost to another gateway and retried.", s.retries);
  counter("keel_cloud_unavailable_total", "Pushes and pulls answered 503 because JetStream did not answer.", s.unavailable);
  counter("keel_cloud_not_sealed_total", "Pushes refused because a record of an end-to-end topic was not sealed.", s.notSealed);
  return lines.join("\n") + "\n";
}
