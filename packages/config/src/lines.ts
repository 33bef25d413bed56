// Where a key sits in the TOML text. smol-toml gives no positions for a valid document, so this
// reads the lines the simple way: table headers, `key =` lines (dotted keys too), and the keys
// of inline tables on the same line. A path it cannot place exactly gets its nearest parent's line.

export type Segment = string | number;

const PART = String.raw`(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')`;
const DOTTED = String.raw`${PART}(?:\s*\.\s*${PART})*`;
const ARRAY_HEADER = new RegExp(String.raw`^\s*\[\[\s*(${DOTTED})\s*\]\]`);
const HEADER = new RegExp(String.raw`^\s*\[\s*(${DOTTED})\s*\]`);
const KEY_LINE = new RegExp(String.raw`^\s*(${DOTTED})\s*=(.*)$`);
const INLINE_KEY = new RegExp(String.raw`[{,]\s*(${DOTTED})\s*=`, "g");

function parts(dotted: string): string[] {
  return [...dotted.matchAll(new RegExp(PART, "g"))].map(([p]) => {
    if (p.startsWith('"')) {
      try {
        return JSON.parse(p) as string;
      } catch {
        return p.slice(1, -1);
      }
    }
    return p.startsWith("'") ? p.slice(1, -1) : p;
  });
}

const id = (path: Segment[]) => path.join("\u0000");

/** Path → 1-based line of its first mention. */
export function indexLines(text: string): Map<string, number> {
  const at = new Map<string, number>();
  const seen = new Map<string, number>();
  // A path's first mention also places its parents: `[a.b.c]` is where `a` and `a.b` start
  // when no earlier line named them.
  const note = (path: Segment[], line: number) => {
    for (let n = 1; n <= path.length; n++) if (!at.has(id(path.slice(0, n)))) at.set(id(path.slice(0, n)), line);
  };
  let table: Segment[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    let m: RegExpExecArray | null;
    if ((m = ARRAY_HEADER.exec(raw))) {
      const p = parts(m[1]);
      const n = (seen.get(id(p)) ?? -1) + 1;
      seen.set(id(p), n);
      table = [...p, n];
      note(p, line);
      note(table, line);
    } else if ((m = HEADER.exec(raw))) {
      table = parts(m[1]);
      note(table, line);
    } else if ((m = KEY_LINE.exec(raw))) {
      const key = [...table, ...parts(m[1])];
      note(key, line);
      for (const inner of m[2].matchAll(INLINE_KEY)) note([...key, ...parts(inner[1])], line);
    }
  });
  return at;
}

/** The line of `path`, or of its nearest parent that the index knows. */
export function lineOf(index: Map<string, number>, path: Segment[]): number | undefined {
  for (let n = path.length; n > 0; n--) {
    const line = index.get(id(path.slice(0, n)));
    if (line !== undefined) return line;
  }
  return undefined;
}
