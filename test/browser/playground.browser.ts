/**
 * The playground (web/) in a real browser: Chromium as the system installs it
 * (scripts/setup-browser.sh), headless with WebGPU on its SwiftShader adapter, driven with
 * puppeteer-core. The page compiles every example model, runs forward passes checked against the
 * float64 reference, places a syntax error's diagnostic, streams generated text, and opens a
 * checkpoint through its file input with the logits `loom run` gives on the same files. It also
 * measures the bundle (kB gzip) and the time from opening the page to the first compiled model
 * (bench/playground.json) and writes a screenshot after a run (bench/playground.png).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { playgroundSite, servePlayground } from '../../cli/commands/playground.ts';
import { readSafetensors } from '../../runtime/safetensors.ts';
import { relativeError } from '../../cli/commands/run.ts';
import { CONFIGS, synthesize, writeCheckpoint } from '../helpers/fla-checkpoint.ts';
import { BL_SPECIAL, byteLevelFiles } from '../helpers/tokenizers.ts';
import { format } from '../../grammar/format.ts';
import { encodeSpec } from '../../web/src/share.ts';

/** Debian's chromium package; LOOM_CHROMIUM names another binary. */
const CHROMIUM = process.env.LOOM_CHROMIUM ?? '/usr/bin/chromium';
/** Chromium's WebGPU on its own Vulkan-on-the-CPU adapter (no GPU on the CI machine). */
const FLAGS = ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--window-size=1400,900'];
const MODELS = readdirSync('models').filter((f) => f.endsWith('.loom')).sort();

type PageState = {
  compiles: number; lints: number; firstCompileMs?: number; diagnostics: string[]; gpu: string; adapter: string; error: string; busy: boolean;
  compiled?: { file: string; name: string; kernels: number; decodes: boolean };
  run?: { model: string; relErr: number; kernels: number; times: { name: string; ms: number }[]; timing: string };
  runs: number; streamed: string[]; streamedAt: number[]; generated?: { tokens: number; stop: string };
  checkpoint?: { name: string; vocab: number }; logits?: { ids: number[]; logits: Record<string, number> };
};
const state = (page: Page) => page.evaluate(() => (globalThis as unknown as { playground: PageState }).playground) as Promise<PageState>;

let browser: Browser;
let page: Page;
let server: Awaited<ReturnType<typeof servePlayground>>;
let site: string;

