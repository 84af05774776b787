// Opens every page of a rendered portal in Debian's headless Chromium, twice: from file:// and
// from a static HTTP server on 127.0.0.1, and checks what an auditor's browser would see:
// - every link and stylesheet on every page resolves (the file exists, or the server answers
//   200), and every #fragment names an element of its target page;
// - no console error or page error, no request leaving the page's own origin, no dialog (evidence
//   text stays inert), every status badge carries its word (not colour alone);
// - from file://, no accessibility violation of serious or critical impact (axe-core);
// - the search page, under its own Content-Security-Policy, finds a control by its id from both
//   origins, and lists every entry with scripts off.
// Writes screenshots of the dashboard, a control page and a search to ARTIFACTS_DIR.
//
// usage: node portal.mjs PORTAL_DIR ARTIFACTS_DIR
import { readdirSync, statSync, mkdirSync, readFileSync, existsSync } from "node:fs";
import { join, relative, resolve, sep, extname } from "node:path";
import { createServer } from "node:http";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const [portalArg, artifacts] = process.argv.slice(2);
if (!portalArg || !artifacts) {
  console.error("usage: node portal.mjs PORTAL_DIR ARTIFACTS_DIR");
  process.exit(2);
}
const portal = resolve(portalArg);
mkdirSync(artifacts, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

function pages(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return pages(path);
    return name.endsWith(".html") ? [path] : [];
  });
}

// A plain static server: files under the portal, 404 for anything else.
const types = { ".html": "text/html; charset=utf-8", ".css": "text/css", ".json": "application/json",
  ".md": "text/markdown; charset=utf-8", ".zip": "application/zip", ".png": "image/png", ".svg": "image/svg+xml" };
const server = createServer((req, res) => {
  const path = resolve(portal, "." + decodeURIComponent(new URL(req.url, "http://x").pathname));
  if ((path !== portal && !path.startsWith(portal + sep)) || !existsSync(path) || statSync(path).isDirectory()) {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found");
    return;
  }
  res.writeHead(200, { "content-type": types[extname(path)] || "application/octet-stream" });
  res.end(readFileSync(path));
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const httpRoot = `http://127.0.0.1:${server.address().port}/`;
const fileRoot = pathToFileURL(portal + sep).href;

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
const problems = [];
const all = pages(portal).sort();

// Whether a link resolves; each target is checked once per origin.
const linkCache = new Map();
async function resolves(url) {
  if (linkCache.has(url)) return linkCache.get(url);
  const u = new URL(url);
  const hash = decodeURIComponent(u.hash.slice(1));
  u.hash = "";
  u.search = "";
  let ok;
  let text = "";
  if (u.protocol === "file:") {
    const path = fileURLToPath(u);
    ok = existsSync(path) && statSync(path).isFile();
    if (ok && hash && path.endsWith(".html")) text = readFileSync(path, "utf8");
  } else {
    const r = await fetch(u.href);
    ok = r.status === 200;
    if (ok && hash && u.pathname.endsWith(".html")) text = await r.text();
    else await r.arrayBuffer();
  }
  let why = ok ? "" : "does not resolve";
  if (ok && hash && text && !text.includes(`id="${hash}"`)) why = `has no element with id ${hash}`;
  linkCache.set(url, why);
  return why;
}

async function visit(context, root, name, { axe, shots }) {
  const origin = root.startsWith("file:") ? "file://" : root;
  const where = `${name} (${root.startsWith("file:") ? "file://" : "http"})`;
  const page = await context.newPage();
  page.on("console", (m) => m.type() === "error" && problems.push(`${where}: console error: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`${where}: page error: ${e.message}`));
  page.on("dialog", async (d) => {
    problems.push(`${where}: a dialog opened (${d.type()}: ${d.message()}): evidence text ran as script`);
    await d.dismiss();
  });
  page.on("request", (r) => {
    if (!r.url().startsWith(origin)) problems.push(`${where}: request leaves the page's origin: ${r.url()}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`${where}: ${r.url()} answered ${r.status()}`);
  });
  await page.goto(root + name.split(sep).join("/"), { waitUntil: "load" });
  const wordless = await page.$$eval(".status", (els) => els.filter((e) => !e.textContent.trim()).length);
  if (wordless) problems.push(`${where}: ${wordless} status badge(s) without text`);
  const links = await page.$$eval("a[href], link[href]", (els) => els.map((e) => e.href));
  for (const link of new Set(links)) {
    if (!link.startsWith(origin)) {
      problems.push(`${where}: link leaves the portal: ${link}`);
      continue;
    }
    const why = await resolves(link);
    if (why) problems.push(`${where}: link ${link.slice(root.length)} ${why}`);
  }
  if (axe) {
    await page.addScriptTag({ content: axeSource });
    const result = await page.evaluate(async () => {
      // eslint-disable-next-line no-undef
      const r = await axe.run(document, { resultTypes: ["violations"], preload: false });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }));
    });
    for (const v of result) {
      if (v.impact === "serious" || v.impact === "critical") {
        problems.push(`${where}: accessibility ${v.impact}: ${v.id} (${v.nodes} element(s)): ${v.help}`);
      }
    }
  }
  if (shots && name === "index.html") await page.screenshot({ path: join(artifacts, "dashboard.png"), fullPage: true });
  if (shots && name.startsWith("controls" + sep) && !shots.control) {
    shots.control = true;
    await page.screenshot({ path: join(artifacts, "control.png"), fullPage: true });
  }
  await page.close();
}

