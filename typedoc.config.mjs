// The API reference (`npm run docs`, written to docs/api/): one entry point per subpath export of
// package.json, so a new export is documented (and checked) without touching this file. Each
// export's types file dist/<path>.d.ts comes from src/<path>.ts.
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));

export function entryPointsOf(exportsField) {
  const entries = typeof exportsField === "string" ? { ".": exportsField } : exportsField;
  return Object.values(entries).flatMap((target) => {
    const types = typeof target === "string" ? target : target?.types;
    if (typeof types !== "string" || !types.endsWith(".d.ts")) return []; // e.g. "./package.json"
    return [types.replace(/^\.\/dist\//, "./src/").replace(/\.d\.ts$/, ".ts")];
  });
}

/** @type {Partial<import("typedoc").TypeDocOptions>} */
export default {
  name: pkg.name,
  entryPoints: entryPointsOf(pkg.exports),
  tsconfig: "./tsconfig.build.json",
  out: "./docs/api",
  readme: "none",
  includeVersion: true,
  // The reference documents the published API; links into a source host would depend on the
  // clone's git remote (a fresh CI clone has none that TypeDoc can read).
  disableSources: true,
  excludePrivate: true,
  excludeProtected: true,
  excludeInternal: true,
  sort: ["kind", "instance-first", "alphabetical-ignoring-documents"],
  // Broken links and undocumented exports fail the build (the test suite runs this check).
  validation: { notExported: true, invalidLink: true, invalidPath: true, rewrittenLink: true, notDocumented: true, unusedMergeModuleWith: true },
  treatWarningsAsErrors: true,
};
