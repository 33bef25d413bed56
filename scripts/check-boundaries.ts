// `pnpm boundaries` (and part of `npm test`): fails when an import runs sideways between
// components or up from packages/ (rules in scripts/lib/boundaries.ts), and prints who uses
// which package. `--root DIR` checks another tree (the test's fixture).
import path from "node:path";
import { ROOT } from "./lib/project.ts";
import { checkBoundaries, formatGraph } from "./lib/boundaries.ts";

const rootArg = process.argv.indexOf("--root");
const root = rootArg >= 0 ? path.resolve(process.argv[rootArg + 1] ?? ".") : ROOT;
const report = checkBoundaries(root);
console.log(`import graph (${report.files} files):\n${formatGraph(report.graph)}`);
if (report.violations.length) {
  console.error(`\n[keel] boundary check failed: ${report.violations.length} forbidden import(s)`);
  for (const v of report.violations) console.error(`  ${v.file}: import "${v.specifier}" — ${v.reason}`);
  process.exit(1);
}
console.log("boundaries ok: components import only WIT and packages; packages import no component");
