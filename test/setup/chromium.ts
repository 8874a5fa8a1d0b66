/**
 * Global setup: picks the browser for the end-to-end tests once, before the test files run in
 * parallel (unpacking the npm browser is not safe to do twice at the same time). A missing
 * browser is not an error here, so that the other tests run: the browser tests fail with the
 * message.
 */
import type { TestProject } from "vitest/node";
import { resolveChromium, type ChromiumChoice } from "../helpers/browser.js";

declare module "vitest" {
  export interface ProvidedContext {
    chromium: ChromiumChoice | { error: string };
  }
}

export default async function setup(project: TestProject): Promise<void> {
  try {
    project.provide("chromium", await resolveChromium());
  } catch (err) {
    project.provide("chromium", { error: err instanceof Error ? err.message : String(err) });
  }
}
