/**
 * Checks `block { ... }`: every statement assigns a variable (`x` is the residual stream), every
 * call is a known layer function or a declared mixer, and widths agree.
 */
import type { Assign, Call, Expr, NamedArg } from '../../grammar/ast.ts';
import { suggest } from '../../grammar/suggest.ts';
import { checkMoeArgs, MOE_ARGS } from '../mixers/moe/spec.ts';
import { checkMonarchMlp, MONARCH_MLP_ARGS } from '../mixers/monarch/mlp.ts';
import { evalDim, evalNumber, type Ctx } from './eval.ts';
import { PATTERN_SLOT, type BlockExpr, type BlockStmt, type MixerSpec } from './spec.ts';

/** Layer functions usable in a block, with their named arguments. */
const FUNCTIONS: Record<string, { named: readonly string[] }> = {
  rmsnorm: { named: ['eps'] },
  swiglu: { named: ['hidden'] },
  moe: { named: MOE_ARGS },
  monarch_mlp: { named: MONARCH_MLP_ARGS },
  silu: { named: [] },
  elu1: { named: [] },
};

interface BlockEnv {
  ctx: Ctx;
  params: ReadonlyMap<string, number>;
  mixers: Readonly<Record<string, MixerSpec>>;
  /** Every mixer name declared, including those whose declaration had errors (no cascades). */
  declared: ReadonlySet<string>;
  vars: Map<string, number>;
  dim: number;
  normEps: number;
  /** `block pattern [...]` was given (its names checked by the caller): `mixer(e)` is allowed. */
  patterned?: boolean;
}

export function checkBlock(statements: readonly Assign[], env: Omit<BlockEnv, 'vars'>): BlockStmt[] {
  const vars = new Map<string, number>([['x', env.dim]]);
  const e: BlockEnv = { ...env, vars };
  const out: BlockStmt[] = [];
  for (const s of statements) {
    const expr = checkExpr(s.value, e);
    const target = s.name.name;
    if (Object.hasOwn(env.mixers, target) || Object.hasOwn(FUNCTIONS, target)) {
      env.ctx.error('duplicate-name', { name: target }, s.name.span);
      continue;
    }
    if (!expr) continue;
    if (target === 'x' && expr.width !== env.dim) {
      env.ctx.error('shape-mismatch', { message: `x must stay [B, T, dim = ${env.dim}], this assigns width ${expr.width}` }, s.span);
      continue;
    }
    vars.set(target, expr.width);
    out.push({ target, expr, span: s.span });
  }
  if (statements.length > 0 && !out.some((s) => s.target === 'x') && env.ctx.diagnostics.length === 0) {
    env.ctx.error('bad-block', { message: 'the block never assigns x, so layers would do nothing' }, statements[0].span);
  }
  return out;
}

function checkExpr(e: Expr, env: BlockEnv): BlockExpr | undefined {
  const { ctx } = env;
  switch (e.kind) {
    case 'Name': {
      const width = env.vars.get(e.name);
      if (width === undefined) {
        const candidates = [...env.vars.keys()];
        ctx.error('unknown-name', { name: e.name }, e.span, suggest(e.name, candidates));
        return undefined;
      }
      return { kind: 'var', name: e.name, width, span: e.span };
    }
    case 'Binary': {
      if (e.op !== '+' && e.op !== '*') {
        ctx.error('bad-block', { message: `'${e.op}' is not allowed in a block; use + (residual) or * (gating)` }, e.span);
        return undefined;
      }
      const left = checkExpr(e.left, env);
      const right = checkExpr(e.right, env);
      if (!left || !right) return undefined;
      if (left.width !== right.width) {
        ctx.error('shape-mismatch', { message: `cannot ${e.op === '+' ? 'add' : 'multiply'} [B, T, ${left.width}] and [B, T, ${right.width}]` }, e.span);
        return undefined;
      }
      return { kind: e.op === '+' ? 'add' : 'mul', left, right, width: left.width, span: e.span };
    }
    case 'Call':
      return checkCall(e, env);
    default:
      ctx.error('bad-block', { message: `a block statement is built from variables, calls, + and *; found ${e.kind.toLowerCase()}` }, e.span);
      return undefined;
  }
}

