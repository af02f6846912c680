// End-to-end test of `safescan review` in headless Chromium (playwright-core): scan a few
// images, start the server, filter, decide with the keyboard (remove, keep, skip), undo,
// reload, and find the decisions in the page, the API and `safescan export`.
// Exit status: 0 passed, 1 failed, 77 skipped (no chromium / playwright / fixtures).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const SKIP = 77;
const env = process.env;
const exe = env.SAFESCAN_EXE;
const images = path.join(env.SAFESCAN_SHARED || '', 'images');
const webDir = env.SAFESCAN_WEB_DIR;
const chromiumPath = env.CHROMIUM || '/usr/bin/chromium';
const picks = ['baboon.jpg', 'butterfly.jpg', 'fruits.jpg', 'home.jpg', 'horse.png', 'messi5.jpg'];

function skip(why) {
  console.log(`SKIP: ${why}`);
  process.exit(SKIP);
}

if (!exe || !fs.existsSync(exe)) skip('SAFESCAN_EXE is not set or missing');
if (!picks.every((f) => fs.existsSync(path.join(images, f)))) skip(`shared images not found in ${images}`);
if (!fs.existsSync(chromiumPath)) skip(`no chromium at ${chromiumPath}`);
let chromium;
try {
  ({ chromium } = createRequire(path.join(webDir, 'package.json'))('playwright-core'));
} catch (e) {
  skip(`playwright-core not installed in ${webDir}/node_modules (${e.message})`);
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

const childEnv = { ...env, OMP_WAIT_POLICY: 'PASSIVE', SAFESCAN_THREADS: '1' };

// Starts `safescan review` on a free port; resolves with the process and its URL.
function startServer(db, extra = []) {
  const proc = spawn(exe, ['review', db, '--port', '0', '--reviewer', 'playwright', ...extra], { env: childEnv });
  let out = '', err = '';
  proc.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed in 60 s\n${out}${err}`)), 60000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/(http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve({ proc, url: m[1], stderr: () => err }); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}\n${out}${err}`)); });
  });
}

function stopServer(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve(proc.exitCode);
    const timer = setTimeout(() => { proc.kill('SIGKILL'); }, 10000);
    proc.removeAllListeners('exit');
    proc.on('exit', (code, signal) => { clearTimeout(timer); resolve(signal ? `signal ${signal}` : code); });
    proc.kill('SIGTERM');
  });
}

