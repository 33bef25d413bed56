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
  /** Requests' worth taken from the bucket: n, 1 when only one fit, 0 when refused. */
  taken: number;
  /** TAT to store (unchanged when refused). */
  tat: number;
  limit: number;
  remaining: number;
  resetSeconds: number;
  retryAfterSeconds: number;
}

export function gcra(storedTat: number | null, nowMs: number, rule: Rule): Decision {
  return gcraTake(storedTat, nowMs, rule, 1);
}

/**
 * Take `n` requests' worth at once (a lease an instance spends from memory): allowed when the
 * n-th would be allowed now, else decided as one request. Everything a lease admits was
 * admitted by the bucket at this moment, so spending it later never lets more than
 * burst + rate × t through.
 */
export function gcraTake(storedTat: number | null, nowMs: number, rule: Rule, n: number): Decision {
  const interval = 1000 / rule.rate; // ms per request
  const tolerance = interval * rule.burst; // how far ahead of now the TAT may run
  const tat = Math.max(storedTat ?? nowMs, nowMs);
  const next = tat + n * interval;
  if (next - nowMs <= tolerance + 1e-9) {
    return {
      allowed: true,
      taken: n,
      tat: next,
      limit: rule.burst,
      remaining: Math.max(0, Math.floor((tolerance - (next - nowMs)) / interval + 1e-9)),
      resetSeconds: Math.ceil((next - nowMs) / 1000),
      retryAfterSeconds: 0,
    };
  }
  if (n > 1) return gcraTake(storedTat, nowMs, rule, 1);
  return {
    allowed: false,
    taken: 0,
    tat,
    limit: rule.burst,
    remaining: 0,
    resetSeconds: Math.ceil((tat - nowMs) / 1000),
    // Allowed again once next - now ≤ tolerance.
    retryAfterSeconds: Math.max(1, Math.ceil((next - tolerance - nowMs) / 1000)),
  };
}

/**
 * Requests an instance takes from a bucket at once: at most an eighth of the burst and a
 * quarter second of the rate, so what an idle or vanished instance still holds is small. 1 (no
 * lease: every request decided in the bucket file) for small limits.
 */
export function leaseSize(rule: Rule): number {
  return Math.max(1, Math.min(Math.floor(rule.burst / 8), Math.floor(rule.rate / 4), 64));
}
