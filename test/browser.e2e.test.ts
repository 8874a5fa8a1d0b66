/**
 * recur in a real browser (headless Chromium driven by playwright-core; test/helpers/browser.ts
 * picks the system's or the one of the @sparticuz/chromium dev dependency): the package
 * as plain ESM and through a Vite build must compute bit-identical results to Node's for the
 * same weights, input and backend; the demo page must train in its worker and plot an ESN
 * forecast. Without any browser this test fails and says how to get one.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BrowserContext, Page } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { readSafetensors } from "../src/index.js";
import { startServer } from "../web/serve.js";
import { launchChromium } from "./helpers/browser.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "recur-e2e-"));
type CheckResult = { backend: string; weights: string; outputs: Record<string, string>; error?: string };

let context: BrowserContext;
let page: Page;
const servers: { url: string; close(): Promise<void> }[] = [];

function nodeCheck(backend: string): Promise<CheckResult> {
  return new Promise((resolve, reject) => {
    const script = `import * as recur from ${JSON.stringify(join(root, "dist/index.js"))};
import { inferenceCheck } from ${JSON.stringify(join(root, "web/inference-check.js"))};
console.log(JSON.stringify(await inferenceCheck(recur, process.argv[1])));`;
    execFile(process.execPath, ["--input-type=module", "-e", script, backend], { encoding: "utf8" }, (err, stdout, stderr) =>
      err ? reject(new Error(stderr || err.message)) : resolve(JSON.parse(stdout) as CheckResult),
    );
  });
}

async function pageCheck(url: string): Promise<CheckResult> {
  await page.goto(url);
  const handle = await page.waitForFunction(() => (window as unknown as { recurCheck?: unknown }).recurCheck, null, { timeout: 30_000 });
  return (await handle.jsonValue()) as CheckResult;
}

function expectIdentical(browser: CheckResult, node: CheckResult): void {
  expect(browser.error).toBeUndefined();
  expect(browser.backend).toBe(node.backend);
  expect(browser.weights).toBe(node.weights);
  expect(Object.keys(browser.outputs).sort()).toEqual(Object.keys(node.outputs).sort());
  for (const [name, bits] of Object.entries(node.outputs)) expect(browser.outputs[name], name).toBe(bits);
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

describe("plain ESM in Chromium", () => {
  it.each(["simd128", "relaxed"])("%s: inference on fixed weights is bit-identical to Node's", async (backend) => {
    const server = await startServer({ port: 0 });
    servers.push(server);
    const [node, browser] = await Promise.all([nodeCheck(backend), pageCheck(`${server.url}web/check.html?backend=${backend}`)]);
    expect(node.backend).toBe(backend);
    expect(Object.keys(node.outputs).length).toBeGreaterThanOrEqual(10);
    expectIdentical(browser, node);
    if (backend === "relaxed") {
      // Fused multiply-adds round differently: the two backends are told apart, so the match above
      // is the same backend computing the same bits on both sides.
      const other = await nodeCheck("simd128");
      expect(Object.keys(node.outputs).filter((k) => node.outputs[k] !== other.outputs[k]).length).toBeGreaterThan(0);
    }
  });

  it("the demo page starts with a text, trains in a worker, plots without hiding data, downloads the model, forecasts", async () => {
    const server = servers[0] ?? (await startServer({ port: 0 }));
    await page.goto(`${server.url}web/index.html?quick=1`);
    // The sample text is in the page itself: ready before anything loads.
    expect(await page.evaluate(() => (document.getElementById("text") as HTMLTextAreaElement).value.length)).toBeGreaterThan(2000);
    expect(await page.getAttribute('link[rel="icon"]', "href")).toBe("favicon.svg");
    expect((await page.request.get(`${server.url}web/favicon.svg`)).status()).toBe(200);
    await page.waitForFunction(() => (window as unknown as { demo?: { backend?: string } }).demo?.backend !== undefined, null, { timeout: 30_000 });
    await page.click("#train");
    await page.click("#esn");
    await page.waitForFunction(() => {
      const d = (window as unknown as { demo: { done: boolean; esn?: unknown; errors: string[] } }).demo;
      return (d.done && d.esn !== undefined) || d.errors.length > 0;
    }, null, { timeout: 60_000 });
    const demo = await page.evaluate(() => (window as unknown as { demo: { losses: number[]; samples: string[]; esn: { nrmse: number; points: number }; errors: string[]; backend: string } }).demo);
    expect(demo.errors).toEqual([]);
    expect(demo.backend).toBe("relaxed");
    expect(demo.losses).toHaveLength(60);
    const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
    expect(mean(demo.losses.slice(-5))).toBeLessThan(mean(demo.losses.slice(0, 3)) - 0.5);
    expect(demo.samples.at(-1)!.length).toBe(400);
    expect(demo.esn.points).toBe(400);
    expect(demo.esn.nrmse).toBeLessThan(0.1);
    expect(await page.textContent("#status")).toMatch(/loss \d\.\d{3} bits\/char/);
    for (const plot of ["#lossPlot", "#esnPlot"]) {
      expect(await page.locator(`${plot} polyline`).count()).toBe(2);
      // The legend sits above the plot frame: no legend mark or label overlaps the data area.
      const overlap = await page.evaluate((sel) => {
        const svg = document.querySelector(`${sel} svg`)!;
        const frame = svg.querySelector("rect")!.getBoundingClientRect();
        const marks = [...svg.querySelectorAll(".legend")];
        return { marks: marks.length, inside: marks.filter((e) => e.getBoundingClientRect().bottom > frame.top).length };
      }, plot);
      expect(overlap.marks).toBe(4);
      expect(overlap.inside).toBe(0);
    }
    // The trained model downloads as a .safetensors file with its vocabulary.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
    expect(download.suggestedFilename()).toBe("recur-char-model.safetensors");
    const file = readSafetensors(readFileSync((await download.path())!));
    expect(JSON.parse(file.metadata["recur.vocab"]).length).toBeGreaterThan(30);
    expect(JSON.parse(file.metadata["recur.model"]).type).toBe("SequenceModel");
    // The page is an example of the public API: its only paths into the package are the import
    // map's entries for the entry points it uses; the code imports them by name.
    const entries = ['"../dist/index.js"', '"../dist/char-lm/index.js"', '"../dist/esn/index.js"', '"../dist/datasets/index.js"'];
    for (const f of ["index.html", "app.js", "worker.js", "plot.js"]) {
      const source = readFileSync(join(root, "web", f), "utf8");
      expect(source.match(/["'][./]*dist\/[^"']*["']/g) ?? [], f).toEqual(f === "index.html" ? entries : []);
    }
  });
});

describe("a Vite app importing recur", () => {
  it("emits both core Wasm binaries (not the full module) and computes what Node computes", async () => {
    const app = join(tmp, "vite-app");
    mkdirSync(join(app, "node_modules"), { recursive: true });
    symlinkSync(root, join(app, "node_modules", "recur-nn"), "dir");
    copyFileSync(join(root, "web/inference-check.js"), join(app, "inference-check.js"));
    writeFileSync(join(app, "index.html"), `<!doctype html><html><body><script type="module" src="./main.js"></script></body></html>\n`);
    writeFileSync(
      join(app, "main.js"),
      `import * as recur from "recur-nn";
import { inferenceCheck } from "./inference-check.js";
const backend = new URLSearchParams(location.search).get("backend") ?? "simd128";
inferenceCheck(recur, backend).then((r) => (window.recurCheck = r), (e) => (window.recurCheck = { error: e.message }));
`,
    );
    await build({ root: app, configFile: false, logLevel: "silent", build: { outDir: join(app, "dist"), emptyOutDir: true } });
    const assets = readdirSync(join(app, "dist", "assets"));
    for (const backend of ["simd128", "relaxed"]) {
      // One single-thread binary per backend, the core: the full module is emitted only for pages
      // that import recur-nn/esn, recur-nn/attention or recur-nn/hessian-free.
      const emitted = assets.filter((f) => f.startsWith(`recur-${backend}`) && !f.startsWith(`recur-${backend}-threads`) && f.endsWith(".wasm"));
      expect(emitted, `recur-${backend}*.wasm in ${assets.join(", ")}`).toHaveLength(1);
      expect(readFileSync(join(app, "dist", "assets", emitted[0])).equals(readFileSync(join(root, "build", `recur-${backend}.wasm`)))).toBe(true);
    }
    const server = await startServer({ port: 0, dir: join(app, "dist") });
    servers.push(server);
    const [node, browser] = await Promise.all([nodeCheck("simd128"), pageCheck(`${server.url}index.html?backend=simd128`)]);
    expectIdentical(browser, node);
  });
});
