/** A compact, readable form of AST expressions for tests: `(+ x (call attn (call rmsnorm x)))`. */
import type { Expr, NamedArg } from '../../grammar/ast.ts';

export function sexpr(e: Expr | NamedArg): string {
  switch (e.kind) {
    case 'Number':
      return e.text;
    case 'Name':
      return e.name;
    case 'Call':
      return `(call ${[e.callee.name, ...e.args.map(sexpr)].join(' ')})`;
    case 'NamedArg':
      return `${e.name.name}=${sexpr(e.value)}`;
    case 'Binary':
      return `(${e.op} ${sexpr(e.left)} ${sexpr(e.right)})`;
    case 'Unary':
      return `(neg ${sexpr(e.operand)})`;
    case 'Then':
      return `(then ${e.stages.map(sexpr).join(' ')})`;
    case 'List':
      return `[${e.items.map(sexpr).join(' ')}]`;
  }
}
