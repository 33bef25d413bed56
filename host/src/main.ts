// `npm start`: run a Keel node on the Node host (the work is in run.ts).
//   KEEL_ADDR    listen address (default 127.0.0.1:8080)
//   KEEL_DATA    data directory (default ./data)
//   KEEL_CONFIG  config file (default deployment/edge.toml)
// NOTE: V8's compile cache goes on before anything else is loaded: with it, a start re-uses the
// compiled host and component glue (~5,000 lines per component) instead of parsing them again
// (a profile of a start showed ~200 ms compiling modules). Node keeps it in its temp dir
// (NODE_COMPILE_CACHE moves it).
import module from "node:module";

module.enableCompileCache?.();
await import("./run.ts");
