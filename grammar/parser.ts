/**
 * The Loom grammar as one chevrotain `CstParser`. The grammar is pure (no embedded actions):
 * `cst-to-ast.ts` builds the AST. Recovery is on, so one run reports every syntax error and
 * returns a partial CST whose broken subtrees are flagged `recoveredNode`.
 *
 * ```
 * file           := (importDecl | modelDecl | scheduleDecl)*
 * importDecl     := 'import' String
 * modelDecl      := 'model' Ident '{' modelItem* '}'
 * modelItem      := mixerDecl | blockDecl | assign
 * mixerDecl      := 'mixer' Ident '=' Ident ( '{' assign* '}' )?
 * blockDecl      := 'block' ( 'pattern' list )? '{' assign* '}'
 * assign         := Ident '=' expr
 * scheduleDecl   := 'schedule' '{' scheduleEntry* '}'
 * scheduleEntry  := Ident ( '[' expr ( '..' expr )? ']' )? '=' expr
 * expr           := additive ( 'then' additive )*
 * additive       := multiplicative ( ('+' | '-') multiplicative )*
 * multiplicative := unary ( ('*' | '/' | 'round') unary )*
 * unary          := '-' unary | primary
 * primary        := Number | call | '(' expr ')' | list
 * call           := ( Ident | 'mixer' ) ( '(' ( arg ( ',' arg )* )? ')' )?
 * arg            := Ident '=' expr | expr          (told apart by two tokens of lookahead)
 * list           := '[' ( expr ( ',' expr )* )? ']'
 * ```
 */
import { CstParser } from 'chevrotain';
import { parserMessages } from './parser-messages.ts';
import * as T from './tokens.ts';

export class LoomParser extends CstParser {
  constructor() {
    super(T.allTokens, { recoveryEnabled: true, maxLookahead: 2, errorMessageProvider: parserMessages });
    this.performSelfAnalysis();
  }

  file = this.RULE('file', () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.importDecl) },
        { ALT: () => this.SUBRULE(this.modelDecl) },
        { ALT: () => this.SUBRULE(this.scheduleDecl) },
      ]);
    });
  });

  importDecl = this.RULE('importDecl', () => {
    this.CONSUME(T.Import);
    this.CONSUME(T.StringLit);
  });

  modelDecl = this.RULE('modelDecl', () => {
    this.CONSUME(T.Model);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.modelItem));
    this.CONSUME(T.RBrace);
  });

  modelItem = this.RULE('modelItem', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.mixerDecl) },
      { ALT: () => this.SUBRULE(this.blockDecl) },
      { ALT: () => this.SUBRULE(this.assign) },
    ]);
  });

  mixerDecl = this.RULE('mixerDecl', () => {
    this.CONSUME(T.Mixer);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Equals);
    this.CONSUME2(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.LBrace);
      this.MANY(() => this.SUBRULE(this.assign));
      this.CONSUME(T.RBrace);
    });
  });

  blockDecl = this.RULE('blockDecl', () => {
    this.CONSUME(T.Block);
    this.OPTION(() => {
      this.CONSUME(T.Pattern);
      this.SUBRULE(this.list);
    });
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.assign));
    this.CONSUME(T.RBrace);
  });

  assign = this.RULE('assign', () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expr);
  });

  scheduleDecl = this.RULE('scheduleDecl', () => {
    this.CONSUME(T.Schedule);
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.scheduleEntry));
    this.CONSUME(T.RBrace);
  });

  scheduleEntry = this.RULE('scheduleEntry', () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.LBracket);
      this.SUBRULE(this.expr);
      this.OPTION2(() => {
        this.CONSUME(T.DotDot);
        this.SUBRULE2(this.expr);
      });
      this.CONSUME(T.RBracket);
    });
    this.CONSUME(T.Equals);
    this.SUBRULE3(this.expr);
  });

  expr = this.RULE('expr', () => {
    this.SUBRULE(this.additive);
    this.MANY(() => {
      this.CONSUME(T.Then);
      this.SUBRULE2(this.additive);
    });
  });

  additive = this.RULE('additive', () => {
    this.SUBRULE(this.multiplicative);
    this.MANY(() => {
      this.CONSUME(T.AdditiveOp);
      this.SUBRULE2(this.multiplicative);
    });
  });

  multiplicative = this.RULE('multiplicative', () => {
    this.SUBRULE(this.unary);
    this.MANY(() => {
      this.CONSUME(T.MultiplicativeOp);
      this.SUBRULE2(this.unary);
    });
  });

  unary = this.RULE('unary', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Minus);
          this.SUBRULE(this.unary);
        },
      },
      { ALT: () => this.SUBRULE(this.primary) },
    ]);
  });

  primary = this.RULE('primary', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.NumberLit) },
      { ALT: () => this.SUBRULE(this.call) },
      { ALT: () => this.SUBRULE(this.parenExpr) },
      { ALT: () => this.SUBRULE(this.list) },
    ]);
  });

  parenExpr = this.RULE('parenExpr', () => {
    this.CONSUME(T.LParen);
    this.SUBRULE(this.expr);
    this.CONSUME(T.RParen);
  });

  /** A name, or a call when followed by `(`; `mixer(...)` is a patterned block's layer mixer. */
  call = this.RULE('call', () => {
    this.OR([{ ALT: () => this.CONSUME(T.Identifier) }, { ALT: () => this.CONSUME(T.Mixer) }]);
    this.OPTION(() => {
      this.CONSUME(T.LParen);
      this.OPTION2(() => {
        this.SUBRULE(this.arg);
        this.MANY(() => {
          this.CONSUME(T.Comma);
          this.SUBRULE2(this.arg);
        });
      });
      this.CONSUME(T.RParen);
    });
  });

  arg = this.RULE('arg', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.namedArg) },
      { ALT: () => this.SUBRULE(this.expr) },
    ]);
  });

  namedArg = this.RULE('namedArg', () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expr);
  });

  list = this.RULE('list', () => {
    this.CONSUME(T.LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.expr);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.expr);
      });
    });
    this.CONSUME(T.RBracket);
  });
}

/** The one parser instance; reset it by assigning `input`. */
export const loomParser = new LoomParser();
