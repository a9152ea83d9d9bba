// Builds the web view (src/web/) into dist-web/web/: the page (app.js bundled by esbuild, its
// styles with highlight.js's theme, index.html), and the same view as an MCP App: mcp-app.html,
// one file with its script and styles inlined, since a host's frame loads nothing else.
// wrangler runs it before `wrangler dev` and `deploy` (wrangler.jsonc "build"), and `npm test`
// before the tests; Workers static assets serve both.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist-web", "web");
rmSync(join(root, "dist-web"), { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const bundle = async (entry) => {
  const result = await build({
    entryPoints: [join(root, "src/web", entry)],
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    write: false,
    logLevel: "warning",
  });
  return result.outputFiles[0].text;
};
const theme = createRequire(import.meta.url).resolve("highlight.js/styles/github.css");
const styles = `${readFileSync(theme, "utf8")}\n${readFileSync(join(root, "src/web/style.css"), "utf8")}`;
writeFileSync(join(out, "app.js"), await bundle("app.ts"));
writeFileSync(join(out, "app.css"), styles);
copyFileSync(join(root, "src/web/index.html"), join(out, "index.html"));
// Inlined, a "</script" or "</style" inside the code would end its element early.
const inline = (text, tag) => text.replaceAll(`</${tag}`, `<\\/${tag}`);
const appScript = await bundle("mcp-app.ts");
const app = readFileSync(join(root, "src/web/mcp-app.html"), "utf8")
  .replace("/* STYLES */", () => inline(styles, "style"))
  .replace("/* SCRIPT */", () => inline(appScript, "script"));
writeFileSync(join(out, "mcp-app.html"), app);
