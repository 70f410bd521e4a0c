/**
 * Parser error messages as users read them: "expected '=' but found number '12'".
 *
 * Chevrotain asks an `IParserErrorMessageProvider` for each error's message; ours returns the two
 * halves (`expected`, `found`) encoded as JSON, and `index.ts` turns them into a LOOM1002
 * diagnostic with `decodeParserMessage`.
 */
import { EOF, tokenMatcher } from 'chevrotain';
import type { IParserErrorMessageProvider, IToken, TokenType } from 'chevrotain';
import * as T from './tokens.ts';

export interface ExpectedFound {
  expected: string;
  found: string;
}

/** The tokens an expression may start with; a set containing them all reads "an expression". */
const EXPRESSION_START: TokenType[] = [T.NumberLit, T.Identifier, T.LParen, T.LBracket, T.Minus];

/** "'=', '(' or identifier" */
export function describeExpected(types: TokenType[]): string {
  const unique = [...new Set(types)];
  const startsExpression = EXPRESSION_START.every((e) => unique.includes(e));
  // `mixer(...)` (a patterned block's layer mixer) also starts an expression; it reads as one.
  const rest = startsExpression ? unique.filter((t) => !EXPRESSION_START.includes(t) && t !== T.Mixer) : unique;
  const labels = [...new Set(rest.map(T.tokenLabel))];
  return joinOr(startsExpression ? ['an expression', ...labels] : labels);
}

function joinOr(items: string[]): string {
  if (items.length <= 1) return items[0] ?? 'nothing';
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** "number '12'", "identifier 'dim'", "'='", "keyword 'model'", "end of file". */
export function describeFound(token: IToken): string {
  const type = token.tokenType;
  if (type === EOF) return 'end of file';
  if (tokenMatcher(token, T.Identifier)) return `identifier '${token.image}'`;
  if (tokenMatcher(token, T.NumberLit)) return `number '${token.image}'`;
  if (tokenMatcher(token, T.StringLit)) return `string ${token.image}`;
  if (T.isKeyword(type)) return `keyword '${token.image}'`;
  return `'${token.image}'`;
}

function encode(expected: string, actual: IToken): string {
  const value: ExpectedFound = { expected, found: describeFound(actual) };
  return JSON.stringify(value);
}

/** Undoes the provider's encoding; a message it did not write is kept whole as `found`. */
export function decodeParserMessage(message: string): ExpectedFound {
  try {
    const value = JSON.parse(message) as Partial<ExpectedFound>;
    if (typeof value.expected === 'string' && typeof value.found === 'string') {
      return { expected: value.expected, found: value.found };
    }
  } catch {
    // fall through: not one of ours
  }
  return { expected: 'valid syntax', found: message };
}

const TOP_LEVEL: TokenType[] = [T.Import, T.Model, T.Schedule, EOF];
const STATEMENT_OR_END: TokenType[] = [T.Identifier, T.RBrace];

/**
 * What could have come where `expected` was missing. When a repetition stops at a token it cannot
 * use, chevrotain reports only the token after the repetition (`'}'`); name the tokens the
 * repetition could have continued with too.
 */
function expectedAt(ruleName: string, expected: TokenType, previous: IToken): TokenType[] {
  const afterOpen = (open: TokenType) => tokenMatcher(previous, open);
  if (ruleName === 'file' && expected === EOF) return TOP_LEVEL;
  if (expected === T.RBrace && ruleName === 'modelDecl') return [T.Identifier, T.Mixer, T.Block, T.RBrace];
  if (expected === T.RBrace && ['mixerDecl', 'blockDecl', 'scheduleDecl'].includes(ruleName)) return STATEMENT_OR_END;
  if (expected === T.RParen && ruleName === 'call') return afterOpen(T.LParen) ? [...EXPRESSION_START, T.RParen] : [T.Comma, T.RParen];
  if (expected === T.RBracket && ruleName === 'list') return afterOpen(T.LBracket) ? [...EXPRESSION_START, T.RBracket] : [T.Comma, T.RBracket];
  return [expected];
}

export const parserMessages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, actual, previous, ruleName }) =>
    encode(describeExpected(expectedAt(ruleName, expected, previous)), actual),
  buildNotAllInputParsedMessage: ({ firstRedundant }) => encode(describeExpected(TOP_LEVEL), firstRedundant),
  buildNoViableAltMessage: ({ expectedPathsPerAlt, actual }) => {
    const first = expectedPathsPerAlt.flatMap((paths) => paths.map((p) => p[0])).filter((t) => t !== undefined);
    return encode(describeExpected(first), actual[0]);
  },
  buildEarlyExitMessage: ({ expectedIterationPaths, actual }) => {
    const first = expectedIterationPaths.map((p) => p[0]).filter((t) => t !== undefined);
    return encode(describeExpected(first), actual[0]);
  },
};
