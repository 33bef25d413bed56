// Exit codes of the `keel` command (README § "The keel command" lists them) and the one error
// type every command throws: main.ts prints it as one line and exits with its code.

export const EXIT = {
  /** Done. */
  OK: 0,
  /** The node answered with an error, or a local command failed. */
  FAILED: 1,
  /** Bad arguments or options. */
  USAGE: 2,
  /** No answer from the node: not running, wrong address, timed out. */
  UNREACHABLE: 3,
  /** The node refused the credential: no token, a bad or expired one, or a missing scope (401, 403). */
  AUTH: 4,
  /** The node's build does not offer this (501: sync and the mesh on edge-lite). */
  UNAVAILABLE: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  readonly exit: ExitCode;
  /** A short machine-readable reason (`unreachable`, `unauthenticated`, the node's error code…). */
  readonly code: string;
  /** HTTP status when the node answered. */
  readonly status?: number;
  /** The node's answer, when there was one (a failed sync run's summary). */
  readonly body?: unknown;
  constructor(message: string, exit: ExitCode, code: string, status?: number, body?: unknown) {
    super(message);
    this.exit = exit;
    this.code = code;
    this.status = status;
    this.body = body;
  }
}
