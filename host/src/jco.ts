// jco, loaded on first need with require() (Node loads its ES modules synchronously). NOTE: not
// import(): `npm start` runs the host's bundle as a vm.Script (code-cache.ts, launch.ts), where
// import() has no module loader unless Node's experimental vm modules are on.
import { createRequire } from "node:module";

type Jco = typeof import("@bytecodealliance/jco");

export const loadJco = (): Jco => createRequire(import.meta.url)("@bytecodealliance/jco") as Jco;
