// A spinner (nanospinner, on stderr) for calls that take longer than a second. Only on a
// terminal and never with --json: piped or machine-read output stays free of it.
import { createSpinner, type Spinner } from "nanospinner";

export const SPINNER_AFTER_MS = 1000;

export async function withProgress<T>(label: string, quiet: boolean, fn: () => Promise<T>): Promise<T> {
  if (quiet || !process.stderr.isTTY || !(process.stderr.columns > 0)) return fn();
  let spinner: Spinner | undefined;
  const timer = setTimeout(() => {
    spinner = createSpinner(label, { stream: process.stderr }).start();
  }, SPINNER_AFTER_MS);
  try {
    return await fn();
  } finally {
    clearTimeout(timer);
    spinner?.stop();
  }
}
