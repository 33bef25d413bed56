// What the router calls: the gateway's imports as plain TypeScript (u64s as numbers), so the
// router runs the same in the composed component, under the Node host and in tests.
import type { Io, SyncApi } from "./sync-runner.ts";
import type { RouteClass } from "@keel/model";

export type { RouteClass };

export interface Sibling {
  version: string;
  origin: string;
  value: Uint8Array | null | undefined;
}

export interface Entry {
  key: string;
  value: Uint8Array;
  version: string;
  siblings: Sibling[];
}

export interface RemoteVersion {
  version: string;
  origin: string;
  value: Uint8Array | undefined;
  replaces: string[];
}

export interface Usage {
  usedBytes: number;
  maxBytes: number;
  keys: number;
  topics: number;
  kvBytes: number;
  logBytes: number;
  maxValueBytes: number;
  eviction: string;
}

/** Who a request comes from, for rate-limit buckets. */
export interface Identity {
  clientIp: string;
  subject: string | undefined;
  apiKey: string | undefined;
}

export type SyncService = SyncApi & {
  status(): unknown;
  pause(): void;
  resume(): void;
  push(edge: string, body: Uint8Array): { versions: number; records: number; duplicates: number };
  pull(edge: string, cursor: number, topics: { topic: string; next: number }[], max: number): Uint8Array;
};

export interface Services {
  kv: {
    get(key: string): Entry | null | undefined;
    put(key: string, value: Uint8Array, ifMatch: string | undefined): string;
    delete(key: string, ifMatch: string | undefined): boolean;
    scan(prefix: string, cursor: string | undefined, limit: number): { entries: Entry[]; nextCursor?: string | null };
    apply(key: string, remote: RemoteVersion): string;
  };
  log: {
    append(topic: string, payloads: Uint8Array[]): number[];
    read(topic: string, from: number, max: number): { offset: number; timestampMs: number; payload: Uint8Array }[];
    topics(): string[];
  };
  admin: {
    usage(): Usage;
    counters(): { name: string; value: number }[];
    conflicts(from: number, max: number): { offset: number; timestampMs: number; payload: Uint8Array }[];
    /** Count a rare event in a durable counter (e.g. CLIENT_ABORTS). */
    recordEvent(name: string): void;
  };
  verifier: { authorize(routeClass: RouteClass, authorization: string | undefined, nowMs: number): { subject: string; node?: string | null } };
  limiter: {
    check(routeClass: RouteClass, who: Identity, nowMs: number): {
      allowed: boolean; limit: number; remaining: number; resetSeconds: number; retryAfterSeconds: number;
    };
    counters(): { name: string; value: number }[];
  };
  /** Absent in builds without sync (edge-lite): its routes answer 501. */
  sync?: SyncService;
  /** The HTTP client and clock a sync run uses (absent with sync). */
  io?: Io;
  nowMs(): number;
}
