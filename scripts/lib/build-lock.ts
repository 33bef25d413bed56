// One build at a time per checkout: two `npm start`s launched together (two cloud gateways, say)
// would otherwise both build into the same build/ and dist/ and break each other. The lock is a
// file holding the builder's pid, made with O_EXCL; a lock whose process is gone is taken over.
import fs from "node:fs";
import path from "node:path";
import { isAlive } from "./pids.ts";


/** Wait for and take the lock at `file`; it is released when this process exits. */
export async function takeBuildLock(file: string, say: (line: string) => void): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let told = false;
  for (;;) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: "wx" });
      process.on("exit", () => {
        try {
          if (fs.readFileSync(file, "utf8") === String(process.pid)) fs.rmSync(file);
        } catch {
          // gone already
        }
      });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const read = () => {
      try {
        return fs.readFileSync(file, "utf8").trim();
      } catch {
        return null;
      }
    };
    const text = read();
    if (text === null) continue;
    const holder = Number(text);
    if (!Number.isInteger(holder) || holder <= 0 || !isAlive(holder)) {
      // Left by a build that was killed; re-read first, so a lock another waiter just took stays.
      if (read() === text) fs.rmSync(file, { force: true });
      continue;
    }
    if (!told) say(`another build (pid ${holder}) is running in this checkout; waiting for it …`);
    told = true;
    await new Promise((r) => setTimeout(r, 500));
  }
}
