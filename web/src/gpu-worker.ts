/**
 * The page's GPU work in a worker: a forward pass over seeded weights checked against the float64
 * reference, each kernel timed on its own, generation streamed token by token, and a checkpoint
 * chosen from disk opened as a Model. The device comes from navigator.gpu (runtime/browser.ts).
 */
import { compileSource, diag, LoomError, renderDiagnostics, type Compiled, type DeviceProfile } from '../../compiler/browser.ts';
import {
  acquireBrowserGpu, byteTokenizer, compileInMemory, deviceProfile, encodePrompt, generate, hasTimestamps, interpretGraph, Model, openPretrainedFromFiles,
  randomTokens, relativeError, seededWeights, Session, timeSpec, type Gpu, type Tokenizer,
} from '../../runtime/browser.ts';
import type { GpuReply, GpuRequest, KernelTime } from './protocol.ts';

const scope = self as unknown as { onmessage: (e: MessageEvent<GpuRequest>) => void; postMessage: (m: GpuReply) => void };
const post = (m: GpuReply) => scope.postMessage(m);
const progress = (text: string) => post({ kind: 'progress', text });

let gpu: Gpu | undefined;
let profile: DeviceProfile | undefined;
/** The editor's spec opened for generation (kept while the text is the same), or a checkpoint. */
let specModel: { text: string; model: Model } | undefined;
let checkpoint: { model: Model; tokenizer: Tokenizer } | undefined;

function compile(text: string, path: string, batch: number, seq: number): Compiled {
  const r = compileSource(text, path, { batch, seq, device: profile });
  if (!r.ok) throw new LoomError(r.diagnostics);
  return r.compiled;
}

async function init(): Promise<void> {
  let g: Gpu;
  try {
    g = gpu = await acquireBrowserGpu();
  } catch (e) {
    return post({ kind: 'no-gpu', message: e instanceof LoomError ? e.diagnostics.map((d) => d.message).join('\n') : String(e) });
  }
  profile = deviceProfile(g);
  // The worker never destroys its device itself: any loss (a driver reset, a GPU process crash) is news.
  void g.device.lost.then((info) => post({ kind: 'lost', message: info.message || String(info.reason) }));
  const a = g.adapter;
  post({ kind: 'ready', adapter: [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' ') || 'unnamed adapter', profile, timestamps: hasTimestamps(g), f16: g.features.includes('shader-f16') });
}

async function run(r: Extract<GpuRequest, { kind: 'run' }>): Promise<void> {
  const c = compile(r.text, r.path, r.batch, r.seq);
  const weights = seededWeights(c.graph.weights, r.seed);
  const tokens = randomTokens(r.seed, r.batch * r.seq, c.spec.vocab);
  progress(`compiling ${c.program.steps.length} pipelines…`);
  const session = await Session.create(gpu!, c, weights, { onCompile: (d, n) => progress(`compiling pipelines ${d}/${n}`) });
  let result;
  try {
    await session.forward(tokens); // warm-up: the first dispatch of each pipeline compiles it
    result = await session.forward(tokens);
  } finally {
    session.destroy();
  }
  progress('float64 reference…');
  const t0 = performance.now();
  const ref = interpretGraph(c.graph, weights, tokens);
  const checkMs = performance.now() - t0;
  const relErr = relativeError(result.logits, ref.outputs.logits);
  const times: KernelTime[] = [];
  if (r.timeKernels) {
    for (const [i, step] of c.program.steps.entries()) {
      progress(`timing kernel ${i + 1}/${c.program.steps.length}: ${step.kernel.name}`);
      const used = new Set(step.args);
      const buffers = c.program.buffers.filter((b) => used.has(b.name)).map((b) => ({ ...b, alias: undefined }));
      const t = await timeSpec(gpu!, { buffers, steps: [step] }, { targetMs: 10, rounds: 2, maxReps: 50 });
      times.push({ name: step.kernel.name, ms: t.ms });
    }
  }
  const schedules = c.plan.mixers.map((m) => `${m.label} ${m.schedule}${m.chunk ? `(${m.chunk})` : ''}`);
  post({ kind: 'run', model: c.spec.name, kernels: c.program.steps.length, ms: result.ms, relErr, checkMs, times, timing: r.timeKernels ? (hasTimestamps(gpu!) ? 'timestamps' : 'wall') : 'none', schedules });
}

