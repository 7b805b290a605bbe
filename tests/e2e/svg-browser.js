// Drives the SVG flame graph in headless Chromium, as a person would: hover,
// click to zoom, reset, search (Ctrl-F and the search function), and takes a
// screenshot. Run by t0400-svg-browser.sh:
//   node svg-browser.js DEMO.svg SCREENSHOT.png [BIG.svg [ICICLE.svg]]
// DEMO.svg is test_svg's demo profile (1000 samples, 500 under
// runtime.cgocall, 640 under an "imgz_" C function, 90 in runtime.mallocgc).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require(process.env.PLAYWRIGHT_CORE || 'playwright-core');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}

// Geometry and state of the frame named @name, read in the page.
function frameInfo(page, name) {
  return page.evaluate((name) => {
    const gs = document.getElementById('frames').getElementsByTagName('g');
    for (let i = 0; i < gs.length; i++) {
      const title = gs[i].getElementsByTagName('title')[0];
      if (title.textContent.split('\n')[0] !== name) continue;
      const rect = gs[i].getElementsByTagName('rect')[0];
      const box = rect.getBoundingClientRect();
      return {
        x: box.x, y: box.y, width: box.width, height: box.height,
        display: gs[i].style.display, cls: gs[i].getAttribute('class'),
        label: gs[i].getElementsByTagName('text')[0].textContent,
      };
    }
    return null;
  }, name);
}

