// The toolchain of engine "c" components (compose/components.toml): clang building a core
// WebAssembly module against wasi-libc. Optional: without it the build skips those components,
// `pnpm budgets` notes them, and their tests skip, each saying why and how to install it.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** Debian packages that make `clang --target=wasm32-wasi` work (`pnpm run setup -- --c` installs them; the same list is in scripts/keel.mjs). */
export const C_PACKAGES = ["clang", "lld", "wasi-libc", "libclang-rt-dev-wasm32"];
export const C_INSTALL_HINT = `apt-get install ${C_PACKAGES.join(" ")} (as root), or pnpm run setup -- --c`;

const CLANG = process.env.KEEL_CLANG || "clang";
let probed: { clang: string; version: string } | { missing: string } | undefined;

/**
 * clang and its version when it can link a wasm32-wasi module with wasi-libc (probed once by
 * building a tiny one), else why not.
 */
export function cToolchain(): { clang: string; version: string } | { missing: string } {
  if (probed) return probed;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-cc-"));
  try {
    const version = execFileSync(CLANG, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\n")[0].trim();
    fs.writeFileSync(path.join(dir, "probe.c"), "#include <stdlib.h>\n__attribute__((export_name(\"f\"))) void *f(int n) { return malloc(n); }\n");
    execFileSync(CLANG, ["--target=wasm32-wasi", "-O2", "-nostartfiles", "-Wl,--no-entry", "-o", path.join(dir, "probe.wasm"), path.join(dir, "probe.c")], { stdio: ["ignore", "ignore", "pipe"] });
    probed = { clang: CLANG, version };
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer };
    const why = err.code === "ENOENT" ? `${CLANG} is not installed` : `${CLANG} cannot build for wasm32-wasi (${String(err.stderr ?? e).trim().split("\n").pop()})`;
    probed = { missing: `${why}; install: ${C_INSTALL_HINT}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return probed;
}

/**
 * Compile and link C sources into a core module with no imports: wasi-libc supplies malloc and
 * string functions only (no WASI calls), so the component needs no preview1 adapter and imports
 * nothing its world does not name. A reactor: no _start, no main; exports are the functions
 * marked export_name (wit-bindgen's) and the memory.
 */
export function compileC(clang: string, sources: string[], includes: string[], out: string): void {
  execFileSync(clang, [
    "--target=wasm32-wasi", "-Oz", "-flto", "-std=c11", "-Wall", "-Wextra", "-Werror",
    ...includes.map((d) => `-I${d}`),
    "-nostartfiles", "-Wl,--no-entry", "-Wl,--gc-sections", "-Wl,--strip-all", "-Wl,-z,stack-size=65536",
    "-o", out, ...sources,
  ], { stdio: ["ignore", "inherit", "inherit"] });
}
