/**
 * recur-nn/onnx and recur-nn/keras in headless Chromium, as a plain page loads them (an import
 * map names fflate and jsfive, the two packages recur-nn/keras reads Keras files with): an ONNX
 * export of PyTorch, streamed frame by frame, a tfjs layers model and a .keras file must give
 * their producers' outputs there too.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { startServer } from "../web/serve.js";
import { launchChromium } from "./helpers/browser.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "recur-interop-e2e-"));
let context: BrowserContext;
let server: { url: string; close(): Promise<void> };

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>recur interop check</title>
<script type="importmap">{ "imports": { "fflate": "./fflate/esm/browser.js", "jsfive": "./jsfive/dist/esm/index.mjs" } }</script>
</head><body><script type="module">
import { init } from "./dist/index.js";
import { loadOnnx } from "./dist/onnx/index.js";
import { loadKeras } from "./dist/keras/index.js";
const get = async (p) => new Uint8Array(await (await fetch(p)).arrayBuffer());
const json = async (p) => (await fetch(p)).json();
// max |x - ref| / max(1, max |ref|)
const worst = (got, ref) => {
  let w = 0, s = 1;
  for (let i = 0; i < ref.length; i++) { w = Math.max(w, Math.abs(got[i] - ref[i])); s = Math.max(s, Math.abs(ref[i])); }
  return got.length === ref.length ? w / s : Infinity;
};
const feed = (t) => ({ shape: t.shape, data: t.dtype === "int64" ? BigInt64Array.from(t.data, (v) => BigInt(v)) : Float32Array.from(t.data) });
try {
  const { backend } = await init();
  const result = { backend };
  const ref = await json("fixtures/onnx/torch_lstm_embedding_linear.json");
  const model = loadOnnx(await get("fixtures/onnx/torch_lstm_embedding_linear.onnx"));
  const out = model.run({ ids: feed(ref.inputs.ids) });
  result.onnx = Math.max(...Object.keys(ref.outputs).map((k) => worst(out[k].data, ref.outputs[k].data)));
  const sref = await json("fixtures/onnx/torch_lstm_streaming.json");
  const stream = loadOnnx(await get("fixtures/onnx/torch_lstm_streaming.onnx")).stream();
  result.stream = Math.max(...sref.frames.map((f) => worst(stream.step({ x: feed(f.x) }).prob.data, f.prob.data)));
  const tref = await json("fixtures/tfjs/bidirectional_lstm_concat.json");
  const tfjs = loadKeras({ modelJson: await (await fetch("fixtures/tfjs/bidirectional_lstm_concat.model.json")).text(), weights: [await get("fixtures/tfjs/bidirectional_lstm_concat.weights.bin")] });
  result.tfjs = worst(tfjs.predict(feed(tref.input)).data, tref.output.data);
  const kref = await json("fixtures/keras/gru_reset_after_dense.json");
  const keras = loadKeras(await get("fixtures/keras/gru_reset_after_dense.keras"));
  result.keras = worst(keras.predict(feed(kref.input)).data, kref.output.data);
  window.interop = result;
} catch (e) {
  window.interop = { error: e.name + ": " + e.message };
}
</script></body></html>
`;

beforeAll(async () => {
  const chromium = inject("chromium");
  if ("error" in chromium) throw new Error(chromium.error);
  // The page's folder: the built package, the two dependencies and the fixtures, as a site
  // that copies them next to its page would have them.
  mkdirSync(join(tmp, "site"));
  for (const [name, target] of [
    ["dist", join(root, "dist")],
    ["build", join(root, "build")],
    ["fixtures", join(root, "test", "fixtures")],
    ["fflate", join(root, "node_modules", "fflate")],
    ["jsfive", join(root, "node_modules", "jsfive")],
  ]) {
    symlinkSync(target, join(tmp, "site", name), "dir");
  }
  writeFileSync(join(tmp, "site", "index.html"), PAGE);
  server = await startServer({ port: 0, dir: join(tmp, "site") });
  context = await launchChromium(chromium, mkdtempSync(join(tmp, "profile-")));
});

afterAll(async () => {
  await context?.close();
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

it("loads and runs ONNX, tfjs and Keras files in Chromium with their producers' outputs", async () => {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
  await page.goto(`${server.url}index.html`);
  const handle = await page.waitForFunction(() => (window as unknown as { interop?: unknown }).interop, null, { timeout: 30_000 });
  const r = (await handle.jsonValue()) as { error?: string; backend: string; onnx: number; stream: number; tfjs: number; keras: number };
  expect(r.error).toBeUndefined();
  for (const key of ["onnx", "stream", "tfjs", "keras"] as const) expect(r[key], key).toBeLessThanOrEqual(1e-5);
});
