/**
 * The expression half of the CST visitor: `expr` down to `primary`, building `Expr` nodes with
 * spans. Any piece broken by recovery makes the whole expression `undefined`. Each node's depth is
 * recorded, so the statement builder can refuse expressions too deep for later passes to walk.
 */
import { tokenMatcher } from 'chevrotain';
import type { CstNode, IToken } from 'chevrotain';
import type * as A from './ast.ts';
import type * as C from './cst-types.ts';
import { loomParser } from './parser.ts';
import { joinSpans } from './spans.ts';
import type { LineIndex } from './spans.ts';
import { ValidNumber } from './tokens.ts';

/** Deepest expression tree (e.g. a chain of 1000 `+`) the AST may hold; deeper is LOOM1006. */
export const MAX_AST_DEPTH = 1000;

const BaseVisitor = loomParser.getBaseCstVisitorConstructor<void, unknown>();

export class ExprBuilder extends BaseVisitor {
  private readonly depths = new WeakMap<A.Expr | A.NamedArg, number>();

  constructor(protected readonly lines: LineIndex) {
    super();
  }

  /** The expression of a CST node, or undefined when recovery touched it. */
  protected exprOf(node: C.ExprCstNode | undefined): A.Expr | undefined {
    return node && !node.recoveredNode ? this.expr(node.children) : undefined;
  }

  /** Depth of an expression tree built here (a leaf is 1). */
  protected depthOf(e: A.Expr | A.NamedArg): number {
    return this.depths.get(e) ?? 1;
  }

  protected tokenSpan(t: IToken): A.Span {
    return this.lines.span(t.startOffset, t.startOffset + t.image.length);
  }

  expr(c: C.ExprCstChildren): A.Expr | undefined {
    const stages = this.all(c.additive, (n) => this.additive(n.children));
    if (!stages || stages.length === 0) return undefined;
    if (stages.length === 1) return stages[0];
    const span = joinSpans(stages[0].span, stages[stages.length - 1].span);
    return this.node({ kind: 'Then', stages, span }, stages);
  }

  additive(c: C.AdditiveCstChildren): A.Expr | undefined {
    const operands = this.all(c.multiplicative, (n) => this.multiplicative(n.children));
    return operands && this.chain(operands, c.AdditiveOp ?? []);
  }

  multiplicative(c: C.MultiplicativeCstChildren): A.Expr | undefined {
    const operands = this.all(c.unary, (n) => this.unary(n.children));
    return operands && this.chain(operands, c.MultiplicativeOp ?? []);
  }

  unary(c: C.UnaryCstChildren): A.Expr | undefined {
    const minus = token(c.Minus);
    if (c.Minus) {
      const operand = this.one(c.unary, (n) => this.unary(n.children));
      if (!minus || !operand) return undefined;
      const span = joinSpans(this.tokenSpan(minus), operand.span);
      return this.node({ kind: 'Unary', op: '-', operand, span }, [operand]);
    }
    return this.one(c.primary, (n) => this.primary(n.children));
  }

  primary(c: C.PrimaryCstChildren): A.Expr | undefined {
    if (c.NumberLit) {
      const t = token(c.NumberLit);
      if (!t) return undefined;
      const value = tokenMatcher(t, ValidNumber) ? Number(t.image) : Number.parseFloat(t.image);
      return { kind: 'Number', value, text: t.image, span: this.tokenSpan(t) };
    }
    if (c.call) return this.one(c.call, (n) => this.call(n.children));
    if (c.parenExpr) return this.one(c.parenExpr, (n) => this.parenExpr(n.children));
    return this.one(c.list, (n) => this.list(n.children));
  }

  parenExpr(c: C.ParenExprCstChildren): A.Expr | undefined {
    const open = token(c.LParen);
    const close = token(c.RParen);
    const inner = this.exprOf(c.expr?.[0]);
    if (!open || !close || !inner) return undefined;
    const widened = { ...inner, span: joinSpans(this.tokenSpan(open), this.tokenSpan(close)) };
    this.depths.set(widened, this.depthOf(inner));
    return widened;
  }