async function open(context, file, errors) {
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console error: ${m.text()}`);
  });
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) errors.push(`network request: ${r.url()}`);
  });
  await page.goto('file://' + path.resolve(file));
  return page;
}

async function demo(context, svgPath, pngPath) {
  const errors = [];
  const page = await open(context, svgPath, errors);
  const state = () => page.evaluate(() => window.cgoprofState);

  let s = await state();
  check(s && s.frames > 20, `state exposed with ${s && s.frames} frames`);
  check(s && s.zoomed === null, 'starts unzoomed');
  // fullPage hangs on an SVG document (no body): size the viewport to it
  // the SVG fills the browser's width (issue 16): width="100%" and a viewBox
  const root = await page.evaluate(() => ({
    width: document.documentElement.getAttribute('width'),
    vbw: document.documentElement.viewBox.baseVal.width,
    vbh: document.documentElement.viewBox.baseVal.height,
  }));
  check(root.width === '100%' && root.vbw === 1200, `width="${root.width}", viewBox width ${root.vbw}`);
  // twice the width: the graph fills it, the height follows
  await page.setViewportSize({ width: 2400, height: 600 });
  // the resize event is delivered asynchronously: wait for the height the
  // page sets on it (or time out and let the check below say what it saw)
  await page.waitForFunction((h) =>
    Math.abs(+document.documentElement.getAttribute('height') - h) < 2,
    2 * root.vbh, { timeout: 5000 }).catch(() => {});
  const wide = await page.evaluate(() => ({
    w: document.documentElement.getBoundingClientRect().width,
    h: +document.documentElement.getAttribute('height'),
  }));
  check(Math.abs(wide.w - 2400) < 2 && Math.abs(wide.h - 2 * root.vbh) < 2,
        `fills a 2400 px window: ${wide.w} x ${wide.h}`);
  const size = { width: Math.ceil(root.vbw), height: Math.ceil(root.vbh) };
  await page.setViewportSize(size);
  fs.mkdirSync(path.dirname(path.resolve(pngPath)), { recursive: true });
  await page.screenshot({ path: pngPath });
  check(fs.statSync(pngPath).size > 10000, `screenshot ${pngPath}`);

  // hover: the details bar names the frame, its kind, samples and source
  const upload = await frameInfo(page, 'main.handleUpload');
  check(upload !== null, 'frame main.handleUpload drawn');
  await page.mouse.move(upload.x + upload.width / 2, upload.y + upload.height / 2);
  const details = await page.evaluate(() => document.getElementById('details').textContent);
  check(/main\.handleUpload/.test(details) && /go, 590 samples \(59\.00%\)/.test(details) &&
        /upload\.go:57/.test(details), `hover details: "${details}"`);

  // click: zoom to the frame
  const encodeBefore = await frameInfo(page, 'imgz.(*Encoder).Encode');
  await page.mouse.click(upload.x + upload.width / 2, upload.y + upload.height / 2);
  s = await state();
  check(s.zoomed === 'main.handleUpload' && s.zoomedSamples === 590,
        `click zoomed to ${s.zoomed} (${s.zoomedSamples} samples)`);
  const zoomed = await frameInfo(page, 'main.handleUpload');
  check(Math.abs(zoomed.width - 1180) < 1, `zoomed frame spans the graph (${zoomed.width} px)`);
  const encodeAfter = await frameInfo(page, 'imgz.(*Encoder).Encode');
  check(encodeAfter.width > encodeBefore.width * 1.5,
        `callee widened ${encodeBefore.width.toFixed(1)} -> ${encodeAfter.width.toFixed(1)} px`);
  const mcall = await frameInfo(page, 'runtime.mcall');
  check(mcall.display === 'none', 'frames outside the zoom are hidden');
  const rtmain = await frameInfo(page, 'runtime.main');
  check(rtmain.cls === 'parent', 'callers of the zoomed frame are greyed');
  if (process.env.CGOPROF_SVG_ZOOM_PNG)
    await page.screenshot({ path: process.env.CGOPROF_SVG_ZOOM_PNG });

  // reset zoom through its button
  const unzoom = await page.evaluate(() => {
    const b = document.getElementById('unzoom').getBoundingClientRect();
    return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
  });
  await page.mouse.click(unzoom.x, unzoom.y);
  s = await state();
  check(s.zoomed === null, 'Reset Zoom restores the full graph');
  check((await frameInfo(page, 'runtime.mcall')).display === '', 'hidden frames are back');

  // search from script: matched percent of all samples, nested matches once
  let pct = await page.evaluate(() => window.cgoprofSearch('cgocall'));
  check(pct === 50, `search 'cgocall' matched ${pct}%`);
  pct = await page.evaluate(() => window.cgoprofSearch('^imgz_'));
  check(pct === 64, `search '^imgz_' matched ${pct}%`);
  const matched = await page.evaluate(() => document.getElementById('matched').textContent);
  check(matched === 'Matched: 64.0%', `matched bar: "${matched}"`);
  const hashFill = await page.evaluate(() => {
    const gs = document.getElementById('frames').getElementsByTagName('g');
    for (let i = 0; i < gs.length; i++)
      if (gs[i].getElementsByTagName('title')[0].textContent.indexOf('imgz_hash\n') === 0)
        return gs[i].getElementsByTagName('rect')[0].getAttribute('fill');
    return null;
  });
  check(hashFill === '#e600e6', 'matches are highlighted');
  pct = await page.evaluate(() => window.cgoprofSearch('('));
  check(pct === null, 'a bad regular expression is refused');

  // Ctrl-F prompts for a regular expression
  page.once('dialog', (d) => d.accept('mallocgc'));
  await page.keyboard.press('Control+f');
  s = await state();
  check(s.search === 'mallocgc' && s.matchedPercent === 9, `Ctrl-F search matched ${s.matchedPercent}%`);

  // the search button resets a search
  const searchBtn = await page.evaluate(() => {
    const b = document.getElementById('search').getBoundingClientRect();
    return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
  });
  await page.mouse.click(searchBtn.x, searchBtn.y);
  s = await state();
  check(s.search === null, 'Reset Search clears the search');

  check(errors.length === 0, `no page errors${errors.length ? ': ' + errors.join('; ') : ''}`);
  await page.close();
}

// The icicle view zooms the same way, upside down.
async function icicle(context, svgPath) {
  const errors = [];
  const page = await open(context, svgPath, errors);
  const root = await frameInfo(page, 'all');
  const upload = await frameInfo(page, 'main.handleUpload');
  check(root.y < upload.y, `icicle: root on top (y ${root.y} < ${upload.y})`);
  await page.mouse.click(upload.x + upload.width / 2, upload.y + upload.height / 2);
  const s = await page.evaluate(() => window.cgoprofState);
  check(s.icicle === true && s.zoomed === 'main.handleUpload', `icicle: click zoomed to ${s.zoomed}`);
  const encode = await frameInfo(page, 'imgz.(*Encoder).Encode');
  check(Math.abs(encode.width - 1000) < 1, `icicle: callee widened to ${encode.width.toFixed(1)} px`);
  check((await frameInfo(page, 'runtime.mcall')).display === 'none', 'icicle: others hidden');
  check((await frameInfo(page, 'runtime.main')).cls === 'parent', 'icicle: callers greyed');
  check(errors.length === 0, `icicle: no page errors${errors.length ? ': ' + errors.join('; ') : ''}`);
  await page.close();
}

async function big(context, svgPath) {
  const errors = [];
  const t0 = Date.now();
  const page = await open(context, svgPath, errors);
  const loadMs = Date.now() - t0;
  const s = await page.evaluate(() => window.cgoprofState);
  check(s && s.frames > 1000, `big graph loaded in ${loadMs} ms with ${s && s.frames} frames`);
  const ms = await page.evaluate(() => {
    const t = Date.now();
    const gs = document.getElementById('frames').getElementsByTagName('g');
    const name = gs[3].getElementsByTagName('title')[0].textContent.split('\n')[0];
    window.cgoprofZoom(name);
    window.cgoprofSearch('Method1');
    window.cgoprofUnzoom();
    return Date.now() - t;
  });
  check(ms < 5000, `big graph zoom + search + unzoom in ${ms} ms`);
  check(errors.length === 0, `no page errors in the big graph${errors.length ? ': ' + errors.join('; ') : ''}`);
  await page.close();
}

async function main() {
  const [svgPath, pngPath, bigPath, iciclePath] = process.argv.slice(2);
  if (!svgPath || !pngPath) {
    console.error('usage: svg-browser.js DEMO.svg SCREENSHOT.png [BIG.svg [ICICLE.svg]]');
    process.exit(2);
  }
  const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cgoprof-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1200, height: 800 },
    });
    await demo(context, svgPath, pngPath);
    if (bigPath) await big(context, bigPath);
    if (iciclePath) await icicle(context, iciclePath);
  } finally {
    if (context) await context.close();
    fs.rmSync(profileDir, { recursive: true, force: true });
  }
  console.log(`${failures ? 'FAIL' : 'PASS'}: svg-browser, ${failures} failed check(s)`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  console.error(`FAIL: ${e.stack || e}`);
  process.exit(1);
});
