/**
 * The compiler pipeline, one named step per line. Each step is a function from one plain type to
 * the next; verification runs after every graph pass.
 */
import { parse } from '../grammar/index.ts';
import type { LoomFile } from '../grammar/ast.ts';
import type { Diagnostic } from '../grammar/diagnostics.ts';
import { check } from './check/check.ts';
import type { ScheduleChoice, ModelSpec } from './check/spec.ts';
import { assemble } from './codegen/assemble.ts';
import type { ProgramSpec } from './codegen/program.ts';
import { fuse, fuseOptionsFor, type FusionLevel } from './fuse/fuse.ts';
import { dumpGraph } from './ir/dump.ts';
import type { Graph } from './ir/graph.ts';
import { verifyGraph } from './ir/verify.ts';
import { lower } from './lower/lower.ts';
import { DEFAULT_PROFILE, type DeviceProfile } from './plan/device.ts';
import { plan, type Mode, type Plan } from './plan/plan.ts';
import type { WeightDtype } from './plan/weight-dtype.ts';

export interface CompileOptions {
  batch: number;
  seq: number;
  /** Forces one schedule for every mixer layer (`loom run --schedule`). */
  schedule?: ScheduleChoice;
  /** Defaults to prefill for seq > 1, decode for seq = 1. */
  mode?: Mode;
  device?: DeviceProfile;
  /** false or `none`: skip the fusion passes (the benchmark's unfused baseline); default all. */
  fuse?: boolean | FusionLevel;
  /** `f16`: the matmuls' weights stored as f16 on the device (`--weights-dtype`); default f32. */
  weights?: WeightDtype;
}

export interface Compiled {
  ast: LoomFile;
  spec: ModelSpec;
  /** The lowered graph, before fusion (the reference runs this one). */
  graph: Graph;
  fused: Graph;
  plan: Plan;
  program: ProgramSpec;
  /** `loom explain --ir`: the graph after each named pass. */
  dumps: { pass: string; text: string }[];
}

export type CompileResult = { ok: true; compiled: Compiled; diagnostics: Diagnostic[] } | { ok: false; diagnostics: Diagnostic[]; ast?: LoomFile; spec?: ModelSpec };

/** Text of a spec -> ModelSpec (the front end only). */
export function checkSource(text: string, path: string): { ast: LoomFile; spec?: ModelSpec; diagnostics: Diagnostic[] } {
  const parsed = parse(text, path); // syntax: text -> AST, with every syntax error
  if (parsed.diagnostics.length) return { ast: parsed.file, diagnostics: parsed.diagnostics };
  const checked = check(parsed.file); // names, dimensions, shapes -> ModelSpec
  return { ast: parsed.file, spec: checked.spec, diagnostics: checked.diagnostics };
}

export function compileSource(text: string, path: string, opts: CompileOptions): CompileResult {
  const front = checkSource(text, path);
  if (!front.spec) return { ok: false, diagnostics: front.diagnostics, ast: front.ast };
  const r = compileSpec(front.ast, front.spec, opts);
  return { ...r, diagnostics: [...front.diagnostics, ...r.diagnostics] }; // the spec's warnings (compiler/check/lint.ts) too
}

export function compileSpec(ast: LoomFile, spec: ModelSpec, opts: CompileOptions): CompileResult {
  const dumps: { pass: string; text: string }[] = [];
  const graph = lower(spec, { B: opts.batch, T: opts.seq }); // ModelSpec -> graph IR for [B, T]
  verifyGraph(graph, 'lower');
  dumps.push({ pass: 'lower', text: dumpGraph(graph) });
  const device = opts.device ?? DEFAULT_PROFILE;
  const level = opts.fuse === false ? 'none' : opts.fuse === true || opts.fuse === undefined ? 'all' : opts.fuse;
  const fused = fuse(graph, level, fuseOptionsFor(device)); // fewer kernels: compiler/fuse/fuse.ts
  verifyGraph(fused, 'fuse');
  dumps.push({ pass: 'fuse', text: dumpGraph(fused) });
  const mode = opts.mode ?? (opts.seq === 1 ? 'decode' : 'prefill');
  const planned = plan(fused, spec.schedule, device, { mode, override: opts.schedule, spec, ...(opts.weights ? { weights: opts.weights } : {}) }); // schedule, kernel variant, weight storage per node
  if (!planned.plan) return { ok: false, diagnostics: planned.diagnostics, ast, spec };
  const program = assemble(fused, planned.plan); // WGSL kernels and buffers
  return { ok: true, compiled: { ast, spec, graph, fused, plan: planned.plan, program, dumps }, diagnostics: [] };
}
