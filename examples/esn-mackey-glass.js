// Echo state network forecasting the chaotic Mackey-Glass series: a fixed random reservoir of
// leaky tanh units is driven by the series; only the linear readout is trained (ridge
// regression, one solve). Then the network runs free, each prediction fed back as the next
// input, and the forecast is plotted against the truth as an SVG.
//
//   node examples/esn-mackey-glass.js [--quick] [--json] [--out file.svg]
import { writeFileSync } from "node:fs";
import { init } from "recur-nn";
import { mackeyGlass, nrmse, toTensor } from "recur-nn/datasets";
import { ESN } from "recur-nn/esn";
import { linePlot } from "../dist/cli/svg.js";

const quick = process.argv.includes("--quick");
const json = process.argv.includes("--json"); // only the final metrics, as one JSON line
const say = json ? () => {} : console.log;
const outIndex = process.argv.indexOf("--out");
const out = outIndex > 0 ? process.argv[outIndex + 1] : "esn-mackey-glass.svg";
await init();

const series = mackeyGlass({ length: 3000 }); // tau = 17, one sample per time unit
const train = 2000;
const horizon = 500;
const esn = new ESN({
  units: quick ? 300 : 800,
  leakRate: 0.3,
  spectralRadius: 1.25,
  inputScaling: 0.5,
  biasScaling: 0.5,
  ridge: 1e-8,
  readoutInput: true,
  seed: 1,
});
const t0 = performance.now();
// One step ahead: inputs s[0..1999], targets s[1..2000]; the first 100 steps warm the reservoir up.
esn.fit(toTensor(series.subarray(0, train)), toTensor(series.subarray(1, train + 1)), { washout: 100 });
const forecast = esn.generate(horizon).data; // s[2001], s[2002], ... each from the previous forecast
const ms = performance.now() - t0;
const truth = series.subarray(train + 1, train + 1 + horizon);
const score = (n) => nrmse(forecast.subarray(0, n), truth.subarray(0, n));
const result = { units: esn.layers[0].units, nrmse100: score(100), nrmse300: score(300), nrmse500: score(500) };
say(`reservoir of ${result.units} units fitted and run in ${ms.toFixed(0)} ms`);
say(`free-running forecast NRMSE: ${result.nrmse100.toExponential(2)} over 100 steps, ${result.nrmse300.toExponential(2)} over 300, ${result.nrmse500.toExponential(2)} over 500`);
esn.dispose();

writeFileSync(out, linePlot(
  [
    { label: "Mackey-Glass", y: truth, color: "#444" },
    { label: "ESN forecast", y: forecast, color: "#d62728", dashed: true },
  ],
  { title: `Echo state network, ${horizon}-step free-running forecast`, xLabel: "steps ahead", yLabel: "x(t)" },
));
say(`wrote ${out}`);
if (json) console.log(JSON.stringify({ ...result, svg: out }));
