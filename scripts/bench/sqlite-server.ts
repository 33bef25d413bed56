// The SQLite baseline for `pnpm bench storage`: the same HTTP routes as Keel's KV and topic
// API, on SQLite in WAL mode with synchronous=FULL (every commit fsynced, as Keel fsyncs every
// acknowledged write). Uses Node's built-in node:sqlite. Usage: node sqlite-server.ts <port> <dir>
import http from "node:http";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";

const [port, dir] = [Number(process.argv[2]), process.argv[3]];
const db = new DatabaseSync(path.join(dir, "bench.db"));
db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
db.exec("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB, version INTEGER)");
db.exec("CREATE TABLE IF NOT EXISTS log (topic TEXT, offset INTEGER, ts INTEGER, payload BLOB, PRIMARY KEY (topic, offset))");
const put = db.prepare("INSERT INTO kv (key, value, version) VALUES (?, ?, 1) ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = version + 1 RETURNING version");
const get = db.prepare("SELECT value, version FROM kv WHERE key = ?");
const last = db.prepare("SELECT COALESCE(MAX(offset), -1) AS o FROM log WHERE topic = ?");
const append = db.prepare("INSERT INTO log (topic, offset, ts, payload) VALUES (?, ?, ?, ?)");

function body(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
  });
}

http
  .createServer(async (req, res) => {
    const url = req.url ?? "/";
    const data = await body(req);
    if (url.startsWith("/v1/kv/")) {
      const key = decodeURIComponent(url.slice(7));
      if (req.method === "PUT") {
        const { version } = put.get(key, data) as { version: number };
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ key, version }));
      } else {
        const row = get.get(key) as { value: Uint8Array; version: number } | undefined;
        if (!row) res.writeHead(404).end();
        else res.writeHead(200, { etag: `"${row.version}"` }).end(row.value);
      }
      return;
    }
    const m = /^\/v1\/topics\/([^/]+)\/records/.exec(url);
    if (m && req.method === "POST") {
      const records = (JSON.parse(data.toString()) as { records: string[] }).records;
      db.exec("BEGIN IMMEDIATE");
      const first = (last.get(m[1]) as { o: number }).o + 1;
      const ts = Date.now();
      records.forEach((r, i) => append.run(m[1], first + i, ts, Buffer.from(r)));
      db.exec("COMMIT");
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ offsets: records.map((_, i) => first + i) }));
      return;
    }
    if (url === "/_keel/health") {
      res.writeHead(200).end("{}");
      return;
    }
    res.writeHead(404).end();
  })
  .listen(port, "127.0.0.1");
