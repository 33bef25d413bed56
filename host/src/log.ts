// The Node host's log lines on stdout, as [observability] asks (level, json or compact format;
// @keel/config/log formats them the same way the components do). JSON until the config is read.
import { DEFAULT_LOG, formatLogLine, logEnabled, type LogLevel, type LogSettings } from "@keel/config/log";

let settings: LogSettings = DEFAULT_LOG;

export function configureLog(s: LogSettings): void {
  settings = s;
}

export function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
  if (logEnabled(settings, level)) process.stdout.write(formatLogLine(settings.format, level, msg, fields));
}

/**
 * Milliseconds since the process started, for the timings in log lines. NOTE: process.uptime,
 * not the global `performance`, whose first use loads perf_hooks (~1 ms of every start).
 */
export const now = () => process.uptime() * 1000;