  call(c: C.CallCstChildren): A.Expr | undefined {
    const t = token(c.Identifier) ?? token(c.Mixer);
    if (!t) return undefined;
    const callee: A.Ident = { kind: 'Ident', name: t.image, span: this.tokenSpan(t) };
    if (!c.LParen) return { kind: 'Name', name: t.image, span: callee.span };
    const close = token(c.RParen);
    const args = this.all(c.arg, (n) => this.arg(n.children));
    if (!close || !token(c.LParen) || !args || !separated(args, c.Comma)) return undefined;
    const span = joinSpans(callee.span, this.tokenSpan(close));
    return this.node({ kind: 'Call', callee, args, span }, args);
  }

  arg(c: C.ArgCstChildren): A.Expr | A.NamedArg | undefined {
    if (c.namedArg) return this.one(c.namedArg, (n) => this.namedArg(n.children));
    return this.exprOf(c.expr?.[0]);
  }

  namedArg(c: C.NamedArgCstChildren): A.NamedArg | undefined {
    const t = token(c.Identifier);
    const value = this.exprOf(c.expr?.[0]);
    if (!t || !token(c.Equals) || !value) return undefined;
    const name: A.Ident = { kind: 'Ident', name: t.image, span: this.tokenSpan(t) };
    return this.node({ kind: 'NamedArg', name, value, span: joinSpans(name.span, value.span) }, [value]);
  }

  list(c: C.ListCstChildren): A.Expr | undefined {
    const open = token(c.LBracket);
    const close = token(c.RBracket);
    const items = this.all(c.expr, (n) => this.expr(n.children));
    if (!open || !close || !items || !separated(items, c.Comma)) return undefined;
    const span = joinSpans(this.tokenSpan(open), this.tokenSpan(close));
    return this.node({ kind: 'List', items, span }, items);
  }

  /** A left-associative chain `a op b op c` as nested `Binary` nodes. */
  private chain(operands: A.Expr[], ops: IToken[]): A.Expr | undefined {
    if (operands.length === 0 || operands.length !== ops.length + 1) return undefined;
    let left = operands[0];
    for (let i = 0; i < ops.length; i++) {
      const op = token(ops, i);
      if (!op) return undefined;
      const right = operands[i + 1];
      const span = joinSpans(left.span, right.span);
      left = this.node({ kind: 'Binary', op: op.image as A.BinaryOp, left, right, span }, [left, right]);
    }
    return left;
  }

  /** Records a node's depth: one more than its deepest child. */
  private node<N extends A.Expr | A.NamedArg>(n: N, children: (A.Expr | A.NamedArg)[]): N {
    this.depths.set(n, 1 + Math.max(0, ...children.map((ch) => this.depthOf(ch))));
    return n;
  }

  /** Builds every node, or undefined if any is broken. */
  private all<N extends CstNode, R>(nodes: N[] | undefined, build: (n: N) => R | undefined): R[] | undefined {
    const out: R[] = [];
    for (const n of nodes ?? []) {
      const r = n.recoveredNode ? undefined : build(n);
      if (r === undefined) return undefined;
      out.push(r);
    }
    return out;
  }

  /** Builds the single node of a child list, or undefined if it is missing or broken. */
  private one<N extends CstNode, R>(nodes: N[] | undefined, build: (n: N) => R | undefined): R | undefined {
    const n = nodes?.[0];
    return n && !n.recoveredNode ? build(n) : undefined;
  }
}

/** Whether `items` and the commas between them agree (none missing to recovery). */
function separated(items: unknown[], commas: IToken[] | undefined): boolean {
  const n = commas?.length ?? 0;
  return items.length === 0 ? n === 0 : n === items.length - 1;
}

/** A real (not recovery-inserted) token. */
export function token(tokens: IToken[] | undefined, index = 0): IToken | undefined {
  const t = tokens?.[index];
  return t && !t.isInsertedInRecovery && Number.isFinite(t.startOffset) ? t : undefined;
}

/** The nodes not flagged by recovery. */
export function usable<N extends CstNode>(nodes: N[] | undefined): N[] {
  return (nodes ?? []).filter((n) => !n.recoveredNode);
}
