//! Splits source text into the same tokens as `rnix::tokenize`, working on bytes.
//!
//! Returns `None` for anything rnix would call an error token, and for any decision
//! that depends on a character outside ASCII (rnix then decides): the caller falls
//! back to rnix for such inputs, so only the token stream of valid ASCII-structured
//! input has to match rnix's exactly.

use rnix::SyntaxKind::{self, *};

/// A token: its kind and where its text starts (it ends where the next one starts).
#[derive(Clone, Copy, Debug)]
pub(super) struct Token {
    pub kind: SyntaxKind,
    pub start: u32,
}

/// What the lexer is inside of.
#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    /// A string body; `true` for an indented (`''`) string.
    Str(bool),
    /// `${ ... }`, with the count of `{` opened inside it and not yet closed.
    Interpol(u32),
    /// A path whose next part may follow right away (after an interpolation).
    Path(SyntaxKind),
}

/// How the text at a token start looks, from rnix's look-ahead heuristic.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Other,
    PathAbs,
    PathRel,
    PathHome,
    PathSearch,
    Uri,
}

// Character classes, looked up in one table: the lexer asks for every byte.
const PATH: u8 = 1;
const URI: u8 = 2;
const SPACE: u8 = 4;
const IDENT: u8 = 8;

const CLASSES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let mut k = 0;
        if c.is_ascii_alphanumeric() || matches!(c, b'/' | b'_' | b'.' | b'+' | b'-') {
            k |= PATH | URI;
        }
        if matches!(
            c,
            b'%' | b'?' | b':' | b'@' | b'&' | b'=' | b'$' | b',' | b'!' | b'~' | b'*' | b'\''
        ) {
            k |= URI;
        }
        // `char::is_whitespace` on ASCII.
        if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
            k |= SPACE;
        }
        if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'\'') {
            k |= IDENT;
        }
        t[b] = k;
        b += 1;
    }
    t
};

fn is(b: u8, class: u8) -> bool {
    CLASSES[b as usize] & class != 0
}

fn path_char(b: u8) -> bool {
    is(b, PATH)
}

fn uri_char(b: u8) -> bool {
    is(b, URI)
}

fn space(b: u8) -> bool {
    is(b, SPACE)
}

struct Lexer<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
    ctx: Vec<Ctx>,
    out: Vec<Token>,
}

/// The tokens of `text` followed by an end marker (kind `TOKEN_ERROR` at the text's
/// end), or `None` where rnix's tokens would contain an error or need a closer look.
pub(super) fn lex(text: &str) -> Option<Vec<Token>> {
    let mut lx = Lexer {
        text,
        b: text.as_bytes(),
        i: 0,
        ctx: Vec::new(),
        out: Vec::with_capacity(text.len() / 3),
    };
    lx.run()?;
    // An unclosed string or interpolation is a syntax error.
    if lx.ctx.iter().any(|c| !matches!(c, Ctx::Path(_))) {
        return None;
    }
    lx.out.push(Token {
        kind: TOKEN_ERROR,
        start: text.len() as u32,
    });
    Some(lx.out)
}

