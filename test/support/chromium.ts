import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";

/** Debian's chromium, which the browser tests drive with playwright-core (`.ci/run` installs it). */
export const CHROMIUM = "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);

/** Where the screenshots the README shows are written, when asked for (`SCREENSHOTS=1`). */
export const SCREENSHOTS = process.env.SCREENSHOTS === "1" ? join(import.meta.dirname, "../../docs/screenshots") : undefined;

/** Chromium headless, as a test machine (root, no GPU, no network of its own) can run it. */
export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
