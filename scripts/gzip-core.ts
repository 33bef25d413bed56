// `pnpm gzip-core`: rebuild components/gzip/core/gzip.core.wasm, the prebuilt core module of the
// gzip component (compose/components.toml, engine "core"), from libdeflate and our glue
// (components/gzip/src/gzip.c). The build wraps the committed module, so building Keel needs no
// C toolchain; this needs clang with wasi-libc (`pnpm run setup -- --c`) and pip, which fetches
// the pinned `deflate` 0.9.0 source distribution (libdeflate inside) from the Python package
// index once into ~/.cache/keel/src. `--check` rebuilds into build/ and fails when the result
// differs from the committed module (tests/integration/gzip-core.test.ts runs it when it can).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./lib/project.ts";
import { cToolchain } from "./lib/c-toolchain.ts";

const SDIST = "deflate-0.9.0.tar.gz";
const SDIST_SHA256 = "962e0a6f1ea3a94b900a8ea0ce138fa92bfcbafda5b86367104a259ffcd3462b";
/** libdeflate's sources the gzip compressor and decompressor need (no CPU-specific code: wasm32 has none). */
const LIB_SOURCES = ["utils.c", "deflate_compress.c", "deflate_decompress.c", "gzip_compress.c", "gzip_decompress.c", "crc32.c"];
const CORE_DIR = path.join(ROOT, "components", "gzip", "core");
const log = (m: string) => console.log(`[gzip-core] ${m}`);
const fail = (m: string): never => {
  console.error(`[gzip-core] ${m}`);
  process.exit(1);
};
const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** The pinned source distribution, downloaded once and checked against its checksum. */
function sdist(): string {
  const dir = path.join(os.homedir(), ".cache", "keel", "src");
  const file = path.join(dir, SDIST);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    log(`downloading ${SDIST} with pip (libdeflate's sources; a few seconds) …`);
    try {
      // --no-binary for this package only: its build backend's own dependencies come as wheels.
      execFileSync("pip", ["download", "--no-deps", "--no-binary", "deflate", "deflate==0.9.0", "-d", dir], { stdio: ["ignore", "ignore", "inherit"] });
    } catch (e) {
      fail(`pip could not download ${SDIST}: ${(e as Error).message.split("\n")[0]} (pip comes with Python 3)`);
    }
  }
  if (sha256(file) !== SDIST_SHA256) fail(`${file} does not have the pinned checksum ${SDIST_SHA256}: remove it and run again`);
  return file;
}

function main(): void {
  const unknown = process.argv.slice(2).filter((a) => a !== "--check");
  if (unknown.length) {
    console.error(`[gzip-core] unknown argument ${JSON.stringify(unknown[0])}: use pnpm gzip-core [--check]`);
    process.exit(2);
  }
  const check = process.argv.includes("--check");
  const cc = cToolchain();
  if ("missing" in cc) fail(`needs clang for wasm32-wasi: ${cc.missing}`);
  const { clang, version } = cc as { clang: string; version: string };
  const src = path.join(ROOT, "build", "gzip-src");
  fs.rmSync(src, { recursive: true, force: true });
  fs.mkdirSync(src, { recursive: true });
  execFileSync("tar", ["xzf", sdist(), "-C", src]);
  const lib = path.join(src, "deflate-0.9.0", "libdeflate");
  const out = check ? path.join(ROOT, "build", "gzip.core.wasm") : path.join(CORE_DIR, "gzip.core.wasm");
  log(`compiling libdeflate + components/gzip/src/gzip.c with ${version} …`);
  execFileSync(clang, [
    "--target=wasm32-wasi", "-O2", "-std=c11", "-Wall", "-Werror", `-ffile-prefix-map=${src}=.`, `-ffile-prefix-map=${ROOT}=.`, `-I${lib}`,
    "-nostartfiles", "-Wl,--no-entry", "-Wl,--gc-sections", "-Wl,--strip-all", "-Wl,-z,stack-size=65536",
    "-o", out, path.join(ROOT, "components", "gzip", "src", "gzip.c"), ...LIB_SOURCES.map((f) => path.join(lib, "lib", f)),
  ], { stdio: ["ignore", "inherit", "inherit"] });
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(fs.readFileSync(out)));
  if (imports.length) fail(`the module imports ${imports.map((i) => `${i.module}.${i.name}`).join(", ")}; it must import nothing`);
  if (check) {
    const same = sha256(out) === sha256(path.join(CORE_DIR, "gzip.core.wasm"));
    if (!same) fail(`a build from source differs from components/gzip/core/gzip.core.wasm (run pnpm gzip-core and commit it; clang: ${version})`);
    return log(`components/gzip/core/gzip.core.wasm is what its sources build (${fs.statSync(out).size} bytes)`);
  }
  fs.copyFileSync(path.join(lib, "COPYING"), path.join(CORE_DIR, "LICENSE.libdeflate"));
  fs.writeFileSync(path.join(CORE_DIR, "SOURCES"), [
    `gzip.core.wasm sha256 ${sha256(out)} (${fs.statSync(out).size} bytes), built by pnpm gzip-core (scripts/gzip-core.ts) with ${version}, from:`,
    `  components/gzip/src/gzip.c`,
    `  ${SDIST} sha256 ${SDIST_SHA256}: libdeflate/lib/{${LIB_SOURCES.join(",")}} (MIT: LICENSE.libdeflate)`,
    "",
  ].join("\n"));
  log(`wrote components/gzip/core/gzip.core.wasm (${fs.statSync(out).size} bytes, no imports) and SOURCES`);
}

main();
