/**
 * The playground page: a `.loom` editor (CodeMirror, highlighted by Loom's lexer) whose text the
 * compile worker checks and compiles as you type; the plan, IR and WGSL of the result; a forward
 * pass checked against the float64 reference and text generation in the GPU worker.
 */
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { linter, lintGutter, setDiagnostics, type Diagnostic as CmDiagnostic } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView, highlightActiveLine, keymap, lineNumbers } from '@codemirror/view';
import type { DeviceProfile } from '../../compiler/plan/device.ts';
import { loomHighlight } from './highlight.ts';
import type { CompileReply, CompileRequest, CompileView, GpuReply, GpuRequest, KernelTime } from './protocol.ts';
import { decodeSpec, encodeSpec } from './share.ts';

const MODELS: Record<string, string> = Object.fromEntries(
  Object.entries(import.meta.glob('../../models/*.loom', { query: '?raw', import: 'default', eager: true }) as Record<string, string>)
    .map(([path, text]) => [path.replace(/^.*\//, ''), text]),
);
const DEFAULT_MODEL = 'gla.loom';
const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** What the page has done so far, read by the browser tests (test/browser/) and shown nowhere else. */
const state = {
  compiles: 0,
  /** Compile results shown (a spec with errors too). */
  lints: 0,
  firstCompileMs: undefined as number | undefined,
  compiled: undefined as { file: string; name: string; ms: number; kernels: number; decodes: boolean } | undefined,
  diagnostics: [] as string[],
  gpu: 'pending' as 'pending' | 'ready' | 'none' | 'lost',
  adapter: '',
  run: undefined as Extract<GpuReply, { kind: 'run' }> | undefined,
  runs: 0,
  error: '',
  streamed: [] as string[],
  /** performance.now() as each streamed piece arrived. */
  streamedAt: [] as number[],
  generated: undefined as Extract<GpuReply, { kind: 'generated' }> | undefined,
  checkpoint: undefined as Extract<GpuReply, { kind: 'checkpoint' }> | undefined,
  logits: undefined as Extract<GpuReply, { kind: 'logits' }> | undefined,
  busy: false,
};
Object.assign(window, {
  playground: state,
  /** Loses the GPU worker's device (its `destroy()`), as a driver reset would: for the browser tests. */
  loseDevice: () => gpu.postMessage({ kind: 'lose-device' } satisfies GpuRequest),
  /** The editor's text. */
  editorText: () => editor.state.doc.toString(),
});

// --- the compile worker -------------------------------------------------------------------------
const compiler = new Worker(new URL('./compile-worker.ts', import.meta.url), { type: 'module' });
const pending = new Map<number, (r: CompileReply) => void>();
let nextId = 1;
compiler.onmessage = (e: MessageEvent<CompileReply>) => {
  pending.get(e.data.id)?.(e.data);
  pending.delete(e.data.id);
};
function ask<K extends CompileRequest['kind']>(r: Omit<Extract<CompileRequest, { kind: K }>, 'id'>): Promise<Extract<CompileReply, { kind: K }>> {
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, resolve as (r: CompileReply) => void);
    compiler.postMessage({ ...r, id });
  });
}

let device: DeviceProfile | undefined;
let currentFile = DEFAULT_MODEL;
let view: CompileView | undefined;
const seq = () => Math.max(1, Number(($('run-seq') as HTMLInputElement).value) || 16);

async function lint(ev: EditorView): Promise<CmDiagnostic[]> {
  const text = ev.state.doc.toString();
  const mode = ($('mode') as HTMLSelectElement).value === 'decode' ? 'decode' : 'prefill';
  const r = await ask<'compile'>({ kind: 'compile', text, path: currentFile, batch: 1, seq: seq(), device, mode });
  if (ev.state.doc.toString() !== text) return []; // typed on meanwhile: the next lint places them
  showCompile(r);
  const len = ev.state.doc.length;
  return r.diagnostics.map((d) => ({ from: Math.min(d.from, len), to: Math.min(Math.max(d.to, d.from), len), severity: d.severity, message: `${d.line}:${d.col} ${d.message}` }));
}

/** Compiles the text again (for another adapter or T) and places its diagnostics. */
async function relint(): Promise<void> {
  const d = await lint(editor);
  editor.dispatch(setDiagnostics(editor.state, d));
}

