// The demo page: drives the worker and draws its progress (loss curve, samples, ESN forecast).
// ?quick=1 trains a small model for 60 updates (the end-to-end test does: a fixed amount of work
// whatever the machine's load).
import { linePlot, movingAverage } from "../dist/cli/svg.js";

const $ = (id) => document.getElementById(id);
const quick = new URLSearchParams(location.search).has("quick");
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const losses = [];

// Exposed for the end-to-end test, which watches the page like a person would.
window.demo = { losses, samples: [], esn: undefined, backend: undefined, done: false, errors: [] };

if (quick) {
  $("seconds").value = "60";
  $("hidden").value = "64";
}
fetch("../README.md")
  .then((r) => (r.ok ? r.text() : Promise.reject(new Error(`HTTP ${r.status}`))))
  .then((text) => ($("text").value = text))
  .catch(() => ($("text").value = "hello world! ".repeat(200)));

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
    $("status").textContent = `step ${m.step}  loss ${m.loss.toFixed(3)}  ${Math.round(m.charsPerSecond).toLocaleString()} chars/s  ${Math.ceil(m.remainingMs / 1000)} s left`;
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
  } else if (m.type === "esn") {
    $("esn").disabled = false;
    $("esnStatus").textContent = `${m.units} units, fitted and run in ${Math.round(m.ms)} ms; NRMSE over the first 100 steps ${m.nrmse.toExponential(2)}`;
    $("esnPlot").innerHTML = linePlot(
      [
        { label: "Mackey-Glass", y: m.truth, color: "#444" },
        { label: "ESN forecast", y: m.forecast, color: "#d62728", dashed: true },
      ],
      { title: "Free-running forecast (each output fed back as the next input)", xLabel: "steps ahead", yLabel: "x(t)", width: 900, height: 320 },
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
  const window_ = Math.max(1, Math.round(losses.length / 30));
  $("lossPlot").innerHTML = linePlot(
    [
      { label: "loss per update", y: losses, color: "#9ec5e8" },
      { label: `mean of ${window_}`, y: movingAverage(losses, window_), color: "#1f4e96" },
    ],
    { title: "Training loss", xLabel: "update", yLabel: "nats / character", width: 900, height: 300 },
  );
}

function setTraining(on) {
  $("train").disabled = on;
  $("stop").disabled = !on;
  $("sample").disabled = on || losses.length === 0;
}

function showError(message) {
  window.demo.errors.push(message);
  $("status").innerHTML = "";
  const span = document.createElement("span");
  span.className = "error";
  span.textContent = message;
  $("status").append(span);
}
