//! The formatter's own view of a Nix file: expressions whose tokens carry the comments
//! and blank lines around them (trivia), shaped the way the layout rules need them.

/// A comment or blank line before a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trivium {
    EmptyLine,
    /// Text after the `#`.
    LineComment(String),
    /// `/* */` or (doc) `/** */` comment split into normalised lines.
    BlockComment(bool, Vec<String>),
    /// `/* lang */` directly before a string.
    LanguageAnnotation(String),
    /// `/*nixfmt:disable*/` (true) or `/*nixfmt:enable*/` on a line of its own.
    Directive(bool),
}

pub type Trivia = Vec<Trivium>;

/// A token (or token-like unit such as a string) with its trivia.
#[derive(Debug, Clone)]
pub struct Ann<T> {
    pub pre: Trivia,
    pub value: T,
    /// Source line of the token; 0 for all tokens in strict mode.
    pub line: u32,
    /// A comment on the same line after the token.
    pub trail: Option<String>,
}

impl<T> Ann<T> {
    /// No trivia at all.
    pub fn lone(&self) -> bool {
        self.pre.is_empty() && self.trail.is_none()
    }
    pub fn has_trivia(&self) -> bool {
        !self.lone()
    }
}

/// Token text, e.g. an identifier, keyword or operator.
pub type Leaf = Ann<String>;

#[derive(Debug, Clone)]
pub enum StrPart {
    Text(String),
    Interp(Box<Whole>),
}

/// A string's lines, each a list of parts.
pub type StrLines = Vec<Vec<StrPart>>;

/// An expression with the trivia that follows it up to a closing delimiter.
#[derive(Debug, Clone)]
pub struct Whole {
    pub expr: Expr,
    pub trivia: Trivia,
}

#[derive(Debug, Clone)]
pub enum SimpleSel {
    Id(Leaf),
    Interp(Ann<StrPart>),
    Str(Ann<StrLines>),
}

#[derive(Debug, Clone)]
pub struct Selector {
    pub dot: Option<Leaf>,
    pub sel: SimpleSel,
}

#[derive(Debug, Clone)]
pub enum Item<T> {
    Comments(Trivia),
    Item(T),
}

#[derive(Debug, Clone)]
pub enum Binder {
    Inherit(Leaf, Option<Term>, Vec<SimpleSel>, Leaf),
    Assignment(Vec<Selector>, Leaf, Expr, Leaf),
}

#[derive(Debug, Clone)]
pub enum Term {
    Token(Leaf),
    SimpleString(Ann<StrLines>),
    IndentedString(Ann<StrLines>),
    Path(Ann<Vec<StrPart>>),
    List(Leaf, Vec<Item<Term>>, Leaf),
    Set(Option<Leaf>, Leaf, Vec<Item<Binder>>, Leaf),
    Selection(Box<Term>, Vec<Selector>, Option<(Leaf, Box<Term>)>),
    Parenthesized(Leaf, Box<Expr>, Leaf),
    /// An expression where a term is expected: only the deprecated `x or` (applying
    /// `x` to the identifier `or`) produces this.
    Other(Box<Expr>),
}

#[derive(Debug, Clone)]
pub enum ParamAttr {
    Attr(Leaf, Option<Box<(Leaf, Expr)>>, Option<Leaf>),
    Ellipsis(Leaf),
}

#[derive(Debug, Clone)]
pub enum Param {
    Id(Leaf),
    Set(Leaf, Vec<ParamAttr>, Leaf),
    Context(Box<Param>, Leaf, Box<Param>),
}

#[derive(Debug, Clone)]
pub enum Expr {
    Term(Term),
    With(Leaf, Box<Expr>, Leaf, Box<Expr>),
    Let(Leaf, Vec<Item<Binder>>, Leaf, Box<Expr>),
    Assert(Leaf, Box<Expr>, Leaf, Box<Expr>),
    If(Leaf, Box<Expr>, Leaf, Box<Expr>, Leaf, Box<Expr>),
    Abstraction(Param, Leaf, Box<Expr>),
    Application(Box<Expr>, Box<Expr>),
    Operation(Box<Expr>, Leaf, Box<Expr>),
    MemberCheck(Box<Expr>, Leaf, Vec<Selector>),
    Negation(Leaf, Box<Expr>),
    Inversion(Leaf, Box<Expr>),
}

/// Apply `f` to the first token of an expression.
pub fn map_first_expr<R>(e: &mut Expr, f: &mut dyn FnMut(&mut Leaf) -> R) -> Option<R> {
    match e {
        Expr::Term(t) => map_first_term(t, f),
        Expr::With(l, ..)
        | Expr::Let(l, ..)
        | Expr::Assert(l, ..)
        | Expr::If(l, ..)
        | Expr::Negation(l, _)
        | Expr::Inversion(l, _) => Some(f(l)),
        Expr::Abstraction(p, ..) => map_first_param(p, f),
        Expr::Application(a, _) | Expr::Operation(a, ..) | Expr::MemberCheck(a, ..) => {
            map_first_expr(a, f)
        }
    }
}

fn map_first_param<R>(p: &mut Param, f: &mut dyn FnMut(&mut Leaf) -> R) -> Option<R> {
    match p {
        Param::Id(l) | Param::Set(l, ..) => Some(f(l)),
        Param::Context(a, ..) => map_first_param(a, f),
    }
}

