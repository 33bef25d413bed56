// Log lines as [observability] asks for them, the same for the Node host and every component
// (the components write them to stderr, under wasmtime serve too):
//   log_format = "json":    {"ts":"…","level":"info","msg":"…",…fields} — one object a line
//   log_format = "compact": 2026-11-23T10:00:00.000Z INFO msg key=value key="with space" …
// No engine globals (QuickJS runs this) and no schema; kept small: it is in several components.

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "json" | "compact";

export interface LogSettings {
  level: LogLevel;
  format: LogFormat;
  /** Share of requests written as trace lines, 0 to 1. */
  traceSampling: number;
}

const LEVELS: LogLevel[] = ["debug", "info", "warn", "error"];

export const DEFAULT_LOG: LogSettings = { level: "info", format: "json", traceSampling: 0 };

/** [observability] of a config the host validated (defaults applied); defaults when absent. */
export function logSettings(config: unknown): LogSettings {
  const o = (config as { observability?: { log?: LogLevel; log_format?: LogFormat; trace_sampling?: number } } | undefined)?.observability;
  return { level: o?.log ?? "info", format: o?.log_format ?? "json", traceSampling: o?.trace_sampling ?? 0 };
}

export function logEnabled(settings: LogSettings, level: LogLevel): boolean {
  return LEVELS.indexOf(level) >= LEVELS.indexOf(settings.level);
}

/** One line (with its newline). `ts` defaults to now. */
export function formatLogLine(format: LogFormat, level: LogLevel, msg: string, fields: Record<string, unknown> = {}, ts = new Date().toISOString()): string {
  if (format !== "compact") return JSON.stringify({ ts, level, msg, ...fields }) + "\n";
  let line = `${ts} ${level.toUpperCase()} ${msg}`;
  for (const [k, v] of Object.entries(fields)) {
    if (v !== undefined) line += ` ${k}=${typeof v === "string" && /^[\w.:/@+-]+$/.test(v) ? v : JSON.stringify(v)}`;
  }
  return line + "\n";
}
