/**
 * The abstract syntax tree of a `.loom` file. Every node carries the span of source text it came
 * from, so diagnostics, the formatter and editor tooling share one parser.
 *
 * The AST is syntax only: names are not resolved and numbers are not evaluated here; that is the
 * checker's job (`compiler/check`).
 */

/** A range of source text. `start`/`end` are UTF-16 offsets (end exclusive); line/col are 1-based. */
export interface Span {
  start: number;
  end: number;
  line: number;
  col: number;
}

export interface Ident {
  kind: 'Ident';
  name: string;
  span: Span;
}

/** An expression: dimensions, knob values and block statements all use this one grammar. */
export type Expr = NumberLit | NameRef | Call | Binary | Unary | Then | ListLit;

export interface NumberLit {
  kind: 'Number';
  value: number;
  /** The literal as written, for the formatter (`1e-6`, `0.5`). */
  text: string;
  span: Span;
}

export interface NameRef {
  kind: 'Name';
  name: string;
  span: Span;
}

/** A named argument `name = value` inside a call: `swiglu(x, hidden = 1024)`. */
export interface NamedArg {
  kind: 'NamedArg';
  name: Ident;
  value: Expr;
  span: Span;
}

export interface Call {
  kind: 'Call';
  callee: Ident;
  args: (Expr | NamedArg)[];
  span: Span;
}

/** `round` rounds its left side up to a multiple of its right side: `dim * 8 / 3 round 64`. */
export type BinaryOp = '+' | '-' | '*' | '/' | 'round';

export interface Binary {
  kind: 'Binary';
  op: BinaryOp;
  left: Expr;
  right: Expr;
  span: Span;
}

export interface Unary {
  kind: 'Unary';
  op: '-';
  operand: Expr;
  span: Span;
}

/** Composition of feature maps, applied left to right: `silu then l2`. Lowest precedence. */
export interface Then {
  kind: 'Then';
  stages: Expr[];
  span: Span;
}

/** `[a, b, c]`, used by layer patterns. */
export interface ListLit {
  kind: 'List';
  items: Expr[];
  span: Span;
}

/** `name = expr` at model level (`dim = 512`, `layers = 8`, `head = tied`) or inside a mixer. */
export interface Assign {
  kind: 'Assign';
  name: Ident;
  value: Expr;
  span: Span;
}

/** `mixer NAME = PRESET { knob = value ... }` (the braces are optional when there are no knobs). */
export interface MixerDecl {
  kind: 'Mixer';
  name: Ident;
  preset: Ident;
  knobs: Assign[];
  span: Span;
}

/**
 * `block { x = x + f(g(x)) ... }`: the statements applied once per layer. With
 * `block pattern [a, b, ...] { ... mixer(e) ... }`, `mixer(e)` calls mixer pattern[i mod len] in layer i.
 */
export interface BlockDecl {
  kind: 'Block';
  /** The layer pattern's mixer names (`[gdn, gdn, gdn, swa]`), when given. */
  pattern?: ListLit;
  statements: Assign[];
  span: Span;
}

export type ModelItem = Assign | MixerDecl | BlockDecl;

export interface ModelDecl {
  kind: 'Model';
  name: Ident;
  items: ModelItem[];
  span: Span;
}

/** `layers[0..3]` (inclusive range) or `layers[5]` in a schedule section. */
export interface LayerRange {
  first: Expr;
  last: Expr;
  span: Span;
}

/** `default = auto`, `prefill = chunkwise(64)`, `layers[0..3] = parallel`. */
export interface ScheduleEntry {
  kind: 'ScheduleEntry';
  target: Ident;
  range?: LayerRange;
  value: Expr;
  span: Span;
}

export interface ScheduleDecl {
  kind: 'Schedule';
  entries: ScheduleEntry[];
  span: Span;
}

/** `# comment` text with its span, kept for the formatter. */
export interface Comment {
  text: string;
  span: Span;
}

/** `import "file.loom"`: a file of shared definitions (resolved by the checker, not here). */
export interface ImportDecl {
  kind: 'Import';
  /** The path as written between the quotes, escapes (`\"` and `\\`) undone. */
  path: string;
  span: Span;
}

export interface LoomFile {
  kind: 'File';
  /** The path given to the parser (used in diagnostics). */
  path: string;
  models: ModelDecl[];
  schedules: ScheduleDecl[];
  comments: Comment[];
  /** `import` declarations in source order (always set by `parse`). */
  imports?: ImportDecl[];
  span: Span;
}
