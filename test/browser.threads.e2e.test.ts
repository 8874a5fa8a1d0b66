/**
 * init({ threads: 2 }) in a real browser (headless Chromium through playwright-core, as in
 * test/browser.e2e.test.ts):
 * on a cross-origin isolated page the workers start (Blob-URL Web Workers) and the work they
 * split is bit-identical to Node's single-thread results; on a page without isolation the
 * runtime falls back to one thread and says why. The page's main thread never blocks (the core
 * only spins there).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startServer } from "../web/serve.js";
import { launchChromium } from "./helpers/browser.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "recur-e2e-threads-"));
type Check = { backend: string; threads: number; fallback: string | null; isolated?: boolean; outputs: Record<string, string>; error?: string };

let context: BrowserContext;
let page: Page;
const servers: { url: string; close(): Promise<void> }[] = [];

function nodeCheck(backend: string, threads: number): Promise<Check> {
  return new Promise((resolve, reject) => {
    const script = `import * as recur from ${JSON.stringify(join(root, "dist/index.js"))};
import { threadsCheck } from ${JSON.stringify(join(root, "web/threads-check.js"))};
console.log(JSON.stringify(await threadsCheck(recur, process.argv[1], Number(process.argv[2]))));`;
    execFile(process.execPath, ["--input-type=module", "-e", script, backend, String(threads)], { encoding: "utf8" }, (err, stdout, stderr) =>
      err ? reject(new Error(stderr || err.message)) : resolve(JSON.parse(stdout) as Check),
    );
  });
}

async function pageCheck(url: string): Promise<Check> {
  await page.goto(url);
  const handle = await page.waitForFunction(() => (window as unknown as { recurCheck?: unknown }).recurCheck, null, { timeout: 60_000 });
  return (await handle.jsonValue()) as Check;
}

beforeAll(async () => {
  const chromium = inject("chromium");
  if ("error" in chromium) throw new Error(chromium.error);
  console.log(`browser: ${chromium.executablePath} (${chromium.source})`);
  context = await launchChromium(chromium, mkdtempSync(join(tmp, "profile-")));
  page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
});

afterAll(async () => {
  await context?.close();
  for (const s of servers) await s.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("threads in Chromium", () => {
  it("a cross-origin isolated page runs 2 threads, bit-identical to Node on 1", async () => {
    const server = await startServer({ port: 0, isolated: true });
    servers.push(server);
    const [node, browser] = await Promise.all([nodeCheck("relaxed", 1), pageCheck(`${server.url}web/threads-check.html?backend=relaxed&threads=2`)]);
    expect(browser.error).toBeUndefined();
    expect(browser.isolated).toBe(true);
    expect(browser.fallback).toBeNull();
    expect(browser.threads).toBe(2);
    expect(node.threads).toBe(1);
    expect(browser.backend).toBe(node.backend);
    expect(Object.keys(browser.outputs).sort()).toEqual(Object.keys(node.outputs).sort());
    expect(Object.keys(node.outputs).length).toBeGreaterThan(10);
    for (const [name, bits] of Object.entries(node.outputs)) expect(browser.outputs[name], name).toBe(bits);
  });

  it("without isolation the page falls back to one thread and says why", async () => {
    const server = await startServer({ port: 0 });
    servers.push(server);
    const browser = await pageCheck(`${server.url}web/threads-check.html?backend=simd128&threads=2`);
    expect(browser.error).toBeUndefined();
    expect(browser.isolated).toBe(false);
    expect(browser.threads).toBe(1);
    expect(browser.fallback).toMatch(/SharedArrayBuffer|cross-origin isolated/);
    const node = await nodeCheck("simd128", 1);
    for (const [name, bits] of Object.entries(node.outputs)) expect(browser.outputs[name], name).toBe(bits);
  });
});
