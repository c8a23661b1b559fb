//! Parsing source text with rnix, with the fixes that make its tree match what C++ Nix
//! accepts, and syntax errors located for the user.

use std::sync::Arc;

use rowan::ast::AstNode;

use crate::compiled::{SourceFile, Span};
use crate::errors::{ErrorKind, EvalError, Location};

/// Parse a file into a tree that the rest of the evaluator may trust: the first
/// syntax error, located, if there is one.
pub fn parse_file(file: &Arc<SourceFile>) -> Result<rnix::Root, EvalError> {
    // Our own parser builds rnix's tree for most valid input, faster; it declines
    // anything else, and rnix then parses (and reports the errors).
    if !file.text.contains('\r') {
        if let Some(green) = crate::parser::parse(&file.text) {
            let node = rnix::SyntaxNode::new_root(green);
            if let Some(root) = rnix::Root::cast(node) {
                return Ok(root);
            }
        }
    }
    let parse = parse_source(&file.text);
    if let Some(err) = parse.errors().first() {
        return Err(parse_error(file, err));
    }
    let root = parse.tree();
    if let Some(at) = spaced_path_interpolation(&file.text, &root) {
        let msg = "unexpected '${' after a path: an interpolation must follow the path \
                   with no space between";
        return Err(located(file, msg.to_string(), at));
    }
    Ok(root)
}

/// rnix accepts `/a ${x}` as one path, keeping the space inside the path node (its
/// accessors then panic). C++ Nix rejects it at the `${`; so do we.
///
/// In such a path the trivia is followed by an interpolation, so only a `${` right
/// after whitespace or a comment can be one: those few places are looked up in the
/// tree, rather than walking all of it. The first in the text is the one reported.
fn spaced_path_interpolation(text: &str, root: &rnix::Root) -> Option<rnix::TextRange> {
    let green = root.syntax().green();
    // `match_indices("${")` runs a substring search; finding the `$` is a memchr.
    text.match_indices('$')
        .map(|(at, _)| at)
        .filter(|&at| text.as_bytes().get(at + 1) == Some(&b'{'))
        .filter(|&at| {
            let before = &text[..at];
            before.ends_with("*/") || before.chars().next_back().is_some_and(char::is_whitespace)
        })
        .map(|at| rnix::TextSize::from(at as u32))
        .find(|&at| after_trivia_in_path(green, at))
        .map(|at| rnix::TextRange::at(at, 2.into()))
}

/// Whether a child of a path node starts at `at` right after trivia. Descends the
/// green tree, which needs no cursor allocated per step.
fn after_trivia_in_path(root: &rowan::GreenNodeData, at: rnix::TextSize) -> bool {
    use rnix::SyntaxKind::*;
    use rowan::NodeOrToken;
    let raw = |k: rnix::SyntaxKind| rowan::SyntaxKind(k as u16);
    let paths = [raw(NODE_PATH_ABS), raw(NODE_PATH_REL), raw(NODE_PATH_HOME)];
    let trivia = [raw(TOKEN_WHITESPACE), raw(TOKEN_COMMENT)];
    let mut node = root;
    let mut start = rnix::TextSize::from(0);
    'descend: loop {
        let is_path = paths.contains(&node.kind());
        let mut after_trivia = false;
        for child in node.children() {
            if is_path && after_trivia && start == at {
                return true;
            }
            let len = match child {
                NodeOrToken::Node(n) => n.text_len(),
                NodeOrToken::Token(t) => t.text_len(),
            };
            if at < start + len {
                match child {
                    NodeOrToken::Node(n) => {
                        node = n;
                        continue 'descend;
                    }
                    NodeOrToken::Token(_) => return false,
                }
            }
            after_trivia = trivia.contains(&child.kind());
            start += len;
        }
        return false;
    }
}

