// Browser test of `safescan report` (docs/report.md): scan a small two-class dataset with a
// malformed file, write the audit card, open report.html from disk in headless Chromium
// (Debian's chromium driven by playwright-core) and check what a reader sees.
//
// Exit status: 0 pass, 1 fail (messages on stderr), 77 skipped (no chromium, shared images,
// models or node_modules). Environment (set by ctest): SAFESCAN_EXE, SAFESCAN_SHARED,
// SAFESCAN_WEB_DIR, CHROMIUM. SAFESCAN_KEEP_TMP=1 keeps the temporary folder (with the card
// and a full-page screenshot, report.png) after a pass; after a failure it is always kept.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const env = process.env;
const failures = [];
function check(condition, message) {
  if (!condition) failures.push(message);
  return condition;
}
function skip(message) {
  console.log(`SKIP: ${message}`);
  process.exit(77);
}

// --- what the test needs ------------------------------------------------------------------
const exe = env.SAFESCAN_EXE;
const shared = env.SAFESCAN_SHARED;
const webDir = env.SAFESCAN_WEB_DIR;
const chromiumPath = env.CHROMIUM || '/usr/bin/chromium';
if (!exe || !fs.existsSync(exe)) skip(`no safescan executable (SAFESCAN_EXE=${exe})`);
if (!shared || !fs.existsSync(path.join(shared, 'images'))) skip(`no shared images (SAFESCAN_SHARED=${shared})`);
const faceModel = path.join(shared, 'models', 'faces', 'face_detection_yunet.onnx');
if (!fs.existsSync(faceModel)) skip(`no YuNet model at ${faceModel}`);
if (!fs.existsSync(chromiumPath)) skip(`no chromium at ${chromiumPath}`);
if (!webDir || !fs.existsSync(path.join(webDir, 'node_modules', 'playwright-core')))
  skip(`no playwright-core under ${webDir}/node_modules: run scripts/setup.sh`);
const require = createRequire(path.join(webDir, 'package.json'));
const { chromium } = require('playwright-core');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'safescan-report-'));
const runEnv = { ...env, OMP_WAIT_POLICY: 'PASSIVE', SAFESCAN_THREADS: '1' };
function run(args) {
  const r = spawnSync(exe, args, { env: runEnv, encoding: 'utf8', timeout: 240000 });
  return { status: r.status, stdout: r.stdout || '', stderr: r.stderr || '' };
}

// --- the dataset: the shared images in two class folders, plus a file that is not an image,
// whose name would run script if the page did not escape it ------------------------------
const images = fs.readdirSync(path.join(shared, 'images')).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
const people = new Set(['astronaut.png', 'messi5.jpg', 'kodim04.png', 'kodim15.png', 'kodim18.png']);
const data = path.join(tmp, 'data');
const counts = { people: 0, animals: 0 };
for (const name of images) {
  const cls = people.has(name) ? 'people' : 'animals';
  fs.mkdirSync(path.join(data, cls), { recursive: true });
  fs.copyFileSync(path.join(shared, 'images', name), path.join(data, cls, name));
  counts[cls] += 1;
}
const evilName = `not an image <img src=x onerror="window.injected=1">.jpg`;
fs.writeFileSync(path.join(data, 'people', evilName), 'this is text, not an image\n');
counts.people += 1;
const total = images.length + 1;

// --- scan, then report --------------------------------------------------------------------
const db = path.join(tmp, 'scan.db');
const scan = run(['scan', data, '--db', db, '--detectors', 'nsfw,faces-yunet', '--face-model', faceModel, '--no-progress']);
if (scan.status !== 3) {
  if (/model/i.test(scan.stderr) && scan.status === 1) skip(`the nsfw model is not installed: ${scan.stderr.trim()}`);
  console.error(`scan exited ${scan.status} (expected 3: one malformed file)\n${scan.stderr}`);
  process.exit(1);
}
const card = path.join(tmp, 'card');
const report = run(['report', db, '--out', card, '--class-from', 'folder', '--title', 'Test card <b>&']);
if (!check(report.status === 0, `report exited ${report.status}: ${report.stderr}`)) {
  console.error(failures.join('\n'));
  process.exit(1);
}
const html = path.join(card, 'report.html');
check(fs.existsSync(html), 'no report.html');
check(fs.existsSync(path.join(card, 'classes.csv')), 'no classes.csv');

