/**
 * ModelSpec: the checked model. Names resolved, every dimension a concrete integer, defaults
 * filled. Produced by `check(ast)`, consumed by `lower(spec, dims)`.
 */
import type { Span } from '../../grammar/ast.ts';
import type { LinearAttnKnobs, Schedule } from '../ir/graph.ts';

/** A mixer after its preset and knobs were resolved. One variant per mixer family. */
export interface LinearAttnMixer {
  family: 'linear_attn';
  name: string;
  preset: string;
  knobs: LinearAttnKnobs;
  span: Span;
}

export type MixerSpec = LinearAttnMixer;

/** A per-layer computation over the residual stream; every value is `[B, T, width]`. */
export type BlockExpr =
  | { kind: 'var'; name: string; width: number; span: Span }
  | { kind: 'add' | 'mul'; left: BlockExpr; right: BlockExpr; width: number; span: Span }
  | { kind: 'silu' | 'elu1'; arg: BlockExpr; width: number; span: Span }
  | { kind: 'rmsnorm'; arg: BlockExpr; eps: number; width: number; span: Span }
  | { kind: 'swiglu'; arg: BlockExpr; hidden: number; width: number; span: Span }
  | { kind: 'mixer'; mixer: string; arg: BlockExpr; width: number; span: Span };

export interface BlockStmt {
  target: string;
  expr: BlockExpr;
  span: Span;
}

/** A schedule choice as written: `auto`, `parallel`, `recurrent`, `chunkwise` or `chunkwise(C)`. */
export type ScheduleChoice = { kind: 'auto' } | { kind: Exclude<Schedule, 'chunkwise'> } | { kind: 'chunkwise'; chunk?: number };

export interface ScheduleSpec {
  default: ScheduleChoice;
  /** For forward passes over a whole sequence (T > 1). */
  prefill?: ScheduleChoice;
  /** For single-token steps. */
  decode?: ScheduleChoice;
  /** Per-layer overrides, inclusive ranges, later entries win. */
  layers: { first: number; last: number; choice: ScheduleChoice; span: Span }[];
}

export interface ModelSpec {
  file: string;
  name: string;
  vocab: number;
  dim: number;
  layers: number;
  head: 'tied' | 'untied';
  normEps: number;
  /** Every numeric model parameter, evaluated (includes vocab, dim, heads, layers). */
  params: Record<string, number>;
  mixers: Record<string, MixerSpec>;
  block: BlockStmt[];
  schedule: ScheduleSpec;
}
