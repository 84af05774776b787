// Opens every page of a rendered portal from file:// in Debian's headless Chromium and checks
// what an auditor's browser would see: no console errors or page errors, no request leaving the
// page's own origin, no dialog (evidence text stays inert), and no accessibility violation of
// serious or critical impact (axe-core). Writes screenshots of the dashboard and a control page.
//
// usage: node portal.mjs PORTAL_DIR ARTIFACTS_DIR
import { readdirSync, statSync, mkdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const [portal, artifacts] = process.argv.slice(2);
if (!portal || !artifacts) {
  console.error("usage: node portal.mjs PORTAL_DIR ARTIFACTS_DIR");
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

function pages(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return pages(path);
    return name.endsWith(".html") ? [path] : [];
  });
}

const args = [
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
if (process.getuid && process.getuid() === 0) args.push("--no-sandbox");
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args });
// The portal's CSP forbids every script, axe included: bypass it, so escaping alone must keep evidence inert.
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
const problems = [];
const all = pages(portal).sort();
let checked = 0;
let controlShot = false;
for (const file of all) {
  const name = relative(portal, file);
  const page = await context.newPage();
  page.on("console", (m) => m.type() === "error" && problems.push(`${name}: console error: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`${name}: page error: ${e.message}`));
  page.on("dialog", async (d) => {
    problems.push(`${name}: a dialog opened (${d.type()}: ${d.message()}): evidence text ran as script`);
    await d.dismiss();
  });
  page.on("request", (r) => {
    if (!r.url().startsWith("file://")) problems.push(`${name}: request leaves the page's origin: ${r.url()}`);
  });
  await page.goto("file://" + file, { waitUntil: "load" });
  // Status must not be conveyed by colour alone: every status badge carries its word.
  const wordless = await page.$$eval(".status", (els) => els.filter((e) => !e.textContent.trim()).length);
  if (wordless) problems.push(`${name}: ${wordless} status badge(s) without text`);
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"], preload: false });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }));
  });
  for (const v of result) {
    if (v.impact === "serious" || v.impact === "critical") {
      problems.push(`${name}: accessibility ${v.impact}: ${v.id} (${v.nodes} element(s)): ${v.help}`);
    }
  }
  if (name === "index.html") await page.screenshot({ path: join(artifacts, "dashboard.png"), fullPage: true });
  if (name.startsWith("controls/") && !controlShot) {
    await page.screenshot({ path: join(artifacts, "control.png"), fullPage: true });
    controlShot = true;
  }
  await page.close();
  checked += 1;
}
await browser.close();
const unique = [...new Set(problems)];
console.log(JSON.stringify({ pages: checked, problems: unique }, null, 1));
process.exit(unique.length ? 1 : 0);
