// Progress of long steps (pnpm build, pnpm bench, pnpm measure), written for where it goes:
//   - on a terminal (stderr and stdout both TTYs, not CI, TERM not dumb): a spinner (nanospinner)
//     on one line while a step runs, replaced by `✔ step — 2.5 s (note)`;
//   - otherwise (a log, CI, a pipe): plain lines, `[keel] step …` then `[keel]   done in 2.5 s (note)`,
//     nothing but text and newlines.
import { createSpinner, type Spinner } from "nanospinner";

export interface Progress {
  /** A line of its own. */
  info(msg: string): void;
  /** Run `fn` as a step: its label, then its duration and the note it returns. */
  step<T extends string | void>(label: string, fn: () => Promise<T> | T): Promise<void>;
  /** What is going on now (one updating line on a terminal); `done()` ends it. */
  status(msg: string): void;
  done(): void;
}

export function isTerminal(env: NodeJS.ProcessEnv = process.env): boolean {
  // NOTE: a terminal that reports no width (a pty with no window) counts as none: the spinner
  // measures lines by the width to redraw them.
  return !!process.stderr.isTTY && !!process.stdout.isTTY && process.stderr.columns > 0 && !("CI" in env) && env.TERM !== "dumb";
}

export function createProgress(opts: { terminal: boolean; stream?: NodeJS.WriteStream }): Progress {
  const stream = opts.stream ?? process.stderr;
  const secs = (t: number) => ((Date.now() - t) / 1000).toFixed(1);
  let current: Spinner | undefined;
  const info = (msg: string) => {
    if (!opts.terminal) return void stream.write(`[keel] ${msg}\n`);
    current?.clear();
    stream.write(`${msg}\n`);
    current?.render();
  };
  return {
    info,
    async step(label, fn) {
      const t = Date.now();
      if (!opts.terminal) {
        stream.write(`[keel] ${label} …\n`);
        const note = await fn();
        stream.write(`[keel]   done in ${secs(t)} s${note ? ` (${note})` : ""}\n`);
        return;
      }
      const spinner = createSpinner(label, { stream }).start();
      const tick = setInterval(() => spinner.update({ text: `${label} ${secs(t)} s` }), 1000);
      try {
        const note = await fn();
        spinner.success({ text: `${label} — ${secs(t)} s${note ? ` (${note})` : ""}` });
      } catch (e) {
        spinner.error({ text: `${label} — failed after ${secs(t)} s` });
        throw e;
      } finally {
        clearInterval(tick);
      }
    },
    status(msg) {
      if (!opts.terminal) return void stream.write(`[keel] ${msg}\n`);
      if (current) current.update({ text: msg }).render();
      else current = createSpinner(msg, { stream }).start();
    },
    done() {
      current?.stop();
      current = undefined;
    },
  };
}

const shared = createProgress({ terminal: isTerminal() });
export const { info, step, status, done } = shared;
