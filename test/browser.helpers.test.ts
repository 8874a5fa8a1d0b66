/**
 * How the browser tests find their browser (test/helpers/browser.ts): the system's first, the
 * npm one otherwise, RECUR_CHROMIUM to choose; with none, an error that says how to get one.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveChromium } from "./helpers/browser.js";

const dir = mkdtempSync(join(tmpdir(), "recur-browser-"));
const fake = join(dir, "chromium");
writeFileSync(fake, "");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("resolveChromium", () => {
  it("prefers the system browser", async () => {
    const c = await resolveChromium({ override: undefined, systemPaths: [join(dir, "missing"), fake] });
    expect(c).toEqual({ executablePath: fake, source: "system" });
  });

  it("RECUR_CHROMIUM names a browser, or fails naming the missing path", async () => {
    expect(await resolveChromium({ override: fake, systemPaths: [] })).toEqual({ executablePath: fake, source: "RECUR_CHROMIUM" });
    await expect(resolveChromium({ override: join(dir, "nope") })).rejects.toThrow(/RECUR_CHROMIUM=.*nope: no such file/);
  });

  it("without any browser, fails with how to get one", async () => {
    const none = { override: undefined, systemPaths: [join(dir, "missing")], npmPackage: "@recur-nn/no-such-browser" };
    const err = await resolveChromium(none).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/^No Chromium for the browser tests: tried .*missing and @recur-nn\/no-such-browser, found none/);
    expect(err?.message).toMatch(/npm install/);
    expect(err?.message).toMatch(/apt-get install chromium/);
    expect(err?.message).toMatch(/RECUR_CHROMIUM/);
    await expect(resolveChromium({ ...none, override: "system" })).rejects.toThrow(/none of .*missing exists \(RECUR_CHROMIUM=system\)/);
    await expect(resolveChromium({ ...none, override: "npm" })).rejects.toThrow(/tried @recur-nn\/no-such-browser \(RECUR_CHROMIUM=npm\)/);
  });
});
