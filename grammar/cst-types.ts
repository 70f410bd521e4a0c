/**
 * The CST of the Loom grammar. GENERATED from `parser.ts` by `cst-dts.ts`: do not edit;
 * regenerate with `UPDATE_BASELINES=1 npx vitest run test/grammar`.
 */
/* eslint-disable */
import type { CstNode, ICstVisitor, IToken } from "chevrotain";

export interface FileCstNode extends CstNode {
  name: "file";
  children: FileCstChildren;
}

export type FileCstChildren = {
  importDecl?: ImportDeclCstNode[];
  modelDecl?: ModelDeclCstNode[];
  scheduleDecl?: ScheduleDeclCstNode[];
};

export interface ImportDeclCstNode extends CstNode {
  name: "importDecl";
  children: ImportDeclCstChildren;
}

export type ImportDeclCstChildren = {
  Import: IToken[];
  StringLit: IToken[];
};

export interface ModelDeclCstNode extends CstNode {
  name: "modelDecl";
  children: ModelDeclCstChildren;
}

export type ModelDeclCstChildren = {
  Model: IToken[];
  Identifier: IToken[];
  LBrace: IToken[];
  modelItem?: ModelItemCstNode[];
  RBrace: IToken[];
};

export interface ModelItemCstNode extends CstNode {
  name: "modelItem";
  children: ModelItemCstChildren;
}

export type ModelItemCstChildren = {
  mixerDecl?: MixerDeclCstNode[];
  blockDecl?: BlockDeclCstNode[];
  assign?: AssignCstNode[];
};

export interface MixerDeclCstNode extends CstNode {
  name: "mixerDecl";
  children: MixerDeclCstChildren;
}

export type MixerDeclCstChildren = {
  Mixer: IToken[];
  Identifier: (IToken)[];
  Equals: IToken[];
  LBrace?: IToken[];
  assign?: AssignCstNode[];
  RBrace?: IToken[];
};

export interface BlockDeclCstNode extends CstNode {
  name: "blockDecl";
  children: BlockDeclCstChildren;
}

export type BlockDeclCstChildren = {
  Block: IToken[];
  Pattern?: IToken[];
  list?: ListCstNode[];
  LBrace: IToken[];
  assign?: AssignCstNode[];
  RBrace: IToken[];
};

export interface AssignCstNode extends CstNode {
  name: "assign";
  children: AssignCstChildren;
}

export type AssignCstChildren = {
  Identifier: IToken[];
  Equals: IToken[];
  expr: ExprCstNode[];
};

export interface ScheduleDeclCstNode extends CstNode {
  name: "scheduleDecl";
  children: ScheduleDeclCstChildren;
}

export type ScheduleDeclCstChildren = {
  Schedule: IToken[];
  LBrace: IToken[];
  scheduleEntry?: ScheduleEntryCstNode[];
  RBrace: IToken[];
};

export interface ScheduleEntryCstNode extends CstNode {
  name: "scheduleEntry";
  children: ScheduleEntryCstChildren;
}

export type ScheduleEntryCstChildren = {
  Identifier: IToken[];
  LBracket?: IToken[];
  expr: (ExprCstNode)[];
  DotDot?: IToken[];
  RBracket?: IToken[];
  Equals: IToken[];
};

export interface ExprCstNode extends CstNode {
  name: "expr";
  children: ExprCstChildren;
}

export type ExprCstChildren = {
  additive: (AdditiveCstNode)[];
  Then?: IToken[];
};

export interface AdditiveCstNode extends CstNode {
  name: "additive";
  children: AdditiveCstChildren;
}

export type AdditiveCstChildren = {
  multiplicative: (MultiplicativeCstNode)[];
  AdditiveOp?: IToken[];
};

export interface MultiplicativeCstNode extends CstNode {
  name: "multiplicative";
  children: MultiplicativeCstChildren;
}

export type MultiplicativeCstChildren = {
  unary: (UnaryCstNode)[];
  MultiplicativeOp?: IToken[];
};

export interface UnaryCstNode extends CstNode {
  name: "unary";
  children: UnaryCstChildren;
}

export type UnaryCstChildren = {
  Minus?: IToken[];
  unary?: UnaryCstNode[];
  primary?: PrimaryCstNode[];
};

export interface PrimaryCstNode extends CstNode {
  name: "primary";
  children: PrimaryCstChildren;
}

export type PrimaryCstChildren = {
  NumberLit?: IToken[];
  call?: CallCstNode[];
  parenExpr?: ParenExprCstNode[];
  list?: ListCstNode[];
};

export interface ParenExprCstNode extends CstNode {
  name: "parenExpr";
  children: ParenExprCstChildren;
}

export type ParenExprCstChildren = {
  LParen: IToken[];
  expr: ExprCstNode[];
  RParen: IToken[];
};

export interface CallCstNode extends CstNode {
  name: "call";
  children: CallCstChildren;
}

export type CallCstChildren = {
  Identifier?: IToken[];
  Mixer?: IToken[];
  LParen?: IToken[];
  arg?: (ArgCstNode)[];
  Comma?: IToken[];
  RParen?: IToken[];
};

export interface ArgCstNode extends CstNode {
  name: "arg";
  children: ArgCstChildren;
}

export type ArgCstChildren = {
  namedArg?: NamedArgCstNode[];
  expr?: ExprCstNode[];
};

export interface NamedArgCstNode extends CstNode {
  name: "namedArg";
  children: NamedArgCstChildren;
}

export type NamedArgCstChildren = {
  Identifier: IToken[];
  Equals: IToken[];
  expr: ExprCstNode[];
};

export interface ListCstNode extends CstNode {
  name: "list";
  children: ListCstChildren;
}

export type ListCstChildren = {
  LBracket: IToken[];
  expr?: (ExprCstNode)[];
  Comma?: IToken[];
  RBracket: IToken[];
};

export interface LoomCstVisitor<IN, OUT> extends ICstVisitor<IN, OUT> {
  file(children: FileCstChildren, param?: IN): OUT;
  importDecl(children: ImportDeclCstChildren, param?: IN): OUT;
  modelDecl(children: ModelDeclCstChildren, param?: IN): OUT;
  modelItem(children: ModelItemCstChildren, param?: IN): OUT;
  mixerDecl(children: MixerDeclCstChildren, param?: IN): OUT;
  blockDecl(children: BlockDeclCstChildren, param?: IN): OUT;
  assign(children: AssignCstChildren, param?: IN): OUT;
  scheduleDecl(children: ScheduleDeclCstChildren, param?: IN): OUT;
  scheduleEntry(children: ScheduleEntryCstChildren, param?: IN): OUT;
  expr(children: ExprCstChildren, param?: IN): OUT;
  additive(children: AdditiveCstChildren, param?: IN): OUT;
  multiplicative(children: MultiplicativeCstChildren, param?: IN): OUT;
  unary(children: UnaryCstChildren, param?: IN): OUT;
  primary(children: PrimaryCstChildren, param?: IN): OUT;
  parenExpr(children: ParenExprCstChildren, param?: IN): OUT;
  call(children: CallCstChildren, param?: IN): OUT;
  arg(children: ArgCstChildren, param?: IN): OUT;
  namedArg(children: NamedArgCstChildren, param?: IN): OUT;
  list(children: ListCstChildren, param?: IN): OUT;
}
