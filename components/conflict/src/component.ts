// Wiring only: keel:conflict/resolver → policy.ts and strategies.ts; `custom` calls the plugged
// keel:conflict/merge (a user's plug-in, or merge-default which declines).
import { merge } from "keel:conflict/merge@0.1.0";
import { nodeConfig } from "../../storage/src/node-config.ts";
import { conflictSettings, strategyFor, type ConflictSettings } from "./policy.ts";
import { resolve, type Version } from "./strategies.ts";

let settings: ConflictSettings | undefined;
function current(): ConflictSettings {
  if (!settings) {
    settings = conflictSettings(nodeConfig().config);
  }
  return settings;
}

export const resolver = {
  strategyFor: (key: string) => strategyFor(current(), key),
  resolve: (key: string, local: Version, remote: Version) => {
    const s = current();
    const r = resolve(strategyFor(s, key), s.fallback, local, remote, (l, rm) => merge(key, l, rm), s.maxValueBytes);
    return { decision: r.decision, strategy: r.strategy, fallbackReason: r.fallbackReason };
  },
};
