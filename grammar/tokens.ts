/**
 * The tokens of a `.loom` file, as module-level constants.
 *
 * Keywords use `longer_alt: Identifier`, so `models` or `rounded` stay identifiers. Operator
 * families are token categories (`AdditiveOp`, `MultiplicativeOp`), so the CST keeps the operators
 * of a chain in source order. Comments go to the `comments` group, which the AST keeps for the
 * formatter. Malformed numbers (`12abc`, `1e`) and unterminated strings are still tokens of the
 * right category, so the parser goes on, and `lexer.ts` reports them.
 */
import { createToken, EOF, Lexer } from 'chevrotain';
import type { TokenType } from 'chevrotain';

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n\f\v]+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: 'Comment', pattern: /#[^\r\n]*/, group: 'comments' });

export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/ });

// Numbers: `Number` is the category the parser consumes.
export const NumberLit = createToken({ name: 'NumberLit', pattern: Lexer.NA });
/** A well-formed number: `12`, `0.5`, `1e-6`, `2.5E+3`, not directly followed by a letter. */
export const ValidNumber = createToken({
  name: 'ValidNumber',
  pattern: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![A-Za-z0-9_]|\.\d)/,
  start_chars_hint: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  categories: [NumberLit],
});
/** A number run into letters (`12abc`, `1e`, `1e-6x`): reported as LOOM1004, parsed as a number. */
export const MalformedNumber = createToken({
  name: 'MalformedNumber',
  pattern: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[A-Za-z_][A-Za-z0-9_]*/,
  start_chars_hint: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  categories: [NumberLit],
});

// Strings (only `import "file.loom"` uses them): no newlines inside; `\"` and `\\` escape.
export const StringLit = createToken({ name: 'StringLit', pattern: Lexer.NA });
export const ValidString = createToken({
  name: 'ValidString',
  pattern: /"(?:[^"\\\r\n]|\\.)*"/,
  categories: [StringLit],
});
/** A string with no closing quote on its line: reported as LOOM1003, parsed as a string. */
export const UnterminatedString = createToken({
  name: 'UnterminatedString',
  pattern: /"(?:[^"\\\r\n]|\\.)*\\?/,
  categories: [StringLit],
});

function keyword(name: string, word: string, categories: TokenType[] = []): TokenType {
  return createToken({ name, pattern: new RegExp(word), longer_alt: Identifier, categories });
}

// Operator families.
export const AdditiveOp = createToken({ name: 'AdditiveOp', pattern: Lexer.NA });
export const MultiplicativeOp = createToken({ name: 'MultiplicativeOp', pattern: Lexer.NA });

export const Model = keyword('Model', 'model');
export const Mixer = keyword('Mixer', 'mixer');
export const Block = keyword('Block', 'block');
export const Schedule = keyword('Schedule', 'schedule');
export const Then = keyword('Then', 'then');
export const Round = keyword('Round', 'round', [MultiplicativeOp]);
export const Pattern = keyword('Pattern', 'pattern');
export const Import = keyword('Import', 'import');

export const LBrace = createToken({ name: 'LBrace', pattern: /\{/ });
export const RBrace = createToken({ name: 'RBrace', pattern: /\}/ });
export const LParen = createToken({ name: 'LParen', pattern: /\(/ });
export const RParen = createToken({ name: 'RParen', pattern: /\)/ });
export const LBracket = createToken({ name: 'LBracket', pattern: /\[/ });
export const RBracket = createToken({ name: 'RBracket', pattern: /\]/ });
export const Comma = createToken({ name: 'Comma', pattern: /,/ });
export const Equals = createToken({ name: 'Equals', pattern: /=/ });
export const DotDot = createToken({ name: 'DotDot', pattern: /\.\./ });
export const Plus = createToken({ name: 'Plus', pattern: /\+/, categories: [AdditiveOp] });
export const Minus = createToken({ name: 'Minus', pattern: /-/, categories: [AdditiveOp] });
export const Star = createToken({ name: 'Star', pattern: /\*/, categories: [MultiplicativeOp] });
export const Slash = createToken({ name: 'Slash', pattern: /\//, categories: [MultiplicativeOp] });

/** Every token type, in lexer priority order (keywords before `Identifier`). */
export const allTokens: TokenType[] = [
  WhiteSpace,
  Comment,
  NumberLit,
  ValidNumber,
  MalformedNumber,
  StringLit,
  ValidString,
  UnterminatedString,
  AdditiveOp,
  MultiplicativeOp,
  Model,
  Mixer,
  Block,
  Schedule,
  Then,
  Round,
  Pattern,
  Import,
  Identifier,
  LBrace,
  RBrace,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  Equals,
  DotDot,
  Plus,
  Minus,
  Star,
  Slash,
];

/** How a token type reads in a message: `'='`, `identifier`, `number`, `'model'`. */
const TOKEN_LABELS: ReadonlyMap<TokenType, string> = new Map<TokenType, string>([
  [Identifier, 'identifier'],
  [NumberLit, 'number'],
  [ValidNumber, 'number'],
  [MalformedNumber, 'number'],
  [StringLit, 'string'],
  [ValidString, 'string'],
  [UnterminatedString, 'string'],
  [AdditiveOp, "'+' or '-'"],
  [MultiplicativeOp, "'*', '/' or 'round'"],
]);

/** Reads a token type as users do; punctuation and keywords are quoted (`'='`, `'model'`). */
export function tokenLabel(type: TokenType): string {
  const label = TOKEN_LABELS.get(type);
  if (label) return label;
  if (type === EOF) return 'end of file';
  const pattern = type.PATTERN;
  if (pattern instanceof RegExp) return `'${pattern.source.replace(/\\/g, '')}'`;
  return type.name;
}

/** True for the keyword tokens (rendered `keyword 'model'` when found where not expected). */
export function isKeyword(type: TokenType): boolean {
  return type.LONGER_ALT === Identifier;
}
