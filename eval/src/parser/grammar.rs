//! Builds rnix's syntax tree from the lexer's tokens by recursive descent.
//!
//! The tree must be the one rnix builds, node for node. Trivia (whitespace and
//! comments) is held back until the next node, checkpoint or token is added, and
//! then goes into whatever node is open: rnix places it so, and so do we. Every
//! function returns `None` where rnix would report an error, or does something we do
//! not follow (like taking any token as a closing parenthesis); the caller then lets
//! rnix parse.

use rnix::SyntaxKind::{self, *};
use rowan::GreenNode;

use super::lexer::Token;
use super::tree::{Builder, Checkpoint};

/// How deep the descent may go before we leave the input to rnix (which stops at
/// 512 nested expressions).
const MAX_DEPTH: u32 = 500;

pub(super) struct Parser<'a> {
    text: &'a str,
    toks: Vec<Token>,
    /// The first token not yet added to the tree.
    pos: usize,
    /// The first token at or after `pos` that is not trivia.
    next: usize,
    builder: Builder,
    depth: u32,
}

fn trivia(kind: SyntaxKind) -> bool {
    matches!(kind, TOKEN_WHITESPACE | TOKEN_COMMENT)
}

/// Tokens that may start an argument of a function application.
fn fn_arg(kind: SyntaxKind) -> bool {
    matches!(
        kind,
        TOKEN_REC
            | TOKEN_L_BRACE
            | TOKEN_L_BRACK
            | TOKEN_L_PAREN
            | TOKEN_STRING_START
            | TOKEN_IDENT
            | TOKEN_FLOAT
            | TOKEN_INTEGER
            | TOKEN_PATH_ABS
            | TOKEN_PATH_REL
            | TOKEN_PATH_HOME
            | TOKEN_PATH_SEARCH
            | TOKEN_URI
    )
}

type Res = Option<Checkpoint>;

#[derive(Clone, Copy, PartialEq)]
enum Assoc {
    Left,
    Right,
    None,
}

/// The level of `!`, between those of binary operators.
const INVERT_LEVEL: u8 = 8;

/// A binary operator's level (loosest first) and associativity.
fn binary_op(kind: SyntaxKind) -> Option<(u8, Assoc)> {
    Some(match kind {
        TOKEN_PIPE_LEFT => (0, Assoc::Right),
        TOKEN_PIPE_RIGHT => (1, Assoc::Left),
        TOKEN_IMPLICATION => (2, Assoc::Right),
        TOKEN_OR_OR => (3, Assoc::Left),
        TOKEN_AND_AND => (4, Assoc::Left),
        TOKEN_EQUAL | TOKEN_NOT_EQUAL => (5, Assoc::None),
        TOKEN_LESS | TOKEN_LESS_OR_EQ | TOKEN_MORE | TOKEN_MORE_OR_EQ => (6, Assoc::None),
        TOKEN_UPDATE => (7, Assoc::Right),
        TOKEN_ADD | TOKEN_SUB => (9, Assoc::Left),
        TOKEN_MUL | TOKEN_DIV => (10, Assoc::Left),
        TOKEN_CONCAT => (11, Assoc::Right),
        _ => return None,
    })
}

impl<'a> Parser<'a> {
    /// `toks` ends with an end marker.
    pub(super) fn new(text: &'a str, toks: Vec<Token>) -> Self {
        let mut p = Parser {
            text,
            toks,
            pos: 0,
            next: 0,
            builder: Builder::default(),
            depth: 0,
        };
        p.next = p.skip_trivia(0);
        p
    }

    pub(super) fn parse_root(mut self) -> Option<GreenNode> {
        self.builder.start_node(NODE_ROOT);
        self.expr()?;
        self.drain();
        if self.next != self.toks.len() - 1 {
            return None;
        }
        self.builder.finish_node();
        Some(self.builder.finish())
    }

    fn skip_trivia(&self, mut i: usize) -> usize {
        while trivia(self.toks[i].kind) {
            i += 1;
        }
        i
    }

    /// The next significant token's kind; the end marker's is `TOKEN_ERROR`.
    fn peek(&self) -> SyntaxKind {
        self.toks[self.next].kind
    }

    /// The kind of the significant token after the next one.
    fn peek2(&self) -> SyntaxKind {
        if self.next + 1 >= self.toks.len() {
            return TOKEN_ERROR;
        }
        self.toks[self.skip_trivia(self.next + 1)].kind
    }

    fn emit(&mut self, i: usize, kind: SyntaxKind) {
        let start = self.toks[i].start as usize;
        let end = self.toks[i + 1].start as usize;
        self.builder.token(kind, &self.text[start..end]);
    }