/// Parse, treating a lone carriage return as the end of a `#` comment, as C++ Nix's
/// lexer does (rnix only ends comments at `\n`). Byte offsets are unchanged.
fn parse_source(text: &str) -> rnix::Parse<rnix::Root> {
    if !text.contains('\r') {
        return rnix::Root::parse(text);
    }
    let mut bytes = text.as_bytes().to_vec();
    let mut offset = 0;
    for (kind, tok) in rnix::tokenize(text) {
        if kind == rnix::SyntaxKind::TOKEN_COMMENT && tok.starts_with('#') {
            for (i, b) in tok.bytes().enumerate() {
                if b == b'\r' && tok.as_bytes().get(i + 1) != Some(&b'\n') {
                    bytes[offset + i] = b'\n';
                }
            }
        }
        offset += tok.len();
    }
    match String::from_utf8(bytes) {
        Ok(fixed) => rnix::Root::parse(&fixed),
        Err(_) => rnix::Root::parse(text),
    }
}

fn parse_error(file: &Arc<SourceFile>, err: &rnix::ParseError) -> EvalError {
    use rnix::ParseError as P;
    let len = file.text.len() as u32;
    let (msg, span) = match err {
        P::Unexpected(r) => ("unexpected token".to_string(), Some(*r)),
        P::UnexpectedExtra(r) => (
            "unexpected token after the expression".to_string(),
            Some(*r),
        ),
        P::UnexpectedWanted(got, r, want) => (
            format!(
                "unexpected {}, expected {}",
                kind_name(*got),
                want_list(want)
            ),
            Some(*r),
        ),
        P::UnexpectedDoubleBind(r) => ("pattern bound twice".to_string(), Some(*r)),
        P::UnexpectedEOF => ("unexpected end of file".to_string(), None),
        P::UnexpectedEOFWanted(want) => (
            format!("unexpected end of file, expected {}", want_list(want)),
            None,
        ),
        P::DuplicatedArgs(r, name) => (
            format!("duplicate formal function argument '{name}'"),
            Some(*r),
        ),
        P::RecursionLimitExceeded => ("expression nested too deeply".to_string(), None),
        other => (other.to_string(), None),
    };
    let span = match span {
        Some(r) => r,
        None => rnix::TextRange::empty(len.into()),
    };
    located(file, msg, span)
}

fn located(file: &Arc<SourceFile>, msg: String, r: rnix::TextRange) -> EvalError {
    let span = Span {
        start: r.start().into(),
        end: r.end().into(),
    };
    EvalError::new(
        ErrorKind::Parse(msg),
        Some(Location {
            file: file.clone(),
            span,
        }),
    )
}

fn kind_name(k: rnix::SyntaxKind) -> String {
    format!("{k:?}")
        .trim_start_matches("TOKEN_")
        .trim_start_matches("NODE_")
        .to_lowercase()
        .replace('_', " ")
}

fn want_list(w: &[rnix::SyntaxKind]) -> String {
    let v: Vec<String> = w.iter().map(|k| kind_name(*k)).collect();
    v.join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where parsing `src` fails, as (start, end) byte offsets.
    fn error_span(src: &str) -> Option<(u32, u32)> {
        let file = Arc::new(SourceFile::from_bytes(
            "t.nix".into(),
            src.as_bytes(),
            "/".into(),
        ));
        let err = parse_file(&file).err()?;
        let span = err.location?.span;
        Some((span.start, span.end))
    }

    #[test]
    fn a_spaced_path_interpolation_is_rejected_at_its_dollar() {
        assert_eq!(error_span("/a ${x}"), Some((3, 5)));
        assert_eq!(error_span("/a #c\n${x}"), Some((6, 8)));
        // After a block comment, or a whitespace character outside ASCII.
        assert_eq!(error_span("/a /*c*/${x}"), Some((8, 10)));
        assert_eq!(error_span("./a\u{a0}${x}"), Some((5, 7)));
        // A spaced `${` in a string before the path is no reason.
        assert_eq!(error_span("\"a ${b}\" + ./x ${y}"), Some((15, 17)));
        // Found inside other expressions, and the first one is the one reported.
        assert_eq!(
            error_span("[ ./ok${x} (f ./b ${y}) ./c ${z} ]"),
            Some((18, 20))
        );
        // Inside the interpolation of a path that is itself fine.
        assert_eq!(error_span("./a${./b ${c}}"), Some((9, 11)));
        assert_eq!(error_span("[ ./a${x} /b/c ./d/${e}/f ]"), None);
    }
}
