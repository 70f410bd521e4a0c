/**
 * The compiler in a Web Worker: the page posts the editor's text as it changes and gets back the
 * diagnostics (placed by offset) and, when the spec compiles, the plan, the IR after each pass and
 * every kernel's WGSL. Typing never waits for it.
 */
import { explainLines } from '../../cli/explain-text.ts';
import { nonCausalMixer, noDecodeMessage } from '../../compiler/mixers/family-op.ts';
import { checkSource, compileSpec } from '../../compiler/pipeline.ts';
import type { Diagnostic } from '../../grammar/diagnostics.ts';
import { LoomError } from '../../grammar/diagnostics.ts';
import { format } from '../../grammar/format.ts';
import { renderDiagnostics } from '../../grammar/render.ts';
import type { CompileReply, CompileRequest, CompileView, PlacedDiagnostic } from './protocol.ts';

const scope = self as unknown as { onmessage: (e: MessageEvent<CompileRequest>) => void; postMessage: (m: CompileReply) => void };

function place(d: Diagnostic): PlacedDiagnostic {
  const span = d.span ?? { start: 0, end: 0, line: 1, col: 1 };
  const notes = d.notes.map((n) => `\n  note: ${n.message}`).join('');
  const hint = d.suggestion ? `\n  help: ${d.suggestion}` : '';
  return { from: span.start, to: Math.max(span.end, span.start), line: span.line, col: span.col, severity: d.severity, message: `LOOM${d.code} ${d.message}${notes}${hint}` };
}

function compile(r: Extract<CompileRequest, { kind: 'compile' }>): CompileReply {
  const t0 = performance.now();
  let diagnostics: Diagnostic[] = [];
  let view: CompileView | undefined;
  let bug: PlacedDiagnostic | undefined;
  try {
    const front = checkSource(r.text, r.path);
    diagnostics = front.diagnostics;
    if (front.spec) {
      // The step program's plan (`loom explain --mode decode`) where the model has one.
      const acausal = r.mode === 'decode' ? nonCausalMixer(front.spec) : undefined;
      const mode = r.mode === 'decode' && !acausal ? 'decode' : 'prefill';
      const seq = mode === 'decode' ? 1 : r.seq;
      const c = compileSpec(front.ast, front.spec, { batch: r.batch, seq, mode, device: r.device });
      diagnostics = [...diagnostics, ...c.diagnostics];
      if (c.ok) {
        const compiled = c.compiled;
        const plan = explainLines(compiled, { batch: r.batch, seq, mode, weights: 'f32' }).join('\n');
        view = {
          name: compiled.spec.name,
          plan: acausal ? `${noDecodeMessage(acausal)}: the model has no step program; its forward program:\n\n${plan}` : plan,
          passes: compiled.dumps,
          kernels: compiled.program.steps.map((s) => ({ name: s.kernel.name, wgsl: s.kernel.wgsl, dispatch: `${s.kernel.dispatch.join(' x ')} (${s.kernel.dispatchFormula})` })),
          decodes: nonCausalMixer(compiled.spec) === undefined,
          compileMs: performance.now() - t0,
        };
      }
    }
  } catch (e) {
    if (e instanceof LoomError) diagnostics = [...diagnostics, ...e.diagnostics];
    else bug = { from: 0, to: 0, line: 1, col: 1, severity: 'error', message: `internal error: ${e instanceof Error ? e.message : String(e)}. This is a bug in Loom; please report it with the spec.` };
  }
  const rendered = renderDiagnostics(diagnostics, { [r.path]: r.text }) + (bug ? `${r.path}: ${bug.message}\n` : '');
  return { id: r.id, kind: 'compile', diagnostics: [...diagnostics.map(place), ...(bug ? [bug] : [])], rendered, view };
}

scope.onmessage = (e) => {
  const r = e.data;
  if (r.kind === 'compile') scope.postMessage(compile(r));
  else {
    const f = format(r.text, r.path);
    scope.postMessage({ id: r.id, kind: 'fmt', text: f.text, diagnostics: f.diagnostics.map(place), rendered: renderDiagnostics(f.diagnostics, { [r.path]: r.text }) });
  }
};
