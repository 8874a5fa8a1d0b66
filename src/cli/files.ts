import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { CharLM } from "../apps/char-lm.js";
import { RecurError } from "../errors.js";
import { readSafetensors, type SafetensorsContents } from "../io/safetensors.js";

/** A file that cannot be read, said the same way by every command: "no such file: X". */
function unreadable(path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") return new Error(`no such file: ${path}`);
  if (code === "EISDIR") return new Error(`${path} is a directory, not a file`);
  if (code === "EACCES" || code === "EPERM") return new Error(`permission denied: ${path}`);
  return new Error(`cannot read ${path}: ${(err as Error).message}`);
}

/** Reads a file, turning Node's errno messages into one plain sentence. */
export async function readInput(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    throw unreadable(path, err);
  }
}

export async function readText(path: string): Promise<string> {
  return new TextDecoder().decode(await readInput(path));
}

/** Runs `parse` on a weight file's bytes; a file of another kind is one sentence naming it. */
function asModelFile<T>(path: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof RecurError && err.message.startsWith("not a .safetensors file")) throw new Error(`${path} is not a .safetensors file`);
    throw err;
  }
}

/** The tensors and metadata of a .safetensors file. */
export async function readModelFile(path: string): Promise<{ bytes: Uint8Array } & SafetensorsContents> {
  const bytes = await readInput(path);
  return { bytes, ...asModelFile(path, () => readSafetensors(bytes)) };
}

/** A character model (or checkpoint) written by `recur train` or `npm start`, and its file's metadata. */
export async function loadCharModel(path: string): Promise<{ lm: CharLM; metadata: Record<string, string> }> {
  const bytes = await readInput(path);
  const { metadata } = asModelFile(path, () => readSafetensors(bytes));
  return { lm: CharLM.load(bytes), metadata };
}

/**
 * Writes through a temporary file and a rename, so an interrupted write never leaves a
 * truncated model or checkpoint behind. Creates missing directories.
 */
export async function writeOutput(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export function exists(path: string): boolean {
  return existsSync(path);
}
