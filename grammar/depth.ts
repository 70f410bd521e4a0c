/**
 * The nesting guard. Chevrotain parses by recursive descent, so an expression nested a few
 * hundred levels deep would overflow the stack (and its error recovery needs more stack than the
 * parse). Before parsing, this scan measures each expression's nesting and cuts out every region
 * that goes deeper than `MAX_NESTING`, reporting LOOM1006 for it. The parser then sees a hole
 * where the region was; `index.ts` drops the one syntax error that hole causes.
 *
 * Nesting is counted in levels weighted by the parser's stack use: a `(` or a prefix `-` is one
 * level, a call's `(` or a list's `[` two (recovering from an unclosed call or list takes about
 * twice the stack of an unclosed parenthesis).
 */
import { tokenMatcher } from 'chevrotain';
import type { IToken, TokenType } from 'chevrotain';
import * as T from './tokens.ts';

/** Nesting levels allowed in one expression: far below what overflows the parser's stack. */
export const MAX_NESTING = 100;

/** A cut-out region, from the token that went too deep to `last` (merged when adjacent). */
export interface Excision {
  first: IToken;
  last: IToken;
  /** Offset of the first token after the region (the text length if none). */
  resumeOffset: number;
}

const OPENERS: TokenType[] = [T.LParen, T.LBracket];
const CLOSERS: TokenType[] = [T.RParen, T.RBracket];
/** Tokens that end any expression: nesting is reset there, and a cut never passes them. */
const RESETS: TokenType[] = [T.LBrace, T.RBrace, T.Model, T.Mixer, T.Block, T.Schedule, T.Import, T.Pattern];
/** Tokens after which a `-` is binary, not a prefix. */
const OPERAND_ENDS: TokenType[] = [T.NumberLit, T.Identifier, T.RParen, T.RBracket];

const is = (t: IToken, types: TokenType[]) => types.some((type) => tokenMatcher(t, type));

/** Returns the tokens to parse (deep regions cut out) and the regions cut. */
export function guardNesting(tokens: IToken[], textLength: number): { tokens: IToken[]; excisions: Excision[] } {
  const kept: IToken[] = [];
  const excisions: Excision[] = [];
  // levels[i]: weight of bracket i (0 for the level outside any bracket) and its prefix minuses still open.
  let levels: Level[] = [{ weight: 0, pending: 0 }];
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const prev = kept[kept.length - 1];
    const prefixMinus = tokenMatcher(t, T.Minus) && !(prev && is(prev, OPERAND_ENDS));
    const weight = is(t, OPENERS) ? openerWeight(t, prev) : prefixMinus ? 1 : 0;
    if (weight > 0 && depth + weight > MAX_NESTING) {
      const end = prefixMinus ? i : regionEnd(tokens, i);
      const resumeOffset = tokens[end + 1]?.startOffset ?? textLength;
      const previous = excisions[excisions.length - 1];
      if (previous && previous.last === tokens[i - 1]) Object.assign(previous, { last: tokens[end], resumeOffset });
      else excisions.push({ first: t, last: tokens[end], resumeOffset });
      i = end;
      continue;
    }
    kept.push(t);
    const top = levels[levels.length - 1];
    if (is(t, RESETS)) {
      levels = [{ weight: 0, pending: 0 }];
      depth = 0;
    } else if (is(t, OPENERS)) {
      levels.push({ weight, pending: 0 });
      depth += weight;
    } else if (is(t, CLOSERS) && levels.length > 1) {
      depth -= top.weight + top.pending;
      levels.pop();
    } else if (prefixMinus) {
      top.pending++;
      depth++;
    } else if (!is(t, OPERAND_ENDS)) {
      // a binary operator, `,`, `=`, `..` or `then`: the prefix minuses before it are closed
      depth -= top.pending;
      top.pending = 0;
    }
  }
  return { tokens: kept, excisions };
}

interface Level {
  weight: number;
  pending: number;
}

/** A plain `(` is one level; a call's `(` (after a name) or a list's `[` two. */
function openerWeight(t: IToken, prev: IToken | undefined): number {
  const call = tokenMatcher(t, T.LParen) && prev !== undefined && tokenMatcher(prev, T.Identifier);
  return call || tokenMatcher(t, T.LBracket) ? 2 : 1;
}

/** Index of the bracket closing the one at `open`, or of the last token before a reset/the end. */
function regionEnd(tokens: IToken[], open: number): number {
  let level = 0;
  for (let i = open; i < tokens.length; i++) {
    const t = tokens[i];
    if (is(t, RESETS)) return i - 1;
    if (is(t, OPENERS)) level++;
    else if (is(t, CLOSERS) && --level === 0) return i;
  }
  return tokens.length - 1;
}
