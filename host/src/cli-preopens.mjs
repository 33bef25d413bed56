// For `jco run --jco-import host/src/cli-preopens.mjs dist/cli.wasm -- …`: give the cli the
// data dir as the preopen `/data` (KEEL_DATA, default ./data), like `wasmtime run --dir`.
import path from "node:path";
import { _setPreopens } from "@bytecodealliance/preview2-shim/filesystem";

_setPreopens({ "/data": path.resolve(process.env.KEEL_DATA ?? "data") });
