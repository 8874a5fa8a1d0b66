// The demo page: drives the worker (web/worker.js, where recur runs) and draws what it reports.
// ?quick=1 trains a small model for 60 updates (the end-to-end test does: a fixed amount of work
// whatever the machine's load).
import { drawChart } from "./plot.js";

const $ = (id) => document.getElementById(id);
const quick = new URLSearchParams(location.search).has("quick");
// Import maps do not reach into workers: the page resolves "recur-nn" with its map and hands the
// worker the URL.
const workerUrl = new URL("./worker.js", import.meta.url);
workerUrl.searchParams.set("recur", import.meta.resolve("recur-nn"));
const worker = new Worker(workerUrl, { type: "module" });
const BITS = Math.LN2; // losses arrive in nats per character; the page shows bits
const losses = [];

// Exposed for the end-to-end test, which watches the page like a person would.
window.demo = { losses, samples: [], esn: undefined, backend: undefined, done: false, errors: [], downloads: [] };

if (quick) {
  $("seconds").value = "60";
  $("hidden").value = "64";
}

$("temperature").oninput = () => ($("temperatureValue").textContent = $("temperature").value);

$("train").onclick = () => {
  const text = $("text").value;
  if ([...text].length < 40) return showError("the training text needs at least 40 characters");
  losses.length = 0;
  window.demo.done = false;
  setTraining(true);
  worker.postMessage({
    type: "train",
    text,
    hiddenSize: Number($("hidden").value),
    seconds: Number($("seconds").value),
    ...(quick ? { steps: 60 } : {}),
    seqLength: quick ? 32 : 64,
    batchSize: quick ? 8 : 32,
    temperature: Number($("temperature").value),
  });
};
$("stop").onclick = () => worker.postMessage({ type: "stop" });
$("sample").onclick = () => worker.postMessage({ type: "sample", temperature: Number($("temperature").value), length: 400 });
$("download").onclick = () => worker.postMessage({ type: "save" });
$("esn").onclick = () => {
  $("esn").disabled = true;
  $("esnStatus").textContent = "fitting the readout and running free…";
  worker.postMessage({ type: "esn", units: Number($("units").value) });
};

worker.onmessage = ({ data: m }) => {
  if (m.type === "ready") {
    $("backend").textContent = `${m.backend} backend`;
    window.demo.backend = m.backend;
  } else if (m.type === "started") {
    $("status").textContent = `vocabulary of ${m.vocab} characters, ${m.parameters.toLocaleString()} parameters`;
  } else if (m.type === "progress") {
    losses.push(m.loss);
    $("status").textContent = `step ${m.step}  loss ${(m.loss / BITS).toFixed(3)} bits/char  ${Math.round(m.charsPerSecond).toLocaleString()} chars/s  ${Math.ceil(m.remainingMs / 1000)} s left`;
    if (losses.length % 5 === 1) drawLoss();
  } else if (m.type === "sample") {
    $("sampleText").textContent = `${m.final ? "final sample" : `sample at step ${m.step ?? "–"}`} (temperature ${m.temperature}):\n${m.text}`;
    window.demo.samples.push(m.text);
  } else if (m.type === "done") {
    losses.splice(0, losses.length, ...m.losses);
    drawLoss();
    $("status").textContent += `  (${m.stopped === "time" || m.stopped === "done" ? "done" : m.stopped}, ${m.steps} updates)`;
    setTraining(false);
    window.demo.done = true;
  } else if (m.type === "saved") {
    // The model as a .safetensors file: CharLM.load(bytes) in code, or `npx recur sample <file>`.
    const url = URL.createObjectURL(new Blob([m.bytes], { type: "application/octet-stream" }));
    const a = Object.assign(document.createElement("a"), { href: url, download: "recur-char-model.safetensors" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    window.demo.downloads.push(m.bytes.byteLength);
  } else if (m.type === "esn") {
    $("esn").disabled = false;
    $("esnStatus").textContent = `${m.units} units, fitted and run in ${Math.round(m.ms)} ms; NRMSE over the first 100 steps ${m.nrmse.toExponential(2)}`;
    drawChart(
      $("esnPlot"),
      [
        { label: "Mackey-Glass", y: m.truth, color: "#444" },
        { label: "ESN forecast", y: m.forecast, color: "#d62728", dashed: true },
      ],
      { title: "Free-running forecast (each output fed back as the next input)", xLabel: "steps ahead", yLabel: "x(t)", height: 320 },
    );
    window.demo.esn = { nrmse: m.nrmse, points: m.forecast.length };
  } else if (m.type === "error") {
    showError(m.message);
    setTraining(false);
    $("esn").disabled = false;
  }
};
worker.onerror = (e) => showError(`worker: ${e.message}`);

function drawLoss() {
  const bits = losses.map((l) => l / BITS);
  const window_ = Math.max(1, Math.round(bits.length / 30));
  const mean = bits.map((_, i) => {
    const from = Math.max(0, i - window_ + 1);
    return bits.slice(from, i + 1).reduce((a, b) => a + b, 0) / (i + 1 - from);
  });
  drawChart(
    $("lossPlot"),
    [
      { label: "loss per update", y: bits, color: "#9ec5e8" },
      { label: `mean of ${window_}`, y: mean, color: "#1f4e96" },
    ],
    { title: "Training loss", xLabel: "update", yLabel: "bits per character", x0: 1 },
  );
}

function setTraining(on) {
  $("train").disabled = on;
  $("stop").disabled = !on;
  $("sample").disabled = on || losses.length === 0;
  $("download").disabled = on || losses.length === 0;
}

function showError(message) {
  window.demo.errors.push(message);
  $("status").innerHTML = "";
  const span = document.createElement("span");
  span.className = "error";
  span.textContent = message;
  $("status").append(span);
}