impl Lexer<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    fn push(&mut self, kind: SyntaxKind, start: usize) {
        self.out.push(Token {
            kind,
            start: start as u32,
        });
    }

    fn skip(&mut self, mut i: usize, f: impl Fn(u8) -> bool) -> usize {
        while i < self.b.len() && f(self.b[i]) {
            i += 1;
        }
        i
    }

    fn run(&mut self) -> Option<()> {
        loop {
            match self.ctx.last() {
                Some(&Ctx::Str(indented)) => {
                    self.string_part(indented)?;
                    continue;
                }
                Some(&Ctx::Path(kind)) => {
                    if self.b[self.i..].starts_with(b"${") {
                        self.push(TOKEN_INTERPOL_START, self.i);
                        self.i += 2;
                        self.ctx.push(Ctx::Interpol(0));
                        continue;
                    }
                    if self.at(self.i).is_some_and(path_char) {
                        let start = self.i;
                        self.path_rest(start, kind)?;
                        continue;
                    }
                    self.ctx.pop();
                }
                _ => {}
            }
            if self.i >= self.b.len() {
                return Some(());
            }
            self.token()?;
        }
    }

    /// The content from `start` (if any), then the `len`-byte `stop` token at `at`.
    fn string_stop(&mut self, start: usize, at: usize, stop: SyntaxKind, len: usize) {
        if at > start {
            self.push(TOKEN_STRING_CONTENT, start);
        }
        self.push(stop, at);
        self.i = at + len;
    }

    /// A piece of a string body, up to and including what ends it (the closing
    /// quote or a `${`).
    fn string_part(&mut self, indented: bool) -> Option<()> {
        let b = self.b;
        let start = self.i;
        let mut i = start;
        loop {
            let c = *b.get(i)?;
            match c {
                b'"' if !indented => {
                    self.string_stop(start, i, TOKEN_STRING_END, 1);
                    self.ctx.pop();
                    return Some(());
                }
                b'\\' if !indented => {
                    // Escapes any character; the rest of a multi-byte one is content.
                    b.get(i + 1)?;
                    i += 2;
                }
                b'\'' if indented => {
                    b.get(i + 1)?;
                    if b[i + 1] != b'\'' {
                        i += 1;
                        continue;
                    }
                    match b.get(i + 2) {
                        Some(b'\'' | b'$') => i += 3,
                        Some(b'\\') => {
                            b.get(i + 3)?;
                            i += 4;
                        }
                        _ => {
                            self.string_stop(start, i, TOKEN_STRING_END, 2);
                            self.ctx.pop();
                            return Some(());
                        }
                    }
                }
                b'$' => match b.get(i + 1) {
                    Some(b'$') => i += 2,
                    Some(b'{') => {
                        self.string_stop(start, i, TOKEN_INTERPOL_START, 2);
                        self.ctx.push(Ctx::Interpol(0));
                        return Some(());
                    }
                    _ => i += 1,
                },
                _ => i += 1,
            }
        }
    }

    /// The rest of a path token from `self.i`, the token having started at `start`.
    fn path_rest(&mut self, start: usize, kind: SyntaxKind) -> Option<()> {
        let end = self.skip(self.i, path_char);
        self.i = end;
        if self.b[end..].starts_with(b"${") {
            // The path goes on after the interpolation: the context stays.
        } else {
            let s = &self.b[start..end];
            if s.ends_with(b"/") || s.windows(2).any(|w| w == b"//") {
                return None;
            }
            self.ctx.pop();
        }
        self.push(kind, start);
        Some(())
    }

    /// rnix's guess of what a token starting at `i` is, from the text after it.
    fn shape(&self, i: usize) -> Option<Shape> {
        let b = self.b;
        let c = b[i];
        let next = self.at(i + 1);
        if c == b'/' {
            return Some(match next {
                Some(b'/') => Shape::Other,
                Some(b'$') if self.at(i + 2) == Some(b'{') => Shape::PathAbs,
                Some(n) if path_char(n) => Shape::PathAbs,
                _ => Shape::Other,
            });
        }
        if c == b'~' && next == Some(b'/') {
            return Some(Shape::PathHome);
        }
        let search = c == b'<';
        let mut j = i;
        let mut underscore = false;
        while let Some(&d) = b.get(j) {
            let ok = match d {
                b'<' | b'/' => search,
                _ => path_char(d),
            };
            if !ok {
                break;
            }
            underscore |= d == b'_';
            j += 1;
        }
        let after = self.at(j + 1);
        Some(match self.at(j) {
            Some(b'/') => match after {
                Some(b'/' | b'*') | None => Shape::Other,
                Some(d) if d >= 0x80 => {
                    let ch = self.text[j + 1..].chars().next()?;
                    if ch.is_whitespace() {
                        Shape::Other
                    } else {
                        Shape::PathRel
                    }
                }
                Some(d) if space(d) => Shape::Other,
                Some(_) => Shape::PathRel,
            },
            Some(b'>') => Shape::PathSearch,
            Some(b':') if after.is_some_and(uri_char) && !underscore => Shape::Uri,
            _ => Shape::Other,
        })
    }

    /// One token outside of strings.
    fn token(&mut self) -> Option<()> {
        let b = self.b;
        let start = self.i;
        let c = b[start];
        if c >= 0x80 {
            return None;
        }
        if space(c) {
            self.i = self.skip(start, space);
            self.push(TOKEN_WHITESPACE, start);
            return Some(());
        }
        if c == b'#' {
            self.i = memchr::memchr(b'\n', &b[start..]).map_or(b.len(), |n| start + n);
            self.push(TOKEN_COMMENT, start);
            return Some(());
        }
        let next = self.at(start + 1);
        if c == b'/' && next == Some(b'*') {
            let end = block_comment_end(&b[start + 2..])?;
            self.i = start + 2 + end + 2;
            self.push(TOKEN_COMMENT, start);
            return Some(());
        }
        if b[start..].starts_with(b"...") {
            self.i = start + 3;
            self.push(TOKEN_ELLIPSIS, start);
            return Some(());
        }
        let shape = self.shape(start)?;
        let mut i = start + 1;
        if c == b'/' && next == Some(b'/') {
            self.i = start + 2;
            self.push(TOKEN_UPDATE, start);
            return Some(());
        }
        if c == b'~'
            || matches!(shape, Shape::PathAbs | Shape::PathRel)
            || (c == b'/' && next.is_some_and(path_char))
        {
            let kind = if c == b'~' {
                if next != Some(b'/') {
                    return None;
                }
                i += 1;
                TOKEN_PATH_HOME
            } else if c == b'/' {
                TOKEN_PATH_ABS
            } else {
                TOKEN_PATH_REL
            };
            self.ctx.push(Ctx::Path(kind));
            self.i = i;
            return self.path_rest(start, kind);
        }
        let two = |k| (k, 2);
        let (kind, len) = match (c, next) {
            (b'=', Some(b'=')) => two(TOKEN_EQUAL),
            (b'!', Some(b'=')) => two(TOKEN_NOT_EQUAL),
            (b'!', _) => (TOKEN_INVERT, 1),
            (b'{', _) => {
                if let Some(Ctx::Interpol(n)) = self.ctx.last_mut() {
                    *n += 1;
                }
                (TOKEN_L_BRACE, 1)
            }
            (b'}', _) => match self.ctx.last_mut() {
                Some(Ctx::Interpol(0)) => {
                    self.ctx.pop();
                    (TOKEN_INTERPOL_END, 1)
                }
                Some(Ctx::Interpol(n)) => {
                    *n -= 1;
                    (TOKEN_R_BRACE, 1)
                }
                _ => (TOKEN_R_BRACE, 1),
            },
            (b'[', _) => (TOKEN_L_BRACK, 1),
            (b']', _) => (TOKEN_R_BRACK, 1),
            (b'@', _) => (TOKEN_AT, 1),
            (b':', _) => (TOKEN_COLON, 1),
            (b',', _) => (TOKEN_COMMA, 1),
            (b'.', Some(d)) if d.is_ascii_digit() => {
                let end = self.skip(start + 1, |d| d.is_ascii_digit());
                return self.float_end(start, end);
            }
            (b'.', _) => (TOKEN_DOT, 1),
            (b'=', _) => (TOKEN_ASSIGN, 1),
            (b'?', _) => (TOKEN_QUESTION, 1),
            (b';', _) => (TOKEN_SEMICOLON, 1),
            (b'(', _) => (TOKEN_L_PAREN, 1),
            (b')', _) => (TOKEN_R_PAREN, 1),
            (b'+', Some(b'+')) => two(TOKEN_CONCAT),
            (b'-', Some(b'>')) => two(TOKEN_IMPLICATION),
            (b'+', _) => (TOKEN_ADD, 1),
            (b'-', _) => (TOKEN_SUB, 1),
            (b'*', _) => (TOKEN_MUL, 1),
            (b'/', _) => (TOKEN_DIV, 1),
            (b'<', Some(b'|')) => two(TOKEN_PIPE_LEFT),
            (b'<', _) if shape == Shape::PathSearch => {
                let end = self.skip(start + 1, path_char);
                if end == start + 1 {
                    (TOKEN_LESS, 1)
                } else if self.at(end) != Some(b'>') {
                    return None;
                } else {
                    (TOKEN_PATH_SEARCH, end + 1 - start)
                }
            }
            (b'&', Some(b'&')) => two(TOKEN_AND_AND),
            (b'|', Some(b'>')) => two(TOKEN_PIPE_RIGHT),
            (b'|', Some(b'|')) => two(TOKEN_OR_OR),
            (b'<', Some(b'=')) => two(TOKEN_LESS_OR_EQ),
            (b'<', _) => (TOKEN_LESS, 1),
            (b'>', Some(b'=')) => two(TOKEN_MORE_OR_EQ),
            (b'>', _) => (TOKEN_MORE, 1),
            (b'$', Some(b'{')) => {
                self.ctx.push(Ctx::Interpol(0));
                two(TOKEN_INTERPOL_START)
            }
            (b'a'..=b'z' | b'A'..=b'Z' | b'_', _) => {
                let uri = shape == Shape::Uri;
                let class = if uri { IDENT | URI } else { IDENT };
                let end = self.skip(start + 1, |d| is(d, class));
                let kind = if uri {
                    TOKEN_URI
                } else {
                    keyword(&b[start..end])
                };
                (kind, end - start)
            }
            (b'"', _) => {
                self.ctx.push(Ctx::Str(false));
                (TOKEN_STRING_START, 1)
            }
            (b'\'', Some(b'\'')) => {
                self.ctx.push(Ctx::Str(true));
                two(TOKEN_STRING_START)
            }
            (b'0'..=b'9', _) => {
                let end = self.skip(start + 1, |d| d.is_ascii_digit());
                if (c == b'0' && next != Some(b'.')) || self.at(end) != Some(b'.') {
                    (TOKEN_INTEGER, end - start)
                } else {
                    let end = self.skip(end + 1, |d| d.is_ascii_digit());
                    return self.float_end(start, end);
                }
            }
            _ => return None,
        };
        self.i = start + len;
        self.push(kind, start);
        Some(())
    }

    /// Ends a float whose digits run to `end`, taking an exponent if there is one.
    fn float_end(&mut self, start: usize, mut end: usize) -> Option<()> {
        if matches!(self.at(end), Some(b'e' | b'E')) {
            end += 1;
            if matches!(self.at(end), Some(b'+' | b'-')) {
                end += 1;
            }
            let digits = self.skip(end, |d| d.is_ascii_digit());
            if digits == end {
                return None;
            }
            end = digits;
        }
        self.i = end;
        self.push(TOKEN_FLOAT, start);
        Some(())
    }
}

fn keyword(s: &[u8]) -> SyntaxKind {
    match s {
        b"assert" => TOKEN_ASSERT,
        b"else" => TOKEN_ELSE,
        b"if" => TOKEN_IF,
        b"in" => TOKEN_IN,
        b"inherit" => TOKEN_INHERIT,
        b"let" => TOKEN_LET,
        b"or" => TOKEN_OR,
        b"rec" => TOKEN_REC,
        b"then" => TOKEN_THEN,
        b"with" => TOKEN_WITH,
        _ => TOKEN_IDENT,
    }
}

/// Where `*/` starts in `hay`: found by its `/`, a memchr (comments are nearly half
/// of nixpkgs' text, so scanning them byte by byte shows).
fn block_comment_end(hay: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'/', hay)
        .find(|&i| i > 0 && hay[i - 1] == b'*')
        .map(|i| i - 1)
}
