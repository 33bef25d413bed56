// @keel/config: the schema of edge.toml, its validation, and the types components read.
export { EdgeTomlSchema, sections } from "./schema.ts";
export type {
  AuthSection, ConflictSection, EdgeToml, Loading, MeshSection, NodeSection, ObservabilitySection,
  RateLimitSection, RateRule, StorageSection, SyncSection, CloudSection,
} from "./schema.ts";
export type { ResolvedKey } from "./sections/auth.ts";
export { describeProblems, formatPath, MAX_CONFIG_BYTES, validateDocument, validateToml, type ConfigProblem, type ConfigResult } from "./validate.ts";
export * from "./rules.ts";

import type { EdgeToml } from "./schema.ts";
import type { ResolvedKey } from "./sections/auth.ts";

/**
 * What a component receives as JSON in KEEL_NODE_CONFIG: the validated edge.toml with defaults
 * applied, and the auth keys resolved by the host (PEM files and the JWKS file read, secrets
 * still referenced by environment-variable name).
 */
export type NodeConfig = Omit<EdgeToml, "auth"> & { auth: EdgeToml["auth"] & { resolved_keys: ResolvedKey[] } };
