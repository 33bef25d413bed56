// Sync state. This build has no outbox yet: status reports an idle, never-synced node and
// every action answers that sync is not configured, so callers get a clear error.

export interface SyncStatus {
  paused: boolean;
  lastSyncMs: number;
  lags: { name: string; records: number; oldestSeconds: number }[];
}

export const notConfigured = () => ({ tag: "other", val: "sync is not configured on this node" });

export function status(): SyncStatus {
  return { paused: false, lastSyncMs: 0, lags: [] };
}
