// The generic cell rate algorithm (GCRA): one number of state per key — the theoretical
// arrival time (TAT) — admits at most `burst` requests at once and `rate` per second after,
// so over any interval t the admitted count is ≤ burst + rate × t.

export interface Rule {
  /** Requests per second. */
  rate: number;
  /** Requests allowed at once. */
  burst: number;
}

export interface Decision {
  allowed: boolean;
  /** TAT to store (unchanged when refused). */
  tat: number;
  limit: number;
  remaining: number;
  resetSeconds: number;
  retryAfterSeconds: number;
}

export function gcra(storedTat: number | null, nowMs: number, rule: Rule): Decision {
  const interval = 1000 / rule.rate; // ms per request
  const tolerance = interval * rule.burst; // how far ahead of now the TAT may run
  const tat = Math.max(storedTat ?? nowMs, nowMs);
  const next = tat + interval;
  if (next - nowMs <= tolerance + 1e-9) {
    return {
      allowed: true,
      tat: next,
      limit: rule.burst,
      remaining: Math.max(0, Math.floor((tolerance - (next - nowMs)) / interval + 1e-9)),
      resetSeconds: Math.ceil((next - nowMs) / 1000),
      retryAfterSeconds: 0,
    };
  }
  return {
    allowed: false,
    tat,
    limit: rule.burst,
    remaining: 0,
    resetSeconds: Math.ceil((tat - nowMs) / 1000),
    // Allowed again once next - now ≤ tolerance.
    retryAfterSeconds: Math.max(1, Math.ceil((next - tolerance - nowMs) / 1000)),
  };
}