    /// Adds the held-back trivia to the open node.
    fn drain(&mut self) {
        for i in self.pos..self.next {
            self.emit(i, self.toks[i].kind);
        }
        self.pos = self.next;
    }

    /// Adds the next significant token, as `kind`.
    fn bump_as(&mut self, kind: SyntaxKind) {
        self.drain();
        self.emit(self.next, kind);
        self.pos = self.next + 1;
        self.next = self.skip_trivia(self.pos);
    }

    fn bump(&mut self) {
        self.bump_as(self.peek());
    }

    fn expect(&mut self, kind: SyntaxKind) -> Option<()> {
        if self.peek() != kind {
            return None;
        }
        self.bump();
        Some(())
    }

    fn start(&mut self, kind: SyntaxKind) {
        self.drain();
        self.builder.start_node(kind);
    }

    fn start_at(&mut self, at: Checkpoint, kind: SyntaxKind) {
        self.builder.start_node_at(at, kind);
    }

    fn finish(&mut self) {
        self.builder.finish_node();
    }

    fn checkpoint(&mut self) -> Checkpoint {
        self.drain();
        self.builder.checkpoint()
    }

    pub(super) fn expr(&mut self) -> Res {
        self.nested(Self::expr_inner)
    }

    /// `f` one level deeper, declining past the nesting bound.
    fn nested(&mut self, f: impl FnOnce(&mut Self) -> Res) -> Res {
        self.depth += 1;
        if self.depth >= MAX_DEPTH {
            return None;
        }
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn expr_inner(&mut self) -> Res {
        let cp = self.checkpoint();
        match self.peek() {
            TOKEN_LET => {
                self.bump();
                if self.peek() == TOKEN_L_BRACE {
                    self.start_at(cp, NODE_LEGACY_LET);
                    self.bump();
                    self.set(TOKEN_R_BRACE)?;
                } else {
                    self.start_at(cp, NODE_LET_IN);
                    self.set(TOKEN_IN)?;
                    self.expr()?;
                }
                self.finish();
            }
            TOKEN_WITH | TOKEN_ASSERT => {
                self.start(if self.peek() == TOKEN_WITH {
                    NODE_WITH
                } else {
                    NODE_ASSERT
                });
                self.bump();
                self.expr()?;
                self.expect(TOKEN_SEMICOLON)?;
                self.expr()?;
                self.finish();
            }
            TOKEN_IF => {
                self.start(NODE_IF_ELSE);
                self.bump();
                self.expr()?;
                self.expect(TOKEN_THEN)?;
                self.expr()?;
                self.expect(TOKEN_ELSE)?;
                self.expr()?;
                self.finish();
            }
            _ => return self.binary(0),
        }
        Some(cp)
    }

    /// Binary operators whose level is `min` or tighter, by precedence climbing;
    /// the tree is the one rnix's descent through one function per level builds
    /// (every operator of one operand chain wraps from the same checkpoint).
    fn binary(&mut self, min: u8) -> Res {
        // `!` sits between `//` and `+`: its operand takes `+` and tighter.
        let cp = if min <= INVERT_LEVEL && self.peek() == TOKEN_INVERT {
            self.invert()?
        } else {
            self.has_attr()?
        };
        while let Some((level, assoc)) = binary_op(self.peek()) {
            if level < min {
                break;
            }
            self.start_at(cp, NODE_BIN_OP);
            self.bump();
            let next = if assoc == Assoc::Right {
                level
            } else {
                level + 1
            };
            self.nested(|p| p.binary(next))?;
            self.finish();
            // `a == b == c`: rnix leaves the second operator to its caller, which
            // takes it as an error (or, in parentheses, as the closing one).
            if assoc == Assoc::None && binary_op(self.peek()).is_some_and(|(l, _)| l == level) {
                return None;
            }
        }
        Some(cp)
    }

    fn invert(&mut self) -> Res {
        self.prefix(TOKEN_INVERT, |p| p.binary(INVERT_LEVEL + 1))
    }

    /// Any number of `op` before what `operand` parses, each a unary node around the rest.
    fn prefix(&mut self, op: SyntaxKind, operand: fn(&mut Self) -> Res) -> Res {
        if self.peek() != op {
            return operand(self);
        }
        let cp = self.checkpoint();
        self.start(NODE_UNARY_OP);
        self.bump();
        self.nested(|p| p.prefix(op, operand))?;
        self.finish();
        Some(cp)
    }

    fn has_attr(&mut self) -> Res {
        let cp = self.negate()?;
        while self.peek() == TOKEN_QUESTION {
            self.start_at(cp, NODE_HAS_ATTR);
            self.bump();
            self.attrpath()?;
            self.finish();
        }
        Some(cp)
    }

    fn negate(&mut self) -> Res {
        self.prefix(TOKEN_SUB, Self::apply)
    }

    fn apply(&mut self) -> Res {
        let cp = self.simple()?;
        while fn_arg(self.peek()) {
            self.start_at(cp, NODE_APPLY);
            self.simple()?;
            self.finish();
        }
        Some(cp)
    }

    /// A primary expression, with a selection (`.a or b`) or a trailing `or`.
    fn simple(&mut self) -> Res {
        self.nested(Self::simple_inner)
    }

    fn simple_inner(&mut self) -> Res {
        let cp = self.checkpoint();
        match self.peek() {
            TOKEN_L_PAREN => {
                self.start(NODE_PAREN);
                self.bump();
                self.expr()?;
                self.expect(TOKEN_R_PAREN)?;
                self.finish();
            }
            TOKEN_REC => {
                self.start(NODE_ATTR_SET);
                self.bump();
                self.expect(TOKEN_L_BRACE)?;
                self.set(TOKEN_R_BRACE)?;
                self.finish();
            }
            TOKEN_L_BRACE => self.brace()?,
            TOKEN_L_BRACK => {
                self.start(NODE_LIST);
                self.bump();
                while !matches!(self.peek(), TOKEN_R_BRACK | TOKEN_ERROR) {
                    self.simple()?;
                }
                self.expect(TOKEN_R_BRACK)?;
                self.finish();
            }
            TOKEN_STRING_START => self.string()?,
            TOKEN_PATH_ABS | TOKEN_PATH_REL | TOKEN_PATH_HOME => self.path()?,
            TOKEN_PATH_SEARCH => self.node_token(NODE_PATH_SEARCH),
            TOKEN_FLOAT | TOKEN_INTEGER | TOKEN_URI => self.node_token(NODE_LITERAL),
            TOKEN_IDENT => match self.peek2() {
                TOKEN_COLON => {
                    self.start(NODE_LAMBDA);
                    self.start(NODE_IDENT_PARAM);
                    self.node_token(NODE_IDENT);
                    self.finish();
                    self.bump();
                    self.expr()?;
                    self.finish();
                }
                TOKEN_AT => {
                    self.start(NODE_LAMBDA);
                    self.start(NODE_PATTERN);
                    self.start(NODE_PAT_BIND);
                    self.node_token(NODE_IDENT);
                    self.bump();
                    self.finish();
                    self.expect(TOKEN_L_BRACE)?;
                    self.pattern(true)?;
                    self.finish();
                    self.expect(TOKEN_COLON)?;
                    self.expr()?;
                    self.finish();
                }
                _ => {
                    if self.next_text() == "__curPos" {
                        self.start(NODE_CUR_POS);
                        self.bump_as(TOKEN_CUR_POS);
                        self.finish();
                    } else {
                        self.node_token(NODE_IDENT);
                    }
                }
            },
            _ => return None,
        }
        if self.peek() == TOKEN_DOT {
            self.start_at(cp, NODE_SELECT);
            self.bump();
            self.attrpath()?;
            if self.peek() == TOKEN_OR {
                self.bump();
                self.simple()?;
            }
            self.finish();
        } else if self.peek() == TOKEN_OR {
            // `f or`: rnix takes `or` as an argument named so.
            self.start_at(cp, NODE_APPLY);
            self.start(NODE_IDENT);
            self.bump_as(TOKEN_IDENT);
            self.finish();
            self.finish();
        }
        Some(cp)
    }

    fn next_text(&self) -> &str {
        let start = self.toks[self.next].start as usize;
        let end = self.toks[self.next + 1].start as usize;
        &self.text[start..end]
    }

    /// A node holding just the next token.
    fn node_token(&mut self, kind: SyntaxKind) {
        self.start(kind);
        self.bump();
        self.finish();
    }

    /// `{`: a lambda's pattern or an attribute set, told apart as rnix does from
    /// the two tokens after the brace.
    fn brace(&mut self) -> Option<()> {
        let first = self.skip_trivia(self.next + 1);
        let second = if first + 1 < self.toks.len() {
            self.toks[self.skip_trivia(first + 1)].kind
        } else {
            TOKEN_ERROR
        };
        let pattern = matches!(
            (self.toks[first].kind, second),
            (TOKEN_IDENT, TOKEN_COMMA | TOKEN_QUESTION | TOKEN_R_BRACE)
                | (TOKEN_ELLIPSIS, TOKEN_R_BRACE)
                | (TOKEN_R_BRACE, TOKEN_COLON | TOKEN_AT)
        );
        if pattern {
            self.start(NODE_LAMBDA);
            self.start(NODE_PATTERN);
            self.bump();
            self.pattern(false)?;
            self.finish();
            self.expect(TOKEN_COLON)?;
            self.expr()?;
        } else {
            self.start(NODE_ATTR_SET);
            self.bump();
            self.set(TOKEN_R_BRACE)?;
        }
        self.finish();
        Some(())
    }

    /// The entries of a pattern after its `{`, and an `@ name` after it unless
    /// `bound` already.
    fn pattern(&mut self, bound: bool) -> Option<()> {
        loop {
            match self.peek() {
                TOKEN_R_BRACE => {
                    self.bump();
                    break;
                }
                TOKEN_ELLIPSIS => {
                    self.bump();
                    self.expect(TOKEN_R_BRACE)?;
                    break;
                }
                TOKEN_IDENT => {
                    self.start(NODE_PAT_ENTRY);
                    self.node_token(NODE_IDENT);
                    if self.peek() == TOKEN_QUESTION {
                        self.bump();
                        self.expr()?;
                    }
                    self.finish();
                    if self.peek() == TOKEN_COMMA {
                        self.bump();
                    } else {
                        self.expect(TOKEN_R_BRACE)?;
                        break;
                    }
                }
                _ => return None,
            }
        }
        if self.peek() == TOKEN_AT {
            if bound {
                return None;
            }
            self.start(NODE_PAT_BIND);
            self.bump();
            if self.peek() != TOKEN_IDENT {
                return None;
            }
            self.node_token(NODE_IDENT);
            self.finish();
        }
        Some(())
    }

    /// Bindings up to `until`, and `until` itself.
    fn set(&mut self, until: SyntaxKind) -> Option<()> {
        loop {
            match self.peek() {
                k if k == until => break,
                TOKEN_ERROR => return None,
                TOKEN_INHERIT => {
                    self.start(NODE_INHERIT);
                    self.bump();
                    if self.peek() == TOKEN_L_PAREN {
                        self.start(NODE_INHERIT_FROM);
                        self.bump();
                        self.expr()?;
                        self.expect(TOKEN_R_PAREN)?;
                        self.finish();
                    }
                    while !matches!(self.peek(), TOKEN_SEMICOLON | TOKEN_ERROR) {
                        self.attr()?;
                    }
                    self.expect(TOKEN_SEMICOLON)?;
                    self.finish();
                }
                _ => {
                    self.start(NODE_ATTRPATH_VALUE);
                    self.attrpath()?;
                    self.expect(TOKEN_ASSIGN)?;
                    self.expr()?;
                    self.expect(TOKEN_SEMICOLON)?;
                    self.finish();
                }
            }
        }
        self.bump();
        Some(())
    }

    fn attrpath(&mut self) -> Option<()> {
        self.start(NODE_ATTRPATH);
        self.attr()?;
        while self.peek() == TOKEN_DOT {
            self.bump();
            self.attr()?;
        }
        self.finish();
        Some(())
    }

    fn attr(&mut self) -> Option<()> {
        match self.peek() {
            TOKEN_INTERPOL_START => self.interpol(NODE_DYNAMIC),
            TOKEN_STRING_START => self.string(),
            TOKEN_IDENT | TOKEN_OR => {
                self.start(NODE_IDENT);
                self.bump_as(TOKEN_IDENT);
                self.finish();
                Some(())
            }
            _ => None,
        }
    }

    /// `${ expr }` as a node of `kind`.
    fn interpol(&mut self, kind: SyntaxKind) -> Option<()> {
        self.start(kind);
        self.bump();
        self.expr()?;
        self.expect(TOKEN_INTERPOL_END)?;
        self.finish();
        Some(())
    }

    fn string(&mut self) -> Option<()> {
        self.start(NODE_STRING);
        self.bump();
        loop {
            match self.peek() {
                TOKEN_STRING_CONTENT => self.bump(),
                TOKEN_INTERPOL_START => self.interpol(NODE_INTERPOL)?,
                TOKEN_STRING_END => break,
                _ => return None,
            }
        }
        self.bump();
        self.finish();
        Some(())
    }

    /// A path, with its interpolated parts if it has any.
    fn path(&mut self) -> Option<()> {
        let kind = match self.peek() {
            TOKEN_PATH_ABS => NODE_PATH_ABS,
            TOKEN_PATH_REL => NODE_PATH_REL,
            _ => NODE_PATH_HOME,
        };
        self.start(kind);
        self.bump();
        // A `${` after trivia: rnix takes it into the path (C++ Nix rejects it).
        if self.peek() == TOKEN_INTERPOL_START {
            if self.pos != self.next {
                return None;
            }
            loop {
                match self.toks[self.pos].kind {
                    TOKEN_PATH_ABS | TOKEN_PATH_REL | TOKEN_PATH_HOME => self.bump(),
                    TOKEN_INTERPOL_START => self.interpol(NODE_INTERPOL)?,
                    _ => break,
                }
            }
        }
        self.finish();
        Some(())
    }
}
