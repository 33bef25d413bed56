// The schema of deployment/edge.toml: every section, strict (unknown keys are errors), with the
// defaults the components use, so what the host hands them is complete and typed.
//
// Why valibot: the schema is data plus small functions, its output type is inferred (one source
// for the shape, no hand-written mirror), every issue carries its key path, and it collects all
// problems instead of stopping at the first. It is small and tree-shakable (a schema pulls in
// only the validators it uses), has no dependencies, and is actively maintained. zod would do the
// same job at several times the size; a JSON Schema validator (ajv) compiles schemas with
// `new Function`, which we would rather not have in the path that reads operator input, and
// needs a separate step for TypeScript types.
import * as v from "valibot";
import { table } from "./fields.ts";
import { auth } from "./sections/auth.ts";
import { cloud } from "./sections/cloud.ts";
import { conflict } from "./sections/conflict.ts";
import { mesh } from "./sections/mesh.ts";
import { budgets, components, node, performance, wasmtime } from "./sections/node.ts";
import { observability } from "./sections/observability.ts";
import { rateLimit } from "./sections/rate-limit.ts";
import { storage } from "./sections/storage.ts";
import { sync } from "./sections/sync.ts";

/** One entry per top-level table; a missing table gets its defaults. */
export const sections = {
  node: v.optional(node, {}),
  components: v.optional(components, {}),
  budgets: v.optional(budgets, {}),
  wasmtime: v.optional(wasmtime, {}),
  performance: v.optional(performance, {}),
  storage: v.optional(storage, {}),
  sync: v.optional(sync, {}),
  cloud: v.optional(cloud, {}),
  conflict: v.optional(conflict, {}),
  auth: v.optional(auth, {}),
  rate_limit: v.optional(rateLimit, {}),
  mesh: v.optional(mesh, {}),
  observability: v.optional(observability, {}),
};

/** An issue at a key path (valibot wants full path items; only the keys are read, for lines). */
const at = (keys: (string | number)[]) => keys.map((key) => ({ type: "object", origin: "value", input: {}, key, value: undefined })) as unknown as [v.IssuePathItem, ...v.IssuePathItem[]];

/**
 * Rules across sections. End-to-end topics: an edge seals and opens them, so it must name its
 * keys; the cloud only stores and forwards them and must never hold the keys.
 */
const crossSection = v.rawCheck<v.InferOutput<ReturnType<typeof table<typeof sections>>>>(({ dataset, addIssue }) => {
  if (!dataset.typed) return;
  const { node, sync } = dataset.value;
  if (node.role === "cloud" && sync.encryption_key_env !== undefined) {
    addIssue({ message: "a cloud node never holds end-to-end keys (it stores and forwards sealed records); remove encryption_key_env", path: at(["sync", "encryption_key_env"]) });
  }
  if (node.role === "edge" && sync.encryption_key_env === undefined) {
    const i = sync.topics.findIndex((t) => t.end_to_end);
    if (i >= 0) addIssue({ message: "an end-to-end topic needs [sync] encryption_key_env on an edge (the environment variable holding kid:BASE64KEY keys)", path: at(["sync", "topics", i, "end_to_end"]) });
  }
});

export const EdgeTomlSchema = v.pipe(table(sections), crossSection);

/** A validated edge.toml with every default applied. */
export type EdgeToml = v.InferOutput<typeof EdgeTomlSchema>;
export type NodeSection = EdgeToml["node"];
export type StorageSection = EdgeToml["storage"];
export type SyncSection = EdgeToml["sync"];
export type CloudSection = EdgeToml["cloud"];
export type ConflictSection = EdgeToml["conflict"];
export type AuthSection = EdgeToml["auth"];
export type RateLimitSection = EdgeToml["rate_limit"];
export type RateRule = NonNullable<RateLimitSection["rules"]["read"]>;
export type MeshSection = EdgeToml["mesh"];
export type ObservabilitySection = EdgeToml["observability"];
export type Loading = "eager" | "lazy";
