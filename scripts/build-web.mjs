// Builds the web view (src/web/) into dist-web/web/: the app bundled by esbuild, its styles with
// highlight.js's theme, and index.html. wrangler runs it before `wrangler dev` and `deploy`
// (wrangler.jsonc "build"), and `npm test` before the tests; Workers static assets serve it.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist-web", "web");
rmSync(join(root, "dist-web"), { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, "src/web/app.ts")],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  outfile: join(out, "app.js"),
  logLevel: "warning",
});
const theme = createRequire(import.meta.url).resolve("highlight.js/styles/github.css");
writeFileSync(join(out, "app.css"), `${readFileSync(theme, "utf8")}\n${readFileSync(join(root, "src/web/style.css"), "utf8")}`);
copyFileSync(join(root, "src/web/index.html"), join(out, "index.html"));