/** Builds the site, serves it and opens Chromium; a test awaiting it fails (not skips) when that failed. */
async function start(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: run \`bash scripts/setup-browser.sh\` (installs Debian's chromium) or set LOOM_CHROMIUM`);
  site = await playgroundSite({ out: () => {}, err: () => {} }, true); // the page as the sources are now
  server = await servePlayground(site, 0);
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, defaultViewport: { width: 1400, height: 900 } });
  page = await browser.newPage();
  page.on('pageerror', (e: unknown) => console.error(`page error: ${(e as Error).message}`));
}
let started: Promise<void>;
beforeAll(async () => {
  started = start();
  await started.catch(() => {}); // reported by each test
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Loads a model of the menu and waits for the compile worker's result for it. */
async function select(file: string): Promise<PageState> {
  const before = (await state(page)).lints;
  await page.select('#models', file);
  await page.waitForFunction((f, n) => {
    const s = (globalThis as unknown as { playground: PageState }).playground;
    return s.lints > n && (s.compiled?.file === f || s.diagnostics.length > 0);
  }, { timeout: 60_000 }, file, before);
  return state(page);
}

/** Clicks a GPU button and waits until the worker is done with it. */
async function gpuWork(button: string): Promise<PageState> {
  await page.click(button);
  await page.waitForFunction(() => !(globalThis as unknown as { playground: PageState }).playground.busy, { timeout: 120_000, polling: 100 });
  return state(page);
}

describe('the playground in Chromium', () => {
  it('opens, compiles the default model in its worker and finds the WebGPU adapter', async () => {
    await started;
    // Opened three times (the first with a cold HTTP cache): the median, as the machine is shared.
    const opens: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await page.goto(server.url);
      await page.waitForFunction(() => (globalThis as unknown as { playground?: PageState }).playground?.compiles! > 0, { timeout: 60_000 });
      opens.push(Math.round(performance.now() - t0));
    }
    const openToCompileMs = [...opens].sort((a, b) => a - b)[1];
    await page.waitForFunction(() => (globalThis as unknown as { playground: PageState }).playground.gpu !== 'pending', { timeout: 60_000 });
    const s = await state(page);
    expect(s.gpu, s.error).toBe('ready');
    expect(s.compiled?.name).toBe('gla_small');
    // Once the GPU worker has its adapter, the plan is compiled again for it (`loom explain`'s text):
    // SwiftShader is a CPU-class adapter, which the default profile (webgpu-defaults) is not.
    await page.waitForSelector('xpath///pre[@id="plan"][starts-with(., "plan for gla_small, B=1 T=16, mode prefill, device ")][contains(., " (CPU class); ")]', { timeout: 30_000 });
    // The bundle: every file of the built site, gzipped one by one (as a server would send them).
    const files = (function walk(d: string): string[] {
      return readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
    })(site);
    const gz = (f: string) => gzipSync(readFileSync(f)).length / 1024;
    const part = (re: RegExp) => Math.round(files.filter((f) => re.test(f)).reduce((a, f) => a + gz(f), 0));
    const gzipKb = files.reduce((a, f) => a + gz(f), 0);
    const rawKb = files.reduce((a, f) => a + statSync(f).size, 0) / 1024;
    const parts = { compileWorkerGzipKb: part(/compile-worker/), gpuWorkerGzipKb: part(/gpu-worker/), pageGzipKb: part(/^(?!.*-worker).*/) };
    const numbers = { adapter: s.adapter, bundleGzipKb: Math.round(gzipKb), bundleKb: Math.round(rawKb), ...parts, openToFirstCompileMs: openToCompileMs, opensMs: opens, pageFirstCompileMs: Math.round(s.firstCompileMs!), loadAverage: Number(loadavg()[0].toFixed(1)), date: new Date().toISOString() };
    mkdirSync('bench', { recursive: true });
    writeFileSync('bench/playground.json', JSON.stringify(numbers, null, 2) + '\n');
    console.log(`playground: ${JSON.stringify(numbers)}`);
  });

  it('compiles every model of models/ in the page, and each forward pass on the GPU is within 1e-4 of the float64 reference', async () => {
    await started;
    await page.click('[data-tab=run]');
    await page.$eval('#run-time', (e) => ((e as unknown as { value: string; checked: boolean }).checked = false)); // kernel timing: once, for the screenshot
    const failures: string[] = [];
    for (const file of MODELS) {
      const s = await select(file);
      if (s.compiled?.file !== file || s.diagnostics.some((d) => / error /.test(d))) {
        failures.push(`${file}: does not compile: ${s.diagnostics.join('; ')}`);
        continue;
      }
      const r = await gpuWork('#run');
      if (r.error || !r.run || r.run.model !== s.compiled.name) failures.push(`${file}: run failed: ${r.error}`);
      // 1e-4: the contract of `loom run --check`; the device tests hold each kernel to 1e-5 or better.
      else if (r.run.kernels !== s.compiled.kernels) failures.push(`${file}: ran ${r.run.kernels} kernels, the page's plan has ${s.compiled.kernels}`)
      else if (!(r.run.relErr < 1e-4)) failures.push(`${file}: rms(out-ref)/rms(ref) = ${r.run.relErr}`);
    }
    expect(failures).toEqual([]);
  });

  it('times each kernel of a run (as a chart) and writes the screenshot', async () => {
    await started;
    await select('gla.loom');
    await page.$eval('#run-time', (e) => ((e as unknown as { value: string; checked: boolean }).checked = true));
    const s = await gpuWork('#run');
    expect(s.error).toBe('');
    expect(s.run!.times.map((t) => t.name)).toHaveLength(s.run!.kernels);
    expect(s.run!.times.every((t) => t.ms > 0)).toBe(true);
    expect(await page.$$eval('#chart rect', (r) => r.length)).toBe(s.run!.kernels);
    await page.screenshot({ path: 'bench/playground.png' });
  });

  it("shows the decode step's plan (loom explain --mode decode) with each carried state's size", async () => {
    await started;
    await select('gla.loom');
    await page.click('[data-tab=plan]');
    await page.select('#mode', 'decode');
    await page.waitForSelector('xpath///pre[@id="plan"][starts-with(., "plan for gla_small, B=1 T=1, mode decode")]', { timeout: 30_000 });
    // The carried states' report is the command line's (the kernels' lines depend on the adapter).
    const states = (text: string) => text.split('\n').filter((l) => /^\s+(layer \d|L\d|total )/.test(l));
    const cli = execFileSync(process.execPath, ['bin/loom.js', 'explain', 'models/gla.loom', '--mode', 'decode'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(states(cli).length).toBeGreaterThan(2);
    expect(states((await page.$eval('#plan', (e) => e.textContent))!)).toEqual(states(cli));
    await select('fnet.loom');
    expect(await page.$eval('#plan', (e) => e.textContent)).toMatch(/^mixer 'fourier' \(fnet\) is not causal.*no step program; its forward program:\n\nplan for fnet/s);
    await page.select('#mode', 'prefill');
  });

  it('shows a syntax error typed into the editor as a located diagnostic', async () => {
    await started;
    await select('gla.loom');
    const before = (await state(page)).lints;
    await page.click('.cm-content');
    await page.keyboard.down('Control');
    await page.keyboard.press('Home');
    await page.keyboard.up('Control');
    await page.keyboard.type('model broken { dim = }\n');
    await page.waitForFunction((n) => {
      const s = (globalThis as unknown as { playground: PageState }).playground;
      return s.lints > n && s.diagnostics.length > 0;
    }, { timeout: 30_000 }, before);
    const s = await state(page);
    // `model broken { dim = }`: the value is missing where `}` stands, line 1 column 22.
    expect(s.diagnostics[0]).toBe("gla.loom:1:22: error LOOM1002 expected an expression but found '}'");
    expect(await page.$eval('#diagnostics', (e) => e.textContent)).toContain('LOOM1');
    expect(await page.$$eval('.cm-lintRange-error', (r) => r.length)).toBeGreaterThan(0);
  });

  it('streams generated text token by token', async () => {
    await started;
    await select('gla.loom');
    await page.click('[data-tab=generate]');
    await page.$eval('#gen-max', (e) => ((e as unknown as { value: string; checked: boolean }).value = '12'));
    await page.$eval('#gen-temp', (e) => ((e as unknown as { value: string; checked: boolean }).value = '0'));
    const s = await gpuWork('#generate');
    expect(s.error).toBe('');
    expect(s.generated?.tokens).toBe(12);
    // Pieces arrive as they decode: more than one message, at different times.
    expect(s.streamed.length).toBeGreaterThan(1);
    expect(s.streamedAt[s.streamedAt.length - 1]).toBeGreaterThan(s.streamedAt[0]);
    // Shown as it came, control characters as \u{..} (the page's visible()).
    const shown = s.streamed.join('').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
    expect(await page.$eval('#gen-out', (e) => e.textContent)).toBe('The ' + shown);
    // Greedy decoding of the same seeded weights: the text `loom generate` prints on this machine's Dawn.
    const cli = execFileSync(process.execPath, ['bin/loom.js', 'generate', 'models/gla.loom', '--prompt', 'The ', '--max-tokens', '12', '--temperature', '0', '--seed', '1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(s.streamed.join('')).toBe(cli);
  });

  it('opens a checkpoint chosen through the file input, with the logits loom run gives on the same files', async () => {
    await started;
    const dir = mkdtempSync(join(tmpdir(), 'loom-browser-ck-'));
    const config = { ...CONFIGS.gla, vocab_size: 320, bos_token_id: BL_SPECIAL.begin, eos_token_id: BL_SPECIAL.end };
    const tok = byteLevelFiles();
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    writeFileSync(join(dir, 'tokenizer.json'), tok.tokenizerJson);
    writeFileSync(join(dir, 'tokenizer_config.json'), tok.tokenizerConfig!);
    writeCheckpoint(join(dir, 'model.safetensors'), synthesize('gla', 5, false, config));
    const prompt = 'hello world, hello';
    execFileSync(process.execPath, ['bin/loom.js', 'run', dir, '--text', prompt, '--out', join(dir, 'logits.safetensors')], { stdio: 'pipe' });
    const all = readSafetensors(join(dir, 'logits.safetensors')).tensors.get('logits')!;
    const ref = (all.data as Float32Array).subarray(all.data.length - config.vocab_size);

    const input = await page.$('#ckpt-files');
    await input!.uploadFile(...['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors'].map((f) => join(dir, f)));
    await page.waitForFunction(() => { const s = (globalThis as unknown as { playground: PageState }).playground; return !s.busy && (s.checkpoint || s.error); }, { timeout: 120_000 });
    expect((await state(page)).error).toBe('');
    await page.$eval('#prompt', (e, p) => ((e as unknown as { value: string }).value = p), prompt);
    const s = await gpuWork('#logits');
    expect(s.error).toBe('');
    const logits = Float32Array.from(Object.values(s.logits!.logits));
    expect(logits).toHaveLength(config.vocab_size);
    // Both are within 1e-5 of the float64 reference (the checkpoint device tests' tolerance), so
    // they differ by well under 1e-4, `loom run --check`'s contract.
    expect(relativeError(logits, ref)).toBeLessThan(1e-4);
    // Greedy generation from the checkpoint with its tokenizer: the text `loom generate DIR` prints.
    // (Random weights: the top two logits of a step are far apart next to a 1e-4 relative error.)
    await page.$eval('#gen-max', (e) => ((e as unknown as { value: string }).value = '10'));
    await page.$eval('#gen-temp', (e) => ((e as unknown as { value: string }).value = '0'));
    const g = await gpuWork('#generate');
    expect(g.error).toBe('');
    const cli = execFileSync(process.execPath, ['bin/loom.js', 'generate', dir, '--prompt', prompt, '--max-tokens', '10', '--temperature', '0'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(g.streamed.join('')).toBe(cli);
    expect(g.generated!.tokens).toBeGreaterThan(0);
  });

  it('opens a spec carried in the URL, and Format rewrites it as loom fmt does', async () => {
    await started;
    const messy = 'model  shared{vocab=256\ndim=32 heads=2 layers=1\nmixer a=linear_attn{}\nblock{x=x+a(rmsnorm(x))}}\n';
    const other = await browser.newPage();
    await other.goto(`${server.url}#spec=${await encodeSpec(messy)}`);
    await other.waitForFunction(() => (globalThis as unknown as { playground?: PageState }).playground?.compiles! > 0, { timeout: 60_000 });
    const s = await state(other);
    expect(s.compiled?.name).toBe('shared');
    await other.click('#fmt');
    await other.waitForFunction((k) => (globalThis as unknown as { playground: PageState }).playground.lints > k, { timeout: 30_000 }, s.lints);
    const text = await other.evaluate(() => (globalThis as unknown as { editorText(): string }).editorText());
    expect(text).toBe(format(messy, 'shared.loom').text);
    expect(text).not.toBe(messy);
    await other.close();
  });

  it('says so when the GPU device is lost, and offers a reload', async () => {
    await started;
    await page.waitForFunction(() => (globalThis as unknown as { playground: PageState }).playground.gpu === 'ready', { timeout: 60_000 });
    await page.evaluate(() => (globalThis as unknown as { loseDevice(): void }).loseDevice());
    await page.waitForFunction(() => (globalThis as unknown as { playground: PageState }).playground.gpu === 'lost', { timeout: 30_000 });
    expect(await page.$eval('#banner', (e) => e.textContent)).toMatch(/GPU device was lost.*Reload the page/);
    expect(await page.$eval('#run', (e) => (e as unknown as { disabled: boolean }).disabled)).toBe(true);
  });

  it('says so in a browser without WebGPU, and still compiles', async () => {
    await started;
    const other = await browser.newPage();
    await other.evaluateOnNewDocument(() => delete (globalThis as unknown as { Navigator: { prototype: { gpu?: unknown } } }).Navigator.prototype.gpu);
    await other.goto(server.url);
    await other.waitForFunction(() => (globalThis as unknown as { playground?: PageState }).playground?.compiles! > 0, { timeout: 60_000 });
    expect(await other.evaluate(() => (globalThis as unknown as { playground: PageState }).playground.gpu)).toBe('none');
    expect(await other.$eval('#banner', (e) => e.textContent)).toMatch(/no WebGPU/);
    await other.close();
  });
});
