// Progress lines for long steps: what is happening, then how long it took.

export function info(msg: string): void {
  process.stderr.write(`[keel] ${msg}\n`);
}

/** Print `label …`, run `fn`, then print its duration and any note it returns. */
export async function step<T extends string | void>(label: string, fn: () => Promise<T> | T): Promise<void> {
  const t = Date.now();
  process.stderr.write(`[keel] ${label} …\n`);
  const note = await fn();
  process.stderr.write(`[keel]   done in ${((Date.now() - t) / 1000).toFixed(1)} s${note ? ` (${note})` : ""}\n`);
}