// Command-line errors: missing database, not a database, unwritable output folder.
const missing = run(['report', path.join(tmp, 'nope.db'), '--out', path.join(tmp, 'x')]);
check(missing.status === 2 && /no such database/.test(missing.stderr), `missing DB: exit ${missing.status} ${missing.stderr}`);
const textFile = path.join(tmp, 'notes.txt');
fs.writeFileSync(textFile, 'hello\n');
const notDb = run(['report', textFile, '--out', path.join(tmp, 'y')]);
check(notDb.status === 2 && /not a safescan database/.test(notDb.stderr), `not a DB: exit ${notDb.status} ${notDb.stderr}`);
const unwritable = run(['report', db, '--out', path.join(textFile, 'sub')]);
check(unwritable.status === 1 && /output folder/.test(unwritable.stderr), `unwritable out: exit ${unwritable.status} ${unwritable.stderr}`);
const badClass = run(['report', db, '--out', path.join(tmp, 'z'), '--class-from', 'colour']);
check(badClass.status === 2 && /class-from/.test(badClass.stderr), `bad --class-from: exit ${badClass.status} ${badClass.stderr}`);

// --- the Markdown twin ----------------------------------------------------------------------
const md = fs.readFileSync(path.join(card, 'report.md'), 'utf8');
check(md.includes(`| Items in the database | ${total} |`), `report.md lacks the item count ${total}`);
check(md.includes(`| Scored | ${total - 1} |`), 'report.md lacks the scored count');
check(md.includes('| Failed to read or decode | 1 |'), 'report.md lacks the failed count');
check(md.includes('| not\\_an\\_image | 1 |'), 'report.md lacks the decode error by reason');
check(new RegExp(`\\| people \\| ${counts.people} \\| 1 \\|`).test(md), `report.md lacks the people class (${counts.people} items, 1 error)`);
check(new RegExp(`\\| animals \\| ${counts.animals} \\| 0 \\|`).test(md), `report.md lacks the animals class (${counts.animals} items)`);
for (const heading of ['## Dataset', '## Method', '## Flagged items', '## Score histograms', '## Classes', '## Faces', '## Top flagged items', '## Known limitations'])
  check(md.includes(`\n${heading}`), `report.md lacks ${heading}`);
check(/face\\_detection\\_yunet\.onnx \| ebafce4e/.test(md), 'report.md lacks the YuNet model checksum');

