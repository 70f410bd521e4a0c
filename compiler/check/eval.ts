/**
 * Evaluation of numeric expressions (`dim * 8 / 3 round 64`) against earlier parameters, and small
 * helpers to read knob values. Errors are returned as diagnostics, never thrown.
 */
import type { Expr, Span } from '../../grammar/ast.ts';
import { diag, type Diagnostic, type DiagnosticName } from '../../grammar/diagnostics.ts';
import { suggest } from '../../grammar/suggest.ts';

export class Ctx {
  readonly diagnostics: Diagnostic[] = [];
  constructor(readonly file: string) {}

  error(d: DiagnosticName, args: Record<string, string | number>, span?: Span, suggestion?: string): void {
    this.diagnostics.push(diag(d, args, { file: this.file, span }, { suggestion }));
  }
}

/** Evaluates an arithmetic expression; undefined (with a diagnostic) when it is not one. */
export function evalNumber(e: Expr, env: ReadonlyMap<string, number>, ctx: Ctx, what: string): number | undefined {
  switch (e.kind) {
    case 'Number':
      return e.value;
    case 'Name': {
      const v = env.get(e.name);
      if (v === undefined) ctx.error('unknown-name', { name: e.name }, e.span, suggest(e.name, env.keys()));
      return v;
    }
    case 'Unary': {
      const v = evalNumber(e.operand, env, ctx, what);
      return v === undefined ? undefined : -v;
    }
    case 'Binary': {
      const l = evalNumber(e.left, env, ctx, what);
      const r = evalNumber(e.right, env, ctx, what);
      if (l === undefined || r === undefined) return undefined;
      switch (e.op) {
        case '+':
          return l + r;
        case '-':
          return l - r;
        case '*':
          return l * r;
        case '/':
          if (r === 0) return ctx.error('division-by-zero', {}, e.span), undefined;
          return l / r;
        case 'round':
          if (!(r > 0)) return ctx.error('not-positive', { what: "the right side of 'round'", value: r }, e.right.span), undefined;
          // Rounds up to a multiple (as LLaMA's `multiple_of`); a tiny tolerance absorbs float error.
          return Math.ceil(l / r - 1e-9) * r;
      }
    }
    // falls through for non-numeric expressions
    default:
      ctx.error('wrong-type', { what, expected: 'a number', found: describeExpr(e) }, e.span);
      return undefined;
  }
}

/** Largest dimension: kernels index with u32, and no real tensor axis comes near it. */
export const MAX_DIM = 2 ** 31 - 1;

/** An integer in [1, MAX_DIM], or a located error naming `what`. */
export function evalDim(e: Expr, env: ReadonlyMap<string, number>, ctx: Ctx, what: string): number | undefined {
  const v = evalNumber(e, env, ctx, what);
  if (v === undefined) return undefined;
  if (!Number.isInteger(v)) {
    ctx.error('not-integer', { what, value: formatNumber(v), hint: "; round it with 'round N'" }, e.span);
    return undefined;
  }
  if (v < 1) {
    ctx.error('not-positive', { what, value: v }, e.span);
    return undefined;
  }
  if (v > MAX_DIM) {
    ctx.error('too-large', { what, value: formatNumber(v), max: MAX_DIM }, e.span);
    return undefined;
  }
  return v;
}

export function formatNumber(v: number): string {
  return Number.isInteger(v) && Math.abs(v) < 1e21 ? String(v) : String(Number(v.toPrecision(6)));
}

/** `foo` -> 'foo'; anything else -> undefined. */
export function nameOf(e: Expr): string | undefined {
  return e.kind === 'Name' ? e.name : undefined;
}

/** Reads a word from a fixed set (`tied`, `elu1`, `true`), or reports the valid ones. */
export function evalWord<T extends string>(e: Expr, valid: readonly T[], ctx: Ctx, what: string): T | undefined {
  const name = nameOf(e);
  if (name !== undefined && (valid as readonly string[]).includes(name)) return name as T;
  const shown = name ?? describeExpr(e);
  ctx.error('unknown-value', { value: shown, what: `${what} (expected one of ${valid.join(', ')})` }, e.span, name ? suggest(name, valid) : undefined);
  return undefined;
}

export function describeExpr(e: Expr): string {
  switch (e.kind) {
    case 'Number':
      return `the number ${e.text}`;
    case 'Name':
      return `'${e.name}'`;
    case 'Call':
      return `a call of '${e.callee.name}'`;
    case 'Then':
      return 'a composition (then)';
    case 'List':
      return 'a list';
    default:
      return 'an arithmetic expression';
  }
}
