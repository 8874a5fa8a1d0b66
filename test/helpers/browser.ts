/**
 * The Chromium that the end-to-end tests drive through playwright-core (which downloads no
 * browser): the system's when there is one (Debian's /usr/bin/chromium), otherwise the headless
 * Chromium shipped inside the @sparticuz/chromium dev dependency, unpacked on first use (its
 * binary into the temp folder, where that package keeps it, and the few shared libraries it
 * needs beside the binary, so that it runs on a machine without a browser's libraries).
 *
 * RECUR_CHROMIUM overrides the choice: "npm" ignores the system browser, "system" ignores the
 * npm one, any other value is the path of the browser to run.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { brotliDecompressSync } from "node:zlib";
import { chromium, type BrowserContext } from "playwright-core";

export const SYSTEM_CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
export const NPM_CHROMIUM = "@sparticuz/chromium";

export interface ChromiumChoice {
  executablePath: string;
  /** Where it came from: "system", "npm" or "RECUR_CHROMIUM". */
  source: string;
  /** Folder of shared libraries to put on LD_LIBRARY_PATH (the npm browser's). */
  libraryPath?: string;
}

export interface ResolveOptions {
  /** Default: process.env.RECUR_CHROMIUM. */
  override?: string;
  systemPaths?: readonly string[];
  npmPackage?: string;
}

const HOW_TO_GET_ONE =
  "install one of: the dev dependencies (`npm install` in the repository brings @sparticuz/chromium, a headless Chromium for x64 Linux), " +
  "the system's Chromium (Debian/Ubuntu: `apt-get install chromium`), or set RECUR_CHROMIUM to the path of a Chromium or Chrome binary";

/** Picks the browser; rejects with a message that says how to get one when there is none. */
export async function resolveChromium(options: ResolveOptions = {}): Promise<ChromiumChoice> {
  const override = "override" in options ? options.override : process.env.RECUR_CHROMIUM;
  const systemPaths = options.systemPaths ?? SYSTEM_CHROMIUM;
  const npmPackage = options.npmPackage ?? NPM_CHROMIUM;
  if (override && override !== "npm" && override !== "system") {
    if (!existsSync(override)) throw new Error(`RECUR_CHROMIUM=${override}: no such file. To run the browser tests, ${HOW_TO_GET_ONE}.`);
    return { executablePath: override, source: "RECUR_CHROMIUM" };
  }
  if (override !== "npm") {
    const found = systemPaths.find((p) => existsSync(p));
    if (found) return { executablePath: found, source: "system" };
  }
  const tried = override === "npm" ? `${npmPackage} (RECUR_CHROMIUM=npm)` : `${systemPaths.join(", ")} and ${npmPackage}`;
  if (override === "system") throw new Error(`No Chromium for the browser tests: none of ${systemPaths.join(", ")} exists (RECUR_CHROMIUM=system). To run them, ${HOW_TO_GET_ONE}.`);
  let bin: string;
  let Chromium: { executablePath(input?: string): Promise<string> };
  try {
    // The package's main file is build/<format>/index.*; its browser is packed in bin/.
    bin = join(dirname(createRequire(import.meta.url).resolve(npmPackage)), "..", "..", "bin");
    Chromium = ((await import(npmPackage)) as { default: typeof Chromium }).default;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "MODULE_NOT_FOUND" && code !== "ERR_MODULE_NOT_FOUND") throw err;
    throw new Error(`No Chromium for the browser tests: tried ${tried}, found none. To run them, ${HOW_TO_GET_ONE}.`);
  }
  const executablePath = await Chromium.executablePath(bin);
  return { executablePath, source: "npm", libraryPath: unpackLibraries(join(bin, "al2023.tar.br")) };
}

/**
 * Unpacks the shared libraries the npm browser links against (NSS, NSPR, expat: packed for
 * Amazon Linux, whose glibc is older than any current distribution's) once per version.
 */
function unpackLibraries(archive: string): string | undefined {
  if (!existsSync(archive)) return undefined;
  const target = join(tmpdir(), `recur-chromium-libs-${readFileSync(archive).length}`);
  if (existsSync(join(target, "lib"))) return join(target, "lib");
  const staging = `${target}.${process.pid}`;
  const tar = brotliDecompressSync(readFileSync(archive));
  for (let off = 0; off + 512 <= tar.length; ) {
    const name = tar.toString("utf8", off, off + 100).replace(/\0.*$/s, "");
    if (!name) break;
    const size = parseInt(tar.toString("utf8", off + 124, off + 136).replace(/\0.*$/s, "").trim() || "0", 8);
    const type = tar[off + 156];
    if ((type === 0 || type === 0x30) && !name.includes("..")) {
      const path = join(staging, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, tar.subarray(off + 512, off + 512 + size));
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  try {
    renameSync(staging, target); // atomic: a parallel run either sees all of it or none
  } catch {
    rmSync(staging, { recursive: true, force: true }); // another process got there first
  }
  return join(target, "lib");
}

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** A headless browser with a fresh profile in `profileDir`. */
export function launchChromium(choice: ChromiumChoice, profileDir: string): Promise<BrowserContext> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  if (choice.libraryPath) env.LD_LIBRARY_PATH = [choice.libraryPath, env.LD_LIBRARY_PATH].filter(Boolean).join(":");
  return chromium.launchPersistentContext(profileDir, { executablePath: choice.executablePath, headless: true, args: ARGS, env });
}