const cardState = (page) => page.$$eval('#grid .card', (cards) => cards.map((c) => ({
  id: Number(c.dataset.id), key: c.querySelector('.key').title, decision: c.dataset.decision,
  score: Number(c.querySelector('.score').textContent),
})));

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'safescan-review-'));
  const dir = path.join(tmp, 'imgs');
  fs.mkdirSync(dir);
  for (const f of picks) fs.copyFileSync(path.join(images, f), path.join(dir, f));
  const db = path.join(tmp, 'scan.db');
  execFileSync(exe, ['scan', dir, '--db', db, '--detectors', 'nsfw', '--no-progress'], { env: childEnv, stdio: 'inherit' });

  const server = await startServer(db);
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  problems = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });

    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]');
    const flagged = await cardState(page);
    check(flagged.length >= 1, `the scan's flagged items are listed (${flagged.length})`);

    // Filter: one detector, every item with a score >= 0.5.
    await page.selectOption('select[name="detector"]', 'nsfw-mobilenet-v2');
    await page.fill('input[name="min_score"]', '0.5');
    await page.press('input[name="min_score"]', 'Escape');  // commits the value, back to the grid
    await page.waitForFunction(() => new URLSearchParams(location.search).get('min_score') === '0.5');
    await page.waitForFunction(() => document.querySelectorAll('#grid .card').length === 6);
    const cards = await cardState(page);
    check(cards.length === 6, 'min score 0.5 lists all six images');
    check(cards.every((c, i) => i === 0 || cards[i - 1].score >= c.score), 'cards are sorted by score, highest first');
    check(cards.every((c) => c.decision === ''), 'nothing is decided yet');

    // Decide with the keyboard: remove, keep, skip on the first three cards, then undo the skip.
    await page.waitForFunction(() => document.querySelector('#grid .card[aria-current="true"]') !== null);
    await page.keyboard.press('v');
    await page.keyboard.press('r');
    await page.keyboard.press('k');
    await page.keyboard.press('s');
    await page.waitForFunction(() => /^3 of 6 reviewed/.test(document.querySelector('#progress-text').textContent));
    await page.keyboard.press('u');
    await page.waitForFunction(() => /^2 of 6 reviewed/.test(document.querySelector('#progress-text').textContent));
    let now = await cardState(page);
    check(now[0].decision === 'remove' && now[1].decision === 'keep' && now[2].decision === '',
      `remove, keep, skip then undo are shown on the cards (${now.slice(0, 3).map((c) => c.decision || '-')})`);
    const filters = await page.$$eval('#grid .card .thumb img', (imgs) => imgs.map((i) => getComputedStyle(i).filter));
    check(filters[0] === 'none' && filters.slice(1).every((f) => f.includes('blur')), 'thumbnails are blurred until revealed (V)');
    const shot = path.join(env.SAFESCAN_SCREENSHOT_DIR || tmp, 'review.png');
    await page.screenshot({ path: shot });
    console.log(`screenshot: ${shot}`);

    // Reload: the filter stays in the URL, the decisions come back from the database.
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForFunction(() => document.querySelectorAll('#grid .card').length === 6);
    now = await cardState(page);
    check(await page.inputValue('input[name="min_score"]') === '0.5', 'the filter survives the reload');
    check(now[0].id === cards[0].id && now[0].decision === 'remove', 'after reload: the first card is removed');
    check(now[1].id === cards[1].id && now[1].decision === 'keep', 'after reload: the second card is kept');
    check(now[2].decision === '', 'after reload: the undone skip is gone');
    check(/^2 of 6 reviewed/.test(await page.textContent('#progress-text')), 'progress after reload: 2 of 6');

    // The API: who decided and when.
    const detail = await page.evaluate(async (id) => (await fetch(`api/items/${id}`)).json(), cards[0].id);
    check(detail.decision.decision === 'remove' && detail.decision.reviewer === 'playwright' &&
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(detail.decision.decided_at), 'the decision has the reviewer and a UTC time');
    const skipRows = await page.evaluate(async (id) => (await fetch(`api/items/${id}`)).json(), cards[2].id);
    check(skipRows.decisions.length === 0, 'undo deleted the skip row');

    // The removal list: the app's link (current filters) and `safescan export`.
    const href = await page.getAttribute('#removal-list', 'href');
    const listed = (await page.evaluate(async (h) => (await fetch(h)).text(), href)).split('\n').filter(Boolean);
    check(listed.length === 5 && listed.includes(cards[0].key) && !listed.includes(cards[1].key),
      'the filtered removal list has every item but the kept one');
    const exported = execFileSync(exe, ['export', db, '--format', 'removal-list'], { env: childEnv }).toString()
      .split('\n').filter(Boolean);
    const expected = new Set([cards[0].key, ...flagged.map((c) => c.key)]);
    expected.delete(cards[1].key);
    check(exported.length === expected.size && exported.every((k) => expected.has(k)),
      `export --format removal-list: removed + flagged - kept (${exported.length} keys)`);

    // With an access token: the printed URL sets a cookie, the page drops the token from the
    // address bar and keeps working after a reload.
    const token = 'review-test-token-0123456789';
    const guarded = await startServer(db, ['--token', token]);
    try {
      check(guarded.url.endsWith(`?token=${token}`), 'the printed URL carries the token');
      const tpage = await browser.newPage();
      tpage.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      await tpage.goto(guarded.url);
      await tpage.waitForSelector('body[data-ready="true"]');
      check(!tpage.url().includes('token='), 'the token is removed from the address bar');
      await tpage.reload();
      await tpage.waitForSelector('body[data-ready="true"]');
      check(await tpage.$$eval('#grid .card', (c) => c.length) === flagged.length, 'the page works after a reload (cookie)');
      const anonymous = await fetch(guarded.url.replace(/\?token=.*/, 'api/summary'));
      check(anonymous.status === 401, 'without the token: 401');
    } finally {
      await stopServer(guarded.proc);
    }
    check(problems.length === 0, `no console errors or failed requests${problems.length ? `: ${problems.join('; ')}` : ''}`);
  } finally {
    await browser.close();
    const code = await stopServer(server.proc);
    check(code === 0, `the server stops cleanly on SIGTERM (${code})`);
    if (!env.SAFESCAN_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

let problems = [];
main().then(() => process.exit(0), (e) => {
  console.error(`FAIL: ${e.stack || e}`);
  if (problems.length) console.error(`browser problems:\n  ${problems.join('\n  ')}`);
  process.exit(1);
});
