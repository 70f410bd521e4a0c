/**
 * Highlighting of `.loom` text in CodeMirror from Loom's own lexer (grammar/lexer.ts): every token
 * the compiler sees gets a class by its token type, so the editor and the compiler never disagree
 * on what a word is. Identifiers are told apart by what follows them: a call `name(`, a preset
 * after `mixer name =`, a declared name before `=`.
 */
import { RangeSetBuilder } from '@codemirror/state';
import { Decoration, ViewPlugin, type DecorationSet, type EditorView, type ViewUpdate } from '@codemirror/view';
import { tokenMatcher, type IToken } from 'chevrotain';
import { loomLexer } from '../../grammar/lexer.ts';
import { AdditiveOp, Comment, Equals, Identifier, isKeyword, LParen, Mixer, MultiplicativeOp, NumberLit, StringLit, MalformedNumber, UnterminatedString } from '../../grammar/tokens.ts';

const mark = (cls: string) => Decoration.mark({ class: cls });
const MARKS = {
  keyword: mark('tk-keyword'),
  number: mark('tk-number'),
  string: mark('tk-string'),
  comment: mark('tk-comment'),
  operator: mark('tk-operator'),
  call: mark('tk-call'),
  preset: mark('tk-preset'),
  name: mark('tk-name'),
  bad: mark('tk-bad'),
};

/** The class of each token, by its type and the tokens around it. Pure. */
export function tokenClasses(tokens: readonly IToken[]): (keyof typeof MARKS | undefined)[] {
  return tokens.map((t, i) => {
    if (tokenMatcher(t, MalformedNumber) || tokenMatcher(t, UnterminatedString)) return 'bad';
    if (isKeyword(t.tokenType)) return 'keyword';
    if (tokenMatcher(t, NumberLit)) return 'number';
    if (tokenMatcher(t, StringLit)) return 'string';
    if (tokenMatcher(t, AdditiveOp) || tokenMatcher(t, MultiplicativeOp) || tokenMatcher(t, Equals)) return 'operator';
    if (!tokenMatcher(t, Identifier)) return undefined;
    const next = tokens[i + 1];
    if (next && tokenMatcher(next, LParen)) return 'call';
    if (i >= 3 && tokenMatcher(tokens[i - 1], Equals) && tokenMatcher(tokens[i - 3], Mixer)) return 'preset';
    if (next && tokenMatcher(next, Equals)) return 'name';
    return undefined;
  });
}

function decorate(view: EditorView): DecorationSet {
  const r = loomLexer.tokenize(view.state.doc.toString());
  const spans: { from: number; to: number; m: Decoration }[] = [];
  tokenClasses(r.tokens).forEach((c, i) => {
    const t = r.tokens[i];
    if (c) spans.push({ from: t.startOffset, to: t.startOffset + t.image.length, m: MARKS[c] });
  });
  for (const t of r.groups['comments'] ?? []) if (tokenMatcher(t, Comment)) spans.push({ from: t.startOffset, to: t.startOffset + t.image.length, m: MARKS.comment });
  spans.sort((a, b) => a.from - b.from);
  const b = new RangeSetBuilder<Decoration>();
  for (const s of spans) b.add(s.from, s.to, s.m);
  return b.finish();
}

/** The CodeMirror extension that highlights a `.loom` document. */
export const loomHighlight = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet;
    constructor(view: EditorView) {
      this.decorations = decorate(view);
    }
    update(u: ViewUpdate) {
      if (u.docChanged) this.decorations = decorate(u.view);
    }
  },
  { decorations: (v) => v.decorations },
);
