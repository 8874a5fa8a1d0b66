#!/usr/bin/env node
// The long fuzzing run: the reliability tests (hostile files through every loader, hostile API
// calls, non-finite updates, drop without dispose) with every round count multiplied.
// Usage: npm run fuzz [-- <scale>]   (default 50; CI runs them at scale 1)
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const scale = process.argv[2] ?? "50";
if (!/^[1-9]\d*$/.test(scale)) {
  console.error(`fuzz: the scale must be a positive integer, got ${JSON.stringify(scale)}`);
  process.exit(2);
}
const root = fileURLToPath(new URL("..", import.meta.url));
const vitest = fileURLToPath(new URL("../node_modules/vitest/vitest.mjs", import.meta.url));
const files = ["test/reliability.files.test.ts", "test/reliability.api.test.ts", "test/reliability.numeric.test.ts", "test/reliability.memory.test.ts"];
console.log(`fuzz: scale ${scale}`);
const r = spawnSync(process.execPath, [vitest, "run", ...files], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, RECUR_FUZZ_SCALE: scale },
});
process.exit(r.status ?? 1);