/// Apply `f` to the first token of a term. Strings and paths are treated as tokens by
/// mapping their annotation through a temporary leaf.
pub fn map_first_term<R>(t: &mut Term, f: &mut dyn FnMut(&mut Leaf) -> R) -> Option<R> {
    match t {
        Term::Token(l) | Term::List(l, ..) | Term::Parenthesized(l, ..) => Some(f(l)),
        Term::Set(Some(l), ..) => Some(f(l)),
        Term::Set(None, l, ..) => Some(f(l)),
        Term::Selection(t, ..) => map_first_term(t, f),
        Term::SimpleString(a) | Term::IndentedString(a) => Some(via_leaf(a, f)),
        Term::Path(a) => Some(via_leaf(a, f)),
        Term::Other(e) => map_first_expr(e, f),
    }
}

fn via_leaf<T, R>(a: &mut Ann<T>, f: &mut dyn FnMut(&mut Leaf) -> R) -> R {
    let mut l = Leaf {
        pre: std::mem::take(&mut a.pre),
        value: String::new(),
        line: a.line,
        trail: a.trail.take(),
    };
    let r = f(&mut l);
    a.pre = l.pre;
    a.trail = l.trail;
    r
}

/// Apply `f` to the last token of an expression.
pub fn map_last_expr<R>(e: &mut Expr, f: &mut dyn FnMut(&mut Leaf) -> R) -> Option<R> {
    match e {
        Expr::Term(t) => map_last_term(t, f),
        Expr::With(.., b)
        | Expr::Let(.., b)
        | Expr::Assert(.., b)
        | Expr::If(.., b)
        | Expr::Abstraction(.., b)
        | Expr::Application(_, b)
        | Expr::Operation(.., b)
        | Expr::Negation(_, b)
        | Expr::Inversion(_, b) => map_last_expr(b, f),
        Expr::MemberCheck(_, _, sels) => sels.last_mut().and_then(|s| map_last_sel(&mut s.sel, f)),
    }
}

fn map_last_sel<R>(s: &mut SimpleSel, f: &mut dyn FnMut(&mut Leaf) -> R) -> Option<R> {
    match s {
        SimpleSel::Id(l) => Some(f(l)),
        SimpleSel::Interp(a) => Some(via_leaf(a, f)),
        SimpleSel::Str(a) => Some(via_leaf(a, f)),
    }
}

pub fn map_last_term<R>(t: &mut Term, f: &mut dyn FnMut(&mut Leaf) -> R) -> Option<R> {
    match t {
        Term::Token(l) | Term::List(.., l) | Term::Set(.., l) | Term::Parenthesized(.., l) => {
            Some(f(l))
        }
        Term::SimpleString(a) | Term::IndentedString(a) => Some(via_leaf(a, f)),
        Term::Path(a) => Some(via_leaf(a, f)),
        Term::Other(e) => map_last_expr(e, f),
        Term::Selection(_, _, Some((_, d))) => map_last_term(d, f),
        Term::Selection(_, sels, None) => sels.last_mut().and_then(|s| map_last_sel(&mut s.sel, f)),
    }
}

/// Source line of the first token of an expression.
pub fn first_line(e: &Expr) -> u32 {
    match e {
        Expr::Term(t) => first_line_term(t),
        Expr::With(l, ..)
        | Expr::Let(l, ..)
        | Expr::Assert(l, ..)
        | Expr::If(l, ..)
        | Expr::Negation(l, _)
        | Expr::Inversion(l, _) => l.line,
        Expr::Abstraction(p, ..) => first_line_param(p),
        Expr::Application(a, _) | Expr::Operation(a, ..) | Expr::MemberCheck(a, ..) => {
            first_line(a)
        }
    }
}

fn first_line_param(p: &Param) -> u32 {
    match p {
        Param::Id(l) | Param::Set(l, ..) => l.line,
        Param::Context(a, ..) => first_line_param(a),
    }
}

pub fn first_line_term(t: &Term) -> u32 {
    match t {
        Term::Token(l) | Term::List(l, ..) | Term::Parenthesized(l, ..) => l.line,
        Term::Set(Some(l), ..) | Term::Set(None, l, ..) => l.line,
        Term::Selection(t, ..) => first_line_term(t),
        Term::SimpleString(a) | Term::IndentedString(a) => a.line,
        Term::Path(a) => a.line,
        Term::Other(e) => first_line(e),
    }
}

/// The first token's leading trivia and trailing comment, without copying anything.
pub fn first_trivia_expr(e: &Expr) -> (&[Trivium], bool) {
    match e {
        Expr::Term(t) => first_trivia_term(t),
        Expr::With(l, ..)
        | Expr::Let(l, ..)
        | Expr::Assert(l, ..)
        | Expr::If(l, ..)
        | Expr::Negation(l, _)
        | Expr::Inversion(l, _) => (&l.pre, l.trail.is_some()),
        Expr::Abstraction(p, ..) => first_trivia_param(p),
        Expr::Application(a, _) | Expr::Operation(a, ..) | Expr::MemberCheck(a, ..) => {
            first_trivia_expr(a)
        }
    }
}

fn first_trivia_param(p: &Param) -> (&[Trivium], bool) {
    match p {
        Param::Id(l) | Param::Set(l, ..) => (&l.pre, l.trail.is_some()),
        Param::Context(a, ..) => first_trivia_param(a),
    }
}

pub fn first_trivia_term(t: &Term) -> (&[Trivium], bool) {
    match t {
        Term::Token(l) | Term::List(l, ..) | Term::Parenthesized(l, ..) => {
            (&l.pre, l.trail.is_some())
        }
        Term::Set(Some(l), ..) | Term::Set(None, l, ..) => (&l.pre, l.trail.is_some()),
        Term::Selection(t, ..) => first_trivia_term(t),
        Term::SimpleString(a) | Term::IndentedString(a) => (&a.pre, a.trail.is_some()),
        Term::Path(a) => (&a.pre, a.trail.is_some()),
        Term::Other(e) => first_trivia_expr(e),
    }
}