// Visits every page, a few at a time: one page's round trips to the browser overlap another's
// rendering.
async function visitAll(context, root, options) {
  let next = 0;
  const worker = async () => {
    while (next < all.length) {
      const file = all[next++];
      await visit(context, root, relative(portal, file), options);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}

// Every page from both origins. The portal's CSP forbids scripts, axe's included: that context
// bypasses it, so escaping alone must keep evidence inert.
const axeContext = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
const shots = {};
await visitAll(axeContext, fileRoot, { axe: true, shots });
await axeContext.close();
const plain = await browser.newContext({ viewport: { width: 1280, height: 900 } });
await visitAll(plain, httpRoot, { axe: false, shots: null });

// Search, under the page's own CSP, from both origins: typing a control's id lists that control first.
const index = JSON.parse(readFileSync(join(portal, "index.json"), "utf8"));
const control = index.controls[Math.floor(index.controls.length / 2)].id;
let searched = 0;
for (const root of [fileRoot, httpRoot]) {
  const page = await plain.newPage();
  page.on("console", (m) => m.type() === "error" && problems.push(`search (${root}): console error: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`search (${root}): page error: ${e.message}`));
  await page.goto(root + "search.html", { waitUntil: "load" });
  if (!(await page.isVisible("#q"))) problems.push(`search (${root}): the search box did not appear: its script did not run`);
  await page.fill("#q", control.toLowerCase());
  const first = await page.$$eval("#results li:not([hidden]) a", (els) => els.map((e) => e.getAttribute("href")));
  if (first[0] !== `controls/${control}.html`) {
    problems.push(`search (${root}): "${control}" lists ${JSON.stringify(first.slice(0, 3))} first, not its control page`);
  }
  const total = await page.$$eval("#results li", (els) => els.length);
  if (first.length === 0 || first.length === total) problems.push(`search (${root}): "${control}" filtered nothing`);
  await page.goto(root + "search.html?q=" + encodeURIComponent(control), { waitUntil: "load" });
  const viaQuery = await page.$$eval("#results li:not([hidden]) a", (els) => els.map((e) => e.getAttribute("href")));
  if (viaQuery[0] !== `controls/${control}.html`) problems.push(`search (${root}): ?q=${control} did not find it`);
  if (root === fileRoot) await page.screenshot({ path: join(artifacts, "search.png"), fullPage: false });
  await page.close();
  searched += 1;
}
await plain.close();
// With scripts off the page is still the whole index.
const noScript = await browser.newContext({ javaScriptEnabled: false });
const page = await noScript.newPage();
await page.goto(fileRoot + "search.html", { waitUntil: "load" });
const listed = await page.$$eval("#results li a", (els) => els.map((e) => e.getAttribute("href")));
if (!listed.includes(`controls/${control}.html`)) problems.push(`search with scripts off does not list ${control}`);
await noScript.close();

await browser.close();
server.close();
const unique = [...new Set(problems)];
console.log(JSON.stringify({ pages: all.length, origins: 2, searched, control, problems: unique }, null, 1));
process.exit(unique.length ? 1 : 0);
