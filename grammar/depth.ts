/**
 * The nesting guard. Chevrotain parses by recursive descent, so an expression nested a few
 * hundred levels deep would overflow the stack. Before parsing, this scan measures each
 * expression's nesting (open brackets plus pending prefix minuses) and cuts out every region
 * that goes deeper than `MAX_NESTING`, reporting LOOM1006 for it. The parser then sees a hole
 * where the region was; `index.ts` drops the one syntax error that hole causes.
 */
import { tokenMatcher } from 'chevrotain';
import type { IToken, TokenType } from 'chevrotain';
import * as T from './tokens.ts';

/** Nesting levels allowed in one expression: far below what overflows the parser's stack. */
export const MAX_NESTING = 100000;

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
  // pending[i]: prefix minuses still open at bracket level i (level 0 is outside any bracket).
  let pending: number[] = [0];
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const prev = kept[kept.length - 1];
    const prefixMinus = tokenMatcher(t, T.Minus) && !(prev && is(prev, OPERAND_ENDS));
    if ((is(t, OPENERS) || prefixMinus) && depth >= MAX_NESTING) {
      const end = prefixMinus ? i : regionEnd(tokens, i);
      const resumeOffset = tokens[end + 1]?.startOffset ?? textLength;
      const previous = excisions[excisions.length - 1];
      if (previous && previous.last === tokens[i - 1]) Object.assign(previous, { last: tokens[end], resumeOffset });
      else excisions.push({ first: t, last: tokens[end], resumeOffset });
      i = end;
      continue;
    }
    kept.push(t);
    if (is(t, RESETS)) {
      pending = [0];
      depth = 0;
    } else if (is(t, OPENERS)) {
      pending.push(0);
      depth++;
    } else if (is(t, CLOSERS) && pending.length > 1) {
      depth -= 1 + (pending.pop() ?? 0);
    } else if (prefixMinus) {
      pending[pending.length - 1]++;
      depth++;
    } else if (!is(t, OPERAND_ENDS)) {
      // a binary operator, `,`, `=`, `..` or `then`: the prefix minuses before it are closed
      depth -= pending[pending.length - 1];
      pending[pending.length - 1] = 0;
    }
  }
  return { tokens: kept, excisions };
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
