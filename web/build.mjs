// Builds the dashboard into ../internal/web/dist: one minified JS and one
// CSS bundle with content-hashed names, index.html pointing at them, and a
// gzip copy of every text file (the Go server sends it when accepted).
import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync, constants } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "..", "internal", "web", "dist");
const assets = join(dist, "assets");

// Start clean but keep the committed placeholder.
for (const name of readdirSync(dist, { withFileTypes: true })) {
  if (name.name !== "placeholder.txt") rmSync(join(dist, name.name), { recursive: true, force: true });
}
mkdirSync(assets, { recursive: true });

const result = await esbuild.build({
  entryPoints: [join(here, "src", "main.ts")],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  outdir: assets,
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  legalComments: "eof",
  // uPlot is MIT licensed; its notice goes with the bundle.
  banner: { js: "/*! genscope dashboard. Includes uPlot, Copyright (c) 2025 Leon Sorokin, MIT License, https://github.com/leeoniya/uPlot */" },
  metafile: true,
  write: true,
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((p) => p.split("/").pop());
const js = outputs.find((n) => n.endsWith(".js"));
const css = outputs.find((n) => n.endsWith(".css"));
if (!js || !css) throw new Error("build: missing JS or CSS output: " + outputs.join(", "));

let html = readFileSync(join(here, "src", "index.html"), "utf8");
html = html.replace("%CSS%", "/assets/" + css).replace("%JS%", "/assets/" + js);
writeFileSync(join(dist, "index.html"), html);

// Precompress.
const files = [join(dist, "index.html"), ...readdirSync(assets).map((n) => join(assets, n))];
let total = 0;
for (const f of files) {
  if (!/\.(js|css|html|txt|svg|json)$/.test(f)) continue;
  const gz = gzipSync(readFileSync(f), { level: constants.Z_BEST_COMPRESSION });
  writeFileSync(f + ".gz", gz);
  if (/\.(js|css)$/.test(f)) total += gz.length;
}
const hash = createHash("sha256").update(html).digest("hex").slice(0, 8);
console.log(`web: built ${js}, ${css} (${(total / 1024).toFixed(1)} KB gzip JS+CSS), index ${hash}`);