// --- the page in Chromium ----------------------------------------------------------------------
const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  const requests = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console error: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('dialog', (d) => { errors.push(`dialog: ${d.message()}`); d.dismiss(); });
  page.on('request', (r) => requests.push(r.url()));
  const url = pathToFileURL(html).href;
  await page.goto(url, { waitUntil: 'load' });

  check(errors.length === 0, `errors in the page:\n  ${errors.join('\n  ')}`);
  const foreign = requests.filter((u) => !u.startsWith('data:') && u !== url);
  check(foreign.length === 0, `the page made requests: ${foreign.join(', ')}`);
  check((await page.title()) === 'Test card <b>&', `title: ${await page.title()}`);

  // Charts: every canvas drawn by Chart.js, with painted pixels.
  const charts = await page.evaluate(() => Array.from(document.querySelectorAll('canvas')).map((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let painted = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) painted++;
    return { id: c.id, painted, size: c.width * c.height, chart: !!(window.Chart && window.Chart.getChart(c)) };
  }));
  const ids = charts.map((c) => c.id);
  for (const id of ['chart-formats', 'chart-bytes', 'chart-pixels', 'chart-flag-rates', 'chart-hist-0', 'chart-classes', 'chart-faces'])
    check(ids.includes(id), `no chart ${id} (charts: ${ids.join(', ')})`);
  for (const c of charts) {
    check(c.chart, `canvas ${c.id} has no Chart.js chart`);
    check(c.size > 0 && c.painted > c.size * 0.01, `canvas ${c.id} looks blank (${c.painted} of ${c.size} pixels painted)`);
  }
  check((await page.getAttribute('body', 'data-charts-drawn')) === String(charts.length), 'data-charts-drawn differs from the canvases');

  // Summary cards and the per-class table.
  const cards = await page.locator('#summary .card .value').allTextContents();
  check(cards[0] === String(total), `first summary card: ${cards[0]} (expected ${total})`);
  const classRows = await page.locator('#class-table tbody tr').evaluateAll((rows) => rows.map((r) => Array.from(r.cells).map((c) => c.textContent)));
  const byName = Object.fromEntries(classRows.map((r) => [r[0], r]));
  check(byName.people && byName.people[1] === String(counts.people) && byName.people[2] === '1',
    `class table row for people: ${JSON.stringify(byName.people)}`);
  check(byName.animals && byName.animals[1] === String(counts.animals), `class table row for animals: ${JSON.stringify(byName.animals)}`);
  // Sorting by a header puts the largest class first.
  await page.locator('#class-table th', { hasText: 'Items' }).click();
  const firstAfterSort = await page.locator('#class-table tbody tr td').first().textContent();
  check(firstAfterSort === (counts.animals >= counts.people ? 'animals' : 'people'), `sorted class table starts with ${firstAfterSort}`);

  // The malformed file's name is shown as text, not run as markup.
  check(!(await page.evaluate(() => window.injected)), 'a file name was interpreted as HTML');
  check((await page.locator('#dataset').textContent()).includes('onerror="window.injected=1"'), 'the malformed file name is not shown');

  // Thumbnails: present, decoded, blurred until clicked, blurred again on a second click.
  const thumbs = page.locator('figure.thumb img');
  const nThumbs = await thumbs.count();
  if (check(nThumbs >= 1, 'no thumbnails of flagged items')) {
    const img = thumbs.first();
    check(await img.evaluate((e) => e.complete && e.naturalWidth > 0), 'the first thumbnail is not a decoded image');
    check(/^data:image\/jpeg;base64,/.test(await img.getAttribute('src')), 'the thumbnail is not a data: URI');
    const filter = () => img.evaluate((e) => getComputedStyle(e).filter);
    check((await filter()).includes('blur'), `thumbnail not blurred at first: ${await filter()}`);
    await page.screenshot({ path: path.join(tmp, 'report.png'), fullPage: true });
    await page.locator('figure.thumb button.reveal').first().click();
    await page.waitForFunction(() => getComputedStyle(document.querySelector('figure.thumb img')).filter === 'none', null, { timeout: 5000 })
      .catch(() => {});
    check((await filter()) === 'none', `thumbnail still blurred after a click: ${await filter()}`);
    check((await page.locator('figure.thumb button.reveal').first().getAttribute('aria-pressed')) === 'true', 'aria-pressed not set');
    await page.locator('figure.thumb button.reveal').first().click();
    await page.waitForFunction(() => getComputedStyle(document.querySelector('figure.thumb img')).filter.includes('blur'), null, { timeout: 5000 })
      .catch(() => {});
    check((await filter()).includes('blur'), 'thumbnail not blurred again after a second click');
  } else {
    await page.screenshot({ path: path.join(tmp, 'report.png'), fullPage: true });
  }
  check((await page.locator('#limitations li').count()) >= 5, 'known limitations missing');
  check(errors.length === 0, `errors in the page after interaction:\n  ${errors.join('\n  ')}`);
} finally {
  await browser.close();
}

if (failures.length) {
  console.error(`FAIL (${failures.length}):\n- ${failures.join('\n- ')}\nkept ${tmp} (card/report.html, report.png)`);
  process.exit(1);
}
if (env.SAFESCAN_KEEP_TMP === '1') {
  console.log(`PASS: kept ${tmp} (card/report.html, report.png: a full-page screenshot)`);
} else {
  console.log('PASS (SAFESCAN_KEEP_TMP=1 keeps the card and a full-page screenshot)');
  fs.rmSync(tmp, { recursive: true, force: true });
}
