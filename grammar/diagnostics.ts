/**
 * The one catalog of user-facing diagnostics, and the diagnostic data type.
 *
 * Codes are stable: never reuse or renumber one. Bands:
 *   1xxx syntax, 2xxx names and imports, 3xxx types/shapes/dimensions,
 *   4xxx schedules and device limits, 5xxx runtime inputs (weights, tensors), 6xxx command line.
 * Warnings (likely mistakes that still compile) sit in their subject's band at x1xx.
 *
 * Stages return diagnostics; they neither throw nor print. Only `cli/` renders them
 * (see `render.ts`).
 */
import type { Span } from './ast.ts';

export type Severity = 'error' | 'warning';

interface CatalogEntry {
  code: number;
  severity: Severity;
  /** Message template; `{name}` holes are filled from the arguments. */
  message: string;
}

export const DIAGNOSTICS = {
  // 1xxx: syntax
  'unexpected-character': { code: 1001, severity: 'error', message: "unexpected character '{char}'" },
  'unexpected-token': { code: 1002, severity: 'error', message: 'expected {expected} but found {found}' },
  'unterminated-string': { code: 1003, severity: 'error', message: 'unterminated string' },
  'bad-number': { code: 1004, severity: 'error', message: "malformed number '{text}'" },
  'missing-model': { code: 1005, severity: 'error', message: 'the file has no `model NAME { ... }` declaration' },
  'too-deep': { code: 1006, severity: 'error', message: 'expression nested more than {max} levels deep' },

  // 2xxx: names
  'unknown-name': { code: 2001, severity: 'error', message: "unknown name '{name}'" },
  'unknown-preset': { code: 2002, severity: 'error', message: "unknown mixer preset '{name}'" },
  'unknown-knob': { code: 2003, severity: 'error', message: "mixer '{mixer}' has no knob '{name}'" },
  'unknown-function': { code: 2004, severity: 'error', message: "unknown function '{name}' in a block" },
  'duplicate-name': { code: 2005, severity: 'error', message: "'{name}' is already defined" },
  'unknown-schedule-target': { code: 2006, severity: 'error', message: "unknown schedule entry '{name}'" },
  'unknown-value': { code: 2007, severity: 'error', message: "'{value}' is not a valid value for {what}" },
  'multiple-models': { code: 2008, severity: 'error', message: 'a file may declare one model; found {count}' },
  'unknown-argument': { code: 2009, severity: 'error', message: "'{callee}' has no argument '{name}'" },
  'unused-mixer': { code: 2101, severity: 'warning', message: "mixer '{name}' is declared but no layer uses it" },
  'unused-param': { code: 2102, severity: 'warning', message: "parameter '{name}' is defined but never used" },

  // 3xxx: types, shapes and dimensions
  'not-integer': { code: 3001, severity: 'error', message: "{what} = {value} is not an integer{hint}" },
  'not-positive': { code: 3002, severity: 'error', message: '{what} must be positive, got {value}' },
  'division-by-zero': { code: 3003, severity: 'error', message: 'division by zero' },
  'missing-param': { code: 3004, severity: 'error', message: "the model must set '{name}'" },
  'shape-mismatch': { code: 3005, severity: 'error', message: '{message}' },
  'not-divisible': { code: 3006, severity: 'error', message: '{what} = {value} is not divisible by {by} = {divisor}' },
  'wrong-type': { code: 3007, severity: 'error', message: '{what} expects {expected}, got {found}' },
  'bad-arity': { code: 3008, severity: 'error', message: "'{name}' takes {expected} argument(s), got {found}" },
  'bad-block': { code: 3009, severity: 'error', message: '{message}' },
  'missing-block': { code: 3010, severity: 'error', message: 'the model has no `block { ... }`' },
  'too-large': { code: 3011, severity: 'error', message: '{what} = {value} is larger than the largest supported size {max}' },
  'unreached-pattern-entry': { code: 3101, severity: 'warning', message: "pattern entry {index} ('{name}') is used by no layer: with layers = {layers}, layer i takes entry i mod {length}" },

  // 4xxx: schedules and device limits
  'bad-schedule': { code: 4001, severity: 'error', message: "'{value}' is not a schedule; expected one of {expected}" },
  'layer-out-of-range': { code: 4002, severity: 'error', message: 'layer {layer} is out of range: the model has {layers} layers (0..{last})' },
  'schedule-not-supported': { code: 4003, severity: 'error', message: "layer {layer} ({mixer}) has no {schedule} schedule: {reason}" },
  'device-limit': { code: 4004, severity: 'error', message: '{message}' },
  'no-decode': { code: 4020, severity: 'error', message: '{message}' },
  'sequence-too-long': { code: 4021, severity: 'error', message: '{mixer}: T = {T} is longer than max_len = {maxLen}, the length its learned {what} cover' },
  'no-shader-f16': { code: 4022, severity: 'error', message: '{what} needs the WebGPU feature shader-f16 (matmul weights stored as f16), which {device} lacks; {hint}' },

  // 5xxx: runtime inputs
  'bad-weights': { code: 5001, severity: 'error', message: '{message}' },
  'missing-weight': { code: 5002, severity: 'error', message: "weights file has no tensor '{name}' {shape}" },
  'weight-shape': { code: 5003, severity: 'error', message: "tensor '{name}' has shape {found}, the model needs {expected}" },
  'bad-tokens': { code: 5004, severity: 'error', message: '{message}' },
  'bad-artifact': { code: 5005, severity: 'error', message: '{message}' },
  'kv-cache-full': { code: 5010, severity: 'error', message: '{layer}: {message}; the KV cache holds positions 0..{last} (max_len = {maxLen})' },
  'non-finite': { code: 5006, severity: 'error', message: '{message}' },
  'bad-wgsl': { code: 5007, severity: 'error', message: '{message}' },
  'bad-state': { code: 5011, severity: 'error', message: '{message}' },
  'bad-tokenizer': { code: 5020, severity: 'error', message: '{file}: {message}' },
  'tokenizer-vocab': { code: 5021, severity: 'error', message: '{file}: {message}' },
  'empty-prompt': { code: 5022, severity: 'error', message: 'the prompt encodes to zero tokens with {tokenizer}; generation needs at least one token' },

  // 6xxx: command line
  'bad-option': { code: 6001, severity: 'error', message: '{message}' },
  'no-adapter': { code: 6002, severity: 'error', message: '{message}' },
  'file-error': { code: 6003, severity: 'error', message: '{message}' },
  'device-lost': { code: 6004, severity: 'error', message: 'device lost: {reason}; create a new session' },
  'device-error': { code: 6005, severity: 'error', message: '{message}' },
  'would-overwrite': { code: 6006, severity: 'error', message: '{message}' },
  'bad-config': { code: 6010, severity: 'error', message: '{message}' },
  'bad-checkpoint': { code: 6011, severity: 'error', message: '{message}' },
} as const satisfies Record<string, CatalogEntry>;