function showCompile(r: Extract<CompileReply, { kind: 'compile' }>): void {
  state.lints++;
  state.diagnostics = r.diagnostics.map((d) => `${currentFile}:${d.line}:${d.col}: ${d.severity} ${d.message}`);
  const diag = $('diagnostics');
  diag.className = r.view && !r.diagnostics.length ? 'ok' : '';
  diag.textContent = r.rendered.trim() || (r.view ? `${r.view.name}: compiled ${r.view.kernels.length} kernels in ${r.view.compileMs.toFixed(0)} ms` : '');
  diag.dataset.state = r.view ? 'compiled' : 'error';
  view = r.view;
  if (!r.view) return;
  state.compiles++;
  state.firstCompileMs ??= performance.now();
  state.compiled = { file: currentFile, name: r.view.name, ms: r.view.compileMs, kernels: r.view.kernels.length, decodes: r.view.decodes };
  $('plan').textContent = r.view.plan;
  fillSelect($('passes'), r.view.passes.map((p) => p.pass));
  fillSelect($('kernels'), r.view.kernels.map((k) => k.name));
  showPass();
  showKernel();
  ($('generate') as HTMLButtonElement).title = r.view.decodes || state.checkpoint ? '' : 'this model has a non-causal mixer: no step program, no generation';
}

function fillSelect(sel: HTMLSelectElement, names: string[]): void {
  const keep = sel.value;
  sel.replaceChildren(...names.map((n) => new Option(n, n)));
  if (names.includes(keep)) sel.value = keep;
}
function showPass(): void {
  $('ir').textContent = view?.passes.find((p) => p.pass === ($('passes') as HTMLSelectElement).value)?.text ?? '';
}
function showKernel(): void {
  const k = view?.kernels.find((x) => x.name === ($('kernels') as HTMLSelectElement).value);
  $('wgsl').textContent = k?.wgsl ?? '';
  $('dispatch').textContent = k ? `dispatch ${k.dispatch}` : '';
}
$('passes').onchange = showPass;
$('run-seq').onchange = () => void relint(); // the plan for this T
$('mode').onchange = () => void relint();
$('kernels').onchange = showKernel;

// --- the editor ---------------------------------------------------------------------------------
async function formatDoc(): Promise<boolean> {
  const text = editor.state.doc.toString();
  const r = await ask<'fmt'>({ kind: 'fmt', text, path: currentFile });
  if (r.text !== undefined && r.text !== text && editor.state.doc.toString() === text) editor.dispatch({ changes: { from: 0, to: text.length, insert: r.text } });
  if (r.text === undefined) $('diagnostics').textContent = r.rendered;
  return true;
}

let shareTimer: ReturnType<typeof setTimeout> | undefined;
const editor = new EditorView({
  parent: $('editor'),
  state: EditorState.create({
    doc: '',
    extensions: [
      lineNumbers(),
      history(),
      highlightActiveLine(),
      keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab, { key: 'Shift-Alt-f', run: () => (void formatDoc(), true) }, { key: 'Mod-Enter', run: () => ($('run').click(), true) }]),
      loomHighlight,
      lintGutter(),
      linter(lint, { delay: 150 }),
      EditorView.updateListener.of((u) => {
        if (!u.docChanged) return;
        clearTimeout(shareTimer);
        shareTimer = setTimeout(async () => history_.replaceState(null, '', `#spec=${await encodeSpec(editor.state.doc.toString())}`), 400);
      }),
    ],
  }),
});
const history_ = window.history;

function load(name: string, text: string): void {
  currentFile = name;
  models.value = MODELS[name] === text ? name : '';
  editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: text } });
}

const models = $('models') as HTMLSelectElement;
models.replaceChildren(new Option('(from the URL)', ''), ...Object.keys(MODELS).sort().map((n) => new Option(n.replace(/\.loom$/, ''), n)));
models.onchange = () => models.value && load(models.value, MODELS[models.value]);
$('fmt').onclick = () => void formatDoc();
$('share').onclick = async () => {
  const url = `${location.origin}${location.pathname}#spec=${await encodeSpec(editor.state.doc.toString())}`;
  history_.replaceState(null, '', url);
  await navigator.clipboard?.writeText(url).catch(() => undefined);
  $('progress').textContent = 'URL with this spec copied (it is also in the address bar)';
};
for (const b of document.querySelectorAll<HTMLButtonElement>('#tabs button')) {
  b.onclick = () => {
    for (const o of document.querySelectorAll<HTMLButtonElement>('#tabs button')) o.classList.toggle('on', o === b);
    for (const t of document.querySelectorAll<HTMLElement>('.tab')) t.hidden = t.id !== `tab-${b.dataset.tab}`;
  };
}

