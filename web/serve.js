#!/usr/bin/env node
// A tiny static server for the browser demo (`npm run demo`): serves the demo pages and the
// built package (dist/, build/) from the repository root, so the pages import recur exactly as
// any plain-ESM site would, Wasm binaries included. Loopback only, GET and HEAD only.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const SERVED = ["/web/", "/dist/", "/build/"];
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".map": "application/json",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".css": "text/css; charset=utf-8",
  ".md": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * Starts the server; port 0 picks a free one. `dir` serves that whole directory instead of the
 * demo (the end-to-end test serves a Vite build with it). `isolated` sends the COOP/COEP headers
 * that make pages cross-origin isolated (SharedArrayBuffer, hence `init({ threads })`). `paths`
 * replaces the served folders of the repository (the browser bench adds /bench/). Resolves to its
 * URL and a close function.
 */
export function startServer({ port = 8080, host = "127.0.0.1", dir, isolated = false, paths = SERVED } = {}) {
  const isolation = isolated ? { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" } : {};
  const base = dir ? join(dir, sep) : root;
  const served = dir ? ["/"] : paths;
  const server = createServer(async (req, res) => {
    const send = (status, text) => {
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
      res.end(req.method === "HEAD" ? undefined : `${text}\n`);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "method not allowed");
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    } catch {
      return send(400, "bad request");
    }
    if (path === "/") {
      res.writeHead(302, { location: dir ? "/index.html" : "/web/index.html" });
      return res.end();
    }
    if (!served.some((p) => path === p || (p.endsWith("/") && path.startsWith(p)))) return send(404, "not found");
    const file = normalize(join(base, path));
    if (!file.startsWith(base)) return send(404, "not found");
    try {
      const s = await stat(file);
      if (!s.isFile()) return send(404, "not found");
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "content-length": s.size, "cache-control": "no-cache", ...isolation });
      if (req.method === "HEAD") return res.end();
      createReadStream(file).pipe(res);
    } catch {
      send(404, "not found");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const { port: actual } = server.address();
      resolve({ url: `http://${host === "127.0.0.1" ? "localhost" : host}:${actual}/`, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === normalize(process.argv[1])) {
  const arg = process.argv.indexOf("--port");
  const port = arg > 0 ? Number(process.argv[arg + 1]) : Number(process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`recur demo: --port must be an integer 0..65535, got ${JSON.stringify(process.argv[arg + 1] ?? process.env.PORT)}`);
    process.exit(2);
  }
  try {
    const { url } = await startServer({ port });
    console.log(`recur demo: open ${url} (Ctrl-C stops the server)`);
  } catch (err) {
    console.error(`recur demo: cannot listen on port ${port}: ${err.code === "EADDRINUSE" ? "in use (try --port 0 for a free one)" : err.message}`);
    process.exit(1);
  }
}