export type DiagnosticName = keyof typeof DIAGNOSTICS;

export interface Note {
  span?: Span;
  message: string;
}

/** A diagnostic is plain data; `render.ts` turns it into text. */
export interface Diagnostic {
  code: number;
  name: DiagnosticName;
  severity: Severity;
  /** File the span refers to; undefined for diagnostics about no file (command line, device). */
  file?: string;
  span?: Span;
  message: string;
  notes: Note[];
  suggestion?: string;
}

/** Builds a diagnostic from the catalog, filling the message template's holes. */
export function diag(
  name: DiagnosticName,
  args: Record<string, string | number>,
  where: { file?: string; span?: Span } = {},
  extra: { notes?: Note[]; suggestion?: string } = {},
): Diagnostic {
  const entry: CatalogEntry = DIAGNOSTICS[name];
  const message = entry.message.replace(/\{(\w+)\}/g, (_, hole: string) =>
    hole in args ? String(args[hole]) : `{${hole}}`,
  );
  return {
    code: entry.code,
    name,
    severity: entry.severity,
    file: where.file,
    span: where.span,
    message: extra.suggestion ? `${message}, did you mean '${extra.suggestion}'?` : message,
    notes: extra.notes ?? [],
    suggestion: extra.suggestion,
  };
}

/** Whether `diags` hold an error (warnings alone do not fail a stage or a command). */
export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}

/** `--strict`: every warning becomes an error, with its code and message. */
export function strict(diags: readonly Diagnostic[]): Diagnostic[] {
  return diags.map((d) => (d.severity === 'warning' ? { ...d, severity: 'error' } : d));
}

/** `LOOM2001` */
export function codeLabel(code: number): string {
  return `LOOM${String(code).padStart(4, '0')}`;
}

/** Thrown only at library boundaries that cannot return diagnostics (the runtime, the CLI). */
export class LoomError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => `${codeLabel(d.code)}: ${d.message}`).join('\n'));
    this.name = 'LoomError';
  }
}

/** A broken invariant inside the compiler: a bug, not a user error. */
export class LoomInternalError extends Error {
  constructor(pass: string, message: string, readonly dump?: string) {
    super(`internal error in ${pass}: ${message}${dump ? `\n${dump}` : ''}`);
    this.name = 'LoomInternalError';
  }
}
