import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/** Reads a file, turning Node's errno messages into one plain sentence. */
export async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : code === "EACCES" ? "permission denied" : String((err as Error).message);
    throw new Error(`cannot read ${what} ${path}: ${why}`);
  }
}

export async function readText(path: string, what: string): Promise<string> {
  return new TextDecoder().decode(await readInput(path, what));
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