// --- the GPU worker -----------------------------------------------------------------------------
const gpu = new Worker(new URL('./gpu-worker.ts', import.meta.url), { type: 'module' });
const gpuButtons = ['run', 'generate', 'logits'].map((id) => $<HTMLButtonElement>(id));
function setBusy(busy: boolean): void {
  state.busy = busy;
  for (const b of gpuButtons) b.disabled = busy || state.gpu !== 'ready';
}
function banner(text: string, cls: string, reload = false): void {
  const b = $('banner');
  b.hidden = false;
  b.className = cls;
  b.textContent = text;
  if (reload) {
    const r = document.createElement('button');
    r.textContent = 'Reload the page';
    r.onclick = () => location.reload();
    b.append(' ', r);
  }
}
function send(r: GpuRequest): void {
  if (state.gpu !== 'ready' || state.busy) return;
  state.error = '';
  setBusy(true);
  gpu.postMessage(r);
}

gpu.onerror = (e) => {
  state.error = `the GPU worker failed: ${e.message}`;
  $('progress').textContent = state.error;
  setBusy(false);
};
gpu.onmessage = (e: MessageEvent<GpuReply>) => {
  const m = e.data;
  switch (m.kind) {
    case 'ready':
      Object.assign(state, { gpu: 'ready', adapter: m.adapter });
      device = m.profile;
      $('adapter').textContent = `WebGPU: ${m.adapter}${m.timestamps ? '' : ' (no timestamp queries: kernel times by the wall clock)'}`;
      setBusy(false);
      void relint(); // the plan for this adapter
      return;
    case 'no-gpu':
      state.gpu = 'none';
      $('adapter').textContent = 'WebGPU: none';
      banner(m.message, 'nogpu');
      return setBusy(false);
    case 'lost':
      state.gpu = 'lost';
      banner(`The GPU device was lost: ${m.message}. The editor and compiler still work; running again needs a new device.`, 'lost', true);
      return setBusy(false);
    case 'progress':
      $('progress').textContent = m.text;
      return;
    case 'error':
      state.error = m.message;
      $('progress').textContent = '';
      ($('tab-generate').hidden ? $('run-result') : $('gen-out')).textContent = m.message;
      return setBusy(false);
    case 'run':
      return showRun(m);
    case 'token':
      state.streamed.push(m.text);
      state.streamedAt.push(performance.now());
      $('gen-out').textContent += visible(m.text);
      return;
    case 'generated':
      state.generated = m;
      $('progress').textContent = `${m.tokens} tokens: prefill ${m.prefillMs.toFixed(0)} ms, decode ${(m.decodeMs / Math.max(1, m.tokens)).toFixed(1)} ms per token (${m.stop})`;
      return setBusy(false);
    case 'checkpoint':
      state.checkpoint = m;
      $('ckpt').textContent = `checkpoint ${m.name}: vocab ${m.vocab}, tokenizer ${m.tokenizer}; its spec (from config.json) is in the editor`;
      $('ckpt-clear').hidden = false;
      load(`${m.name}/config.json`, m.spec);
      $('progress').textContent = '';
      return setBusy(false);
    case 'logits':
      state.logits = m;
      $('gen-out').textContent = `after ${m.ids.length} prompt tokens, the most likely next tokens:\n` + m.top.map((t) => `  ${String(t.id).padStart(6)} ${JSON.stringify(t.text).padEnd(12)} ${t.logit.toFixed(4)}`).join('\n');
      $('progress').textContent = '';
      return setBusy(false);
  }
};

/** Text with its control characters shown as `\u{..}` (a byte-level model's random bytes are often control codes). */
function visible(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}

