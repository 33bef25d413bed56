// Rate-limit decisions. This build admits every request (limit 0 = unlimited, so the gateway
// sends no RateLimit headers); GCRA with durable shared state replaces this body.

export interface Verdict {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetSeconds: number;
  retryAfterSeconds: number;
}

export function check(_routeClass: string, _key: string, _nowMs: number): Verdict {
  return { allowed: true, limit: 0, remaining: 0, resetSeconds: 0, retryAfterSeconds: 0 };
}
