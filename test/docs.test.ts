/**
 * The documentation holds together: the API reference (TypeDoc over every subpath export of
 * package.json) builds with every export documented and no broken {@link}, and the Markdown
 * files link only to files and headings that exist.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ESM config file without types
import { entryPointsOf } from "../typedoc.config.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));

describe("API reference", () => {
  it("has one entry point per subpath export, taken from package.json", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    const entries: string[] = entryPointsOf(pkg.exports);
    expect(entries).toContain("./src/index.ts");
    for (const e of entries) expect(existsSync(join(root, e)), e).toBe(true);
    expect(entryPointsOf({ ".": { types: "./dist/index.d.ts", default: "./dist/index.js" }, "./esn": { types: "./dist/esn/index.d.ts", default: "./dist/esn/index.js" }, "./package.json": "./package.json" })).toEqual([
      "./src/index.ts",
      "./src/esn/index.ts",
    ]);
  });

  it("builds with every export documented and no broken link (npm run docs:check)", async () => {
    const typedoc = join(root, "node_modules", "typedoc", "bin", "typedoc");
    const r = await new Promise<{ code: number; out: string }>((done) =>
      execFile(process.execPath, [typedoc, "--emit", "none"], { cwd: root, encoding: "utf8" }, (err, stdout, stderr) =>
        done({ code: err ? Number(err.code ?? 1) : 0, out: `${stdout}${stderr}`.replace(/\x1b\[[0-9;]*m/g, "") }),
      ),
    );
    const problems = r.out.split("\n").filter((l) => /\[(warning|error)\]/.test(l) && !/Found \d+ errors and \d+ warnings/.test(l));
    expect(problems).toEqual([]);
    expect(r.code).toBe(0);
  });
});

// GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
const slug = (heading: string): string =>
  heading.trim().toLowerCase().replace(/[`*_]/g, "").replace(/[^\p{L}\p{N}\s-]/gu, "").replace(/\s/g, "-");

function anchors(file: string): Set<string> {
  const out = new Set<string>();
  let fence = false;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.startsWith("```")) fence = !fence;
    const m = !fence && /^#{1,6}\s+(.*)$/.exec(line);
    if (m) out.add(slug(m[1]));
  }
  return out;
}

function markdownFiles(): string[] {
  const docs = join(root, "docs");
  const inDocs = existsSync(docs) ? readdirSync(docs).filter((f) => f.endsWith(".md")).map((f) => join(docs, f)) : [];
  return [join(root, "README.md"), join(root, "CHANGELOG.md"), join(root, "test", "fixtures", "README.md"), ...inDocs];
}

describe("Markdown links", () => {
  it.each(markdownFiles().map((f) => relative(root, f)))("%s links to files and headings that exist", (name) => {
    const file = join(root, name);
    const text = readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "");
    const broken: string[] = [];
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target)) continue; // https:, mailto: — not checked offline
      const [path, hash] = target.split("#");
      const dest = path ? resolve(dirname(file), path) : file;
      if (!existsSync(dest)) broken.push(`${target}: no such file`);
      else if (hash && dest.endsWith(".md") && !anchors(dest).has(hash)) broken.push(`${target}: no heading #${hash}`);
    }
    expect(broken).toEqual([]);
  });
});
