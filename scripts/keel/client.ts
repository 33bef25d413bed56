// Talking to a running node: where it is (--url, KEEL_ADDR), which credential to send (--token,
// KEEL_TOKEN, or one minted from the local data dir's dev secret) and what its answers mean
// for the exit code. No printing here: main.ts and render.ts do that.
import path from "node:path";
import { CliError, EXIT } from "./errors.ts";
import { localToken } from "../token.ts";

export interface TargetOptions {
  url?: string;
  token?: string;
  data?: string;
  config?: string;
  /** Seconds before a call is given up. */
  timeout?: string;
}

export interface Target {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:8080`. */
  url: string;
  token?: string;
  /** Where the token came from; `none` carries why, for the message a 401 gets. */
  tokenSource: "flag" | "env" | "minted" | "none";
  noToken?: string;
  timeoutMs: number;
}

/** Scopes of the token minted for a local node: an operator's, plus mesh (its routes need it). */
export const OPERATOR_SCOPES = "read write admin mesh";

/** `--url`, else `http://$KEEL_ADDR`, else the default address; `host:port` gets `http://`. */
export function resolveUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const raw = (flag ?? env.KEEL_ADDR ?? "127.0.0.1:8080").trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw.startsWith(":") ? `127.0.0.1${raw}` : raw}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new CliError(`${JSON.stringify(raw)} is not a node address (http://host:port or host:port)`, EXIT.USAGE, "bad_url");
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new CliError(`${JSON.stringify(raw)}: only http:// and https:// nodes`, EXIT.USAGE, "bad_url");
  if (u.search || u.hash) throw new CliError(`${JSON.stringify(raw)}: a node address has no query or fragment`, EXIT.USAGE, "bad_url");
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
}

/** Loopback only: a token signed with this machine's dev secret is never sent elsewhere. */
export function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function resolveTarget(opts: TargetOptions, env: NodeJS.ProcessEnv = process.env): Target {
  const url = resolveUrl(opts.url, env);
  const seconds = opts.timeout === undefined ? 30 : Number(opts.timeout);
  if (!(seconds > 0 && seconds <= 3600)) throw new CliError("--timeout must be seconds from 0 to 3600", EXIT.USAGE, "bad_timeout");
  const timeoutMs = Math.round(seconds * 1000);
  if (opts.token !== undefined) {
    if (!opts.token.trim()) throw new CliError("--token is empty", EXIT.USAGE, "bad_token");
    return { url, token: opts.token.trim(), tokenSource: "flag", timeoutMs };
  }
  if (env.KEEL_TOKEN) return { url, token: env.KEEL_TOKEN.trim(), tokenSource: "env", timeoutMs };
  if (!isLoopback(url)) return { url, tokenSource: "none", noToken: `${url} is not on this machine: pass --token or set KEEL_TOKEN`, timeoutMs };
  try {
    const { token } = localToken({ scope: OPERATOR_SCOPES, sub: "keel-operator", ttlSeconds: 300, configFile: opts.config, dataDir: opts.data }, env);
    return { url, token, tokenSource: "minted", timeoutMs };
  } catch (e) {
    const dir = path.resolve(opts.data ?? env.KEEL_DATA ?? "data");
    return { url, tokenSource: "none", noToken: `no token could be made from ${dir} (${(e as Error).message}): pass --token, set KEEL_TOKEN, or --data <the node's data dir>`, timeoutMs };
  }
}

export interface Answer {
  status: number;
  /** Parsed JSON when the node sent JSON, else the text. */
  body: unknown;
  text: string;
  contentType: string;
  ms: number;
}

function reasonOf(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === "TimeoutError") return "timed out";
  const code = err?.cause?.code;
  const known: Record<string, string> = {
    ECONNREFUSED: "connection refused", ECONNRESET: "connection reset", ENOTFOUND: "host not found",
    EAI_AGAIN: "host not found", EHOSTUNREACH: "host unreachable", ENETUNREACH: "network unreachable",
    UND_ERR_SOCKET: "connection closed", UND_ERR_CONNECT_TIMEOUT: "connect timed out",
  };
  return (code && known[code]) ?? err?.cause?.message ?? err?.message ?? String(e);
}

/**
 * One HTTP call. 2xx answers are returned; everything else becomes a CliError with the exit
 * code it means (401/403 → AUTH, 501 → UNAVAILABLE, others → FAILED) and the node's message.
 */
export async function call(t: Target, method: string, route: string, body?: unknown, fetchImpl: typeof fetch = fetch): Promise<Answer> {
  const headers: Record<string, string> = { accept: "application/json, text/plain" };
  if (t.token) headers.authorization = `Bearer ${t.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const t0 = performance.now();
  let res: Response;
  let text: string;
  try {
    res = await fetchImpl(`${t.url}${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(t.timeoutMs) });
    text = await res.text();
  } catch (e) {
    throw new CliError(`cannot reach ${t.url} (${reasonOf(e)}): is the node running? (--url or KEEL_ADDR)`, EXIT.UNREACHABLE, "unreachable");
  }
  const ms = performance.now() - t0;
  const contentType = res.headers.get("content-type") ?? "";
  let parsed: unknown = text;
  if (contentType.includes("json")) {
    try {
      parsed = JSON.parse(text);
    } catch {
      // a broken body is shown as text
    }
  }
  if (res.status >= 200 && res.status < 300) return { status: res.status, body: parsed, text, contentType, ms };
  throw failure(t, method, route, res.status, parsed);
}

/** The CliError for a non-2xx answer. */
export function failure(t: Target, method: string, route: string, status: number, body: unknown): CliError {
  const b = (typeof body === "object" && body !== null ? body : {}) as { error?: unknown; message?: unknown };
  const code = typeof b.error === "string" ? b.error : `http_${status}`;
  const said = typeof b.message === "string" ? b.message : typeof b.error === "string" ? b.error : typeof body === "string" && body.trim() ? body.trim().slice(0, 200) : `HTTP ${status}`;
  const where = `${method} ${route.split("?")[0]}`;
  if (status === 401) {
    const hint = t.tokenSource === "none" ? t.noToken : t.tokenSource === "minted" ? "the token minted from the local data dir was refused: is --data this node's data dir?" : `the ${t.tokenSource === "flag" ? "--token" : "KEEL_TOKEN"} token was refused`;
    return new CliError(`${where}: 401 ${said} (${hint})`, EXIT.AUTH, code, status, body);
  }
  if (status === 403) return new CliError(`${where}: 403 ${said}`, EXIT.AUTH, code, status, body);
  if (status === 501) return new CliError(`${where}: not available on this node yet (501: ${said})`, EXIT.UNAVAILABLE, code, status, body);
  return new CliError(`${where}: ${status} ${said}`, EXIT.FAILED, code, status, body);
}
