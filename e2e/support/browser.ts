import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { repoRoot } from "./stack.js";

/**
 * Debian's chromium (`apt-get install chromium`; `.ci/run` installs it when missing). Nothing
 * is ever downloaded from a browser vendor: playwright-core only drives this binary.
 */
export const chromiumPath = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";

// Headless, and quiet: no sandbox (root in CI), no GPU, and none of the background calls a
// browser makes to the outside on its own (updates, sync, QUIC probes).
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Where screenshots go (ignored by git): e2e/.output/<folder>/. */
export const outputDir = (folder: string) => resolve(repoRoot, "e2e", ".output", folder);

export interface BrowserSession {
  readonly context: BrowserContext;
  readonly page: Page;
  /**
   * What went wrong in the page: uncaught errors and console errors (a CSP violation is
   * one), except the browser's note on each HTTP error answer, which the page expects.
   */
  readonly problems: string[];
  /** Writes `<nn>-<name>.png` of the whole page to the output folder; returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export interface BrowserOptions {
  /** Screenshots go to e2e/.output/<folder>/. */
  folder: string;
  viewport?: { width: number; height: number };
}

/** A fresh chromium profile (its own user-data dir) with one page. */
export async function openBrowser({ folder, viewport = { width: 768, height: 1024 } }: BrowserOptions) {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `no chromium at ${chromiumPath}: install Debian's (apt-get install -y chromium) or set CHROMIUM_BIN`,
    );
  }
  const profile = await mkdtemp(join(tmpdir(), "stockflow-chromium-"));
  const shots = outputDir(folder);
  await rm(shots, { recursive: true, force: true });
  await mkdir(shots, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ARGS,
    viewport,
    locale: "en-US",
    timezoneId: "UTC",
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(m.text());
  });
  page.on("pageerror", (err) => problems.push(err.message));
  let taken = 0;
  return {
    context,
    page,
    problems,
    async screenshot(name) {
      const path = join(shots, `${String(++taken).padStart(2, "0")}-${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  } satisfies BrowserSession;
}
