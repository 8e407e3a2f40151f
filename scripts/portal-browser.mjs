// The browser check of `make portal` (scripts/portal.sh): Debian's chromium, headless, driven by
// playwright-core, signs in as guest, opens the catalog page and looks for an example entity's
// name in the rendered page; saves a screenshot either way.
//
//   node portal-browser.mjs BASE_URL SCREENSHOT.png PROFILE_DIR ENTITY…
//
// Exit 0 when at least one ENTITY's name is on the rendered catalog page (it lists those found).
import { createRequire } from 'node:module';
import { join } from 'node:path';

// playwright-core lives in stagehand's cache (PLAYWRIGHT_NODE_MODULES), not in the repository.
const modules = process.env.PLAYWRIGHT_NODE_MODULES;
if (!modules) {
  console.error('portal-browser.mjs: set PLAYWRIGHT_NODE_MODULES (scripts/portal.sh does)');
  process.exit(2);
}
const { chromium } = createRequire(join(modules, 'noop.js'))('playwright-core');

const [baseUrl, screenshot, profile, ...entities] = process.argv.slice(2);
if (!baseUrl || !screenshot || !profile || entities.length === 0) {
  console.error('usage: portal-browser.mjs BASE_URL SCREENSHOT PROFILE_DIR ENTITY…');
  process.exit(2);
}

const say = (line) => console.error(`portal: browser: ${line}`);

// launchPersistentContext: a fresh --user-data-dir of our own (playwright would make one in
// /tmp otherwise), with the flags a machine without network or GPU needs.
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
  viewport: { width: 1400, height: 900 },
  timeout: 60_000,
});

let found = [];
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(60_000);
  await page.goto(baseUrl, { waitUntil: 'domcontentloaded' });

  // The sign-in page: the local overlay offers the guest provider only.
  const enter = page.getByRole('button', { name: /^enter$/i });
  await enter.waitFor({ state: 'visible' });
  say('sign-in page shown; signing in as guest');
  await enter.click();

  // Signed in, the app shows its sidebar: open the catalog the way a person does.
  const catalogLink = page.getByRole('link', { name: /^catalog$/i }).first();
  await catalogLink.waitFor({ state: 'visible' });
  await catalogLink.click();
  // (create-app mounts the catalog's index page at the app's root: the link goes to /?filters…)
  await page.waitForLoadState('load');
  say('signed in; opened the catalog page from the sidebar');
  const deadline = Date.now() + 60_000;
  while (found.length === 0 && Date.now() < deadline) {
    const text = await page.locator('body').innerText();
    found = entities.filter((name) => text.includes(name));
    if (found.length === 0) await page.waitForTimeout(500);
  }
  await page.screenshot({ path: screenshot, fullPage: true });
  say(`screenshot: ${screenshot}`);
} finally {
  await context.close();
}

if (found.length === 0) {
  say(`none of ${entities.join(', ')} is on the rendered catalog page`);
  process.exit(1);
}
say(`the catalog page shows ${found.join(', ')}`);
