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

export const EdgeTomlSchema = table(sections);

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
