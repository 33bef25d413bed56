// Keel's shared model: one definition of each rule, below every component.
export { tick, compare, formatHlc, parseHlc, mergedStamp, type Hlc } from "./hlc.ts";
export {
  checkKey, checkTopic, isTopic, isNodeId, isReplicableTopic, scopedTopic,
  MAX_KEY_BYTES, MAX_TOPIC_CHARS, MAX_NODE_ID_CHARS, NODE_ID_PATTERN, TOPIC_PATTERN, type InvalidName,
} from "./names.ts";
export { prefer, resolve, type Origin, type Version, type Strategy, type Decision, type Resolution, type Merge } from "./strategies.ts";
export { conflictSettings, strategyFor, STRATEGIES, type ConflictSettings } from "./conflict-policy.ts";
export { outbound, DEFAULT_NODE_ID, type Role, type Direction } from "./directions.ts";
export { ROUTE_CLASSES, type RouteClass } from "./route-class.ts";
export { witError, witErrorText, describeThrown, type WitVariant } from "./wit-error.ts";
export {
  applyDecision, applyRemote, asVersion, byStampDesc, created, isDuplicate, localPart, stampOf, succeeds, successor, MAX_REPLACED, MAX_SIBLINGS,
  type Applied, type ApplyOutcome, type Part, type RemotePart,
} from "./key-state.ts";
export { parseQuery } from "./query.ts";