function checkCall(c: Call, env: BlockEnv): BlockExpr | undefined {
  const { ctx } = env;
  const name = c.callee.name;
  const positional = c.args.filter((a): a is Expr => a.kind !== 'NamedArg');
  const named = c.args.filter((a): a is NamedArg => a.kind === 'NamedArg');
  if (name === PATTERN_SLOT) {
    if (!env.patterned) {
      ctx.error('bad-block', { message: "'mixer(...)' calls the layer's mixer of a pattern: write `block pattern [a, b, ...] { ... }` or call a mixer by name" }, c.callee.span);
      return undefined;
    }
    if (positional.length !== 1 || named.length) {
      ctx.error('bad-arity', { name, expected: 1, found: c.args.length }, c.span);
      return undefined;
    }
    const arg = checkExpr(positional[0], env);
    if (!arg) return undefined;
    if (arg.width !== env.dim) {
      ctx.error('shape-mismatch', { message: `the pattern's mixers read [B, T, dim = ${env.dim}], got [B, T, ${arg.width}]` }, positional[0].span);
      return undefined;
    }
    return { kind: 'mixer', mixer: PATTERN_SLOT, arg, width: env.dim, span: c.span };
  }
  // Own properties only: a name such as 'constructor' or 'toString' is not a function or mixer.
  const mixer = Object.hasOwn(env.mixers, name) ? env.mixers[name] : undefined;
  const fn = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
  if (!mixer && !fn && env.declared.has(name)) return undefined; // its declaration was already reported
  if (!mixer && !fn) {
    ctx.error('unknown-function', { name }, c.callee.span, suggest(name, [...Object.keys(FUNCTIONS), ...Object.keys(env.mixers)]));
    return undefined;
  }
  if (positional.length !== 1) {
    ctx.error('bad-arity', { name, expected: 1, found: positional.length }, c.span);
    return undefined;
  }
  const allowed = fn ? fn.named : [];
  for (const a of named) {
    if (!allowed.includes(a.name.name)) ctx.error('unknown-argument', { callee: name, name: a.name.name }, a.name.span, suggest(a.name.name, allowed));
  }
  const arg = checkExpr(positional[0], env);
  if (!arg) return undefined;
  const namedValue = (key: string) => named.find((a) => a.name.name === key)?.value;
  if (mixer) {
    if (arg.width !== env.dim) {
      ctx.error('shape-mismatch', { message: `mixer '${name}' reads [B, T, dim = ${env.dim}], got [B, T, ${arg.width}]` }, positional[0].span);
      return undefined;
    }
    return { kind: 'mixer', mixer: name, arg, width: env.dim, span: c.span };
  }
  switch (name) {
    case 'rmsnorm': {
      const epsExpr = namedValue('eps');
      const eps = epsExpr ? evalNumber(epsExpr, env.params, ctx, 'rmsnorm eps') : env.normEps;
      if (eps === undefined) return undefined;
      return { kind: 'rmsnorm', arg, eps, width: arg.width, span: c.span };
    }
    case 'swiglu': {
      const hiddenExpr = namedValue('hidden');
      const hidden = hiddenExpr ? evalDim(hiddenExpr, env.params, ctx, 'swiglu hidden') : (env.dim * 8) / 3 > 0 ? Math.ceil((env.dim * 8) / 3 / 64) * 64 : undefined;
      if (hidden === undefined) return undefined;
      return { kind: 'swiglu', arg, hidden, width: arg.width, span: c.span };
    }
    case 'moe': {
      const a = checkMoeArgs(namedValue, env.params, arg.width, c.span, ctx);
      return a && { kind: 'moe', arg, ...a, width: arg.width, span: c.span };
    }
    case 'monarch_mlp': {
      const a = checkMonarchMlp(namedValue, env.params, arg.width, c.span, ctx);
      return a && { kind: 'monarch_mlp', arg, expand: a.expand, width: arg.width, span: c.span };
    }
    default:
      return { kind: name as 'silu' | 'elu1', arg, width: arg.width, span: c.span };
  }
}