async function modelFor(text: string, path: string, seed: number): Promise<Model> {
  if (specModel?.text === text) return specModel.model;
  specModel?.model.destroy();
  specModel = undefined;
  progress('compiling the forward and step programs…');
  const { pair, artifacts } = compileInMemory(text, path, { batch: 1, seq: 64, device: profile! });
  if (!pair.step) throw new LoomError([diag('no-decode', { message: `${pair.noDecode ?? 'a mixer is not causal'}: the model has no step program, so it cannot generate` })]);
  const model = await Model.create(gpu!, artifacts, seededWeights(pair.forward.graph.weights, seed), { onCompile: (d, n) => progress(`compiling pipelines ${d}/${n}`) });
  specModel = { text, model };
  return model;
}

async function gen(r: Extract<GpuRequest, { kind: 'generate' }>): Promise<void> {
  const model = r.text === undefined ? checkpoint!.model : await modelFor(r.text, r.path, r.seed);
  const tokenizer = r.text === undefined ? checkpoint!.tokenizer : byteTokenizer();
  progress('prefill…');
  const res = await generate(model, encodePrompt(tokenizer, r.prompt), {
    maxTokens: r.maxTokens, seed: r.seed, temperature: r.temperature, topK: 0, topP: 1, tokenizer,
    onText: (text) => post({ kind: 'token', text }),
  });
  post({ kind: 'generated', tokens: res.tokens.length, prefillMs: res.prefillMs, decodeMs: res.decodeMs, stop: res.stop });
}

async function openCheckpoint(files: File[]): Promise<void> {
  checkpoint?.model.destroy();
  checkpoint = undefined;
  progress(`reading ${files.length} files…`);
  const p = await openPretrainedFromFiles(files, {
    onCompile: (d: number, n: number) => progress(`compiling pipelines ${d}/${n}`),
    onLoad: (d: number, n: number) => progress(`uploading weights ${(d / 1048576).toFixed(1)}/${(n / 1048576).toFixed(1)} MiB`),
  });
  checkpoint = { model: p.model, tokenizer: p.tokenizer };
  post({ kind: 'checkpoint', name: p.checkpoint.dir.split('/').filter(Boolean).pop() ?? p.checkpoint.kind, spec: p.checkpoint.specText, tokenizer: p.tokenizer.name, vocab: p.model.dims.vocab });
}

async function logits(prompt: string): Promise<void> {
  const { model, tokenizer } = checkpoint!;
  const ids = encodePrompt(tokenizer, prompt);
  model.reset();
  const last = await model.prefill(ids, { logits: 'last' });
  const n = Math.min(model.dims.vocab, tokenizer.vocabSize);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => last[b] - last[a]).slice(0, 5);
  post({ kind: 'logits', ids: [...ids], logits: last, top: order.map((id) => ({ id, text: tokenizer.decode([id]), logit: last[id] })) });
}

function message(e: unknown): string {
  if (e instanceof LoomError) return renderDiagnostics(e.diagnostics, {}).trim() || e.message;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

scope.onmessage = async (e) => {
  const r = e.data;
  try {
    if (r.kind === 'init') return await init();
    if (r.kind === 'run') return await run(r);
    if (r.kind === 'generate') return await gen(r);
    if (r.kind === 'open-checkpoint') return await openCheckpoint(r.files);
    if (r.kind === 'checkpoint-logits') return await logits(r.prompt);
    if (r.kind === 'lose-device') return gpu?.device.destroy();
  } catch (err) {
    post({ kind: 'error', message: message(err) });
  }
};