function showRun(m: Extract<GpuReply, { kind: 'run' }>): void {
  state.run = m;
  state.runs++;
  const ok = m.relErr < 1e-4;
  const out = $('run-result');
  out.textContent = [
    `model     ${m.model}, ${m.kernels} kernels, schedules ${m.schedules.join(', ')}`,
    `forward   ${m.ms.toFixed(2)} ms on ${state.adapter}`,
    `check     rms(out-ref)/rms(ref) = ${m.relErr.toExponential(3)} against the float64 reference ${ok ? '(ok)' : '(TOO LARGE)'} (reference ${m.checkMs.toFixed(0)} ms)`,
    m.timing === 'none' ? '' : `kernels   timed one by one (${m.timing === 'timestamps' ? 'GPU timestamp queries' : 'wall clock: this adapter has no timestamp queries'})`,
  ].join('\n');
  out.dataset.relErr = String(m.relErr);
  out.dataset.model = m.model;
  $('progress').textContent = '';
  const total = m.times.reduce((a, t) => a + t.ms, 0);
  const title = Object.assign(document.createElement('p'), { textContent: `GPU time per kernel, each timed alone: ${total.toFixed(2)} ms in all` });
  $('chart').replaceChildren(...(m.times.length ? [title, chart(m.times)] : []));
  setBusy(false);
}

/** A horizontal bar chart of the kernels' times (SVG). */
function chart(times: KernelTime[]): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const row = 16;
  const label = 190;
  const width = 560;
  const max = Math.max(...times.map((t) => t.ms), 1e-6);
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(row * times.length + 4));
  const el = (tag: string, attrs: Record<string, string | number>, text?: string) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    svg.append(e);
  };
  times.forEach((t, i) => {
    const y = i * row + 2;
    el('text', { x: label - 4, y: y + 11, 'text-anchor': 'end' }, t.name.length > 28 ? `…${t.name.slice(-27)}` : t.name);
    el('rect', { x: label, y, width: Math.max(1, ((width - label - 70) * t.ms) / max), height: row - 4 });
    el('text', { x: label + ((width - label - 70) * t.ms) / max + 4, y: y + 11 }, `${t.ms < 0.1 ? t.ms.toFixed(3) : t.ms.toFixed(2)} ms`);
  });
  return svg;
}

$('run').onclick = () => send({ kind: 'run', text: editor.state.doc.toString(), path: currentFile, batch: 1, seq: seq(), seed: Number(($('run-seed') as HTMLInputElement).value) || 0, timeKernels: ($('run-time') as HTMLInputElement).checked });
$('generate').onclick = () => {
  $('gen-out').textContent = ($('prompt') as HTMLTextAreaElement).value;
  state.streamed = [];
  state.streamedAt = [];
  state.generated = undefined;
  send({
    kind: 'generate',
    text: state.checkpoint ? undefined : editor.state.doc.toString(),
    path: currentFile,
    prompt: ($('prompt') as HTMLTextAreaElement).value,
    maxTokens: Number(($('gen-max') as HTMLInputElement).value) || 48,
    temperature: Number(($('gen-temp') as HTMLInputElement).value) || 0,
    seed: Number(($('run-seed') as HTMLInputElement).value) || 0,
  });
};
$('logits').onclick = () => (state.checkpoint ? send({ kind: 'checkpoint-logits', prompt: ($('prompt') as HTMLTextAreaElement).value }) : ($('gen-out').textContent = 'choose a checkpoint first'));
for (const id of ['ckpt-dir', 'ckpt-files']) {
  const input = $<HTMLInputElement>(id);
  input.onchange = () => input.files?.length && send({ kind: 'open-checkpoint', files: [...input.files] });
}
$('ckpt-clear').onclick = () => {
  state.checkpoint = undefined;
  $('ckpt').textContent = '';
  $('ckpt-clear').hidden = true;
  load(DEFAULT_MODEL, MODELS[DEFAULT_MODEL]);
};

// --- start --------------------------------------------------------------------------------------
setBusy(false);
if (!('gpu' in navigator)) {
  state.gpu = 'none';
  $('adapter').textContent = 'WebGPU: none';
  banner('This browser has no WebGPU (navigator.gpu is missing): editing, the plan, the IR and the WGSL work here, but running a model needs a browser with WebGPU (Chrome or Edge 113+, Safari 26+, Firefox 141+ on Windows) served over https or localhost.', 'nogpu');
} else gpu.postMessage({ kind: 'init' } satisfies GpuRequest);

// A shared link opened in this tab (the hash changed by hand or by a link): its spec.
window.addEventListener('hashchange', async () => {
  const text = await decodeSpec(location.hash);
  if (text !== undefined && text !== editor.state.doc.toString()) load('shared.loom', text);
});
const shared = await decodeSpec(location.hash);
if (shared !== undefined) load('shared.loom', shared);
else load(DEFAULT_MODEL, MODELS[DEFAULT_MODEL]);
