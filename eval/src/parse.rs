//! Parsing source text with rnix, with the fixes that make its tree match what C++ Nix
//! accepts, and syntax errors located for the user.

use std::sync::Arc;

use rowan::ast::AstNode;

use crate::compiled::{SourceFile, Span};
use crate::errors::{ErrorKind, EvalError, Location};

/// Parse a file into a tree that the rest of the evaluator may trust: the first
/// syntax error, located, if there is one.
pub fn parse_file(file: &Arc<SourceFile>) -> Result<rnix::Root, EvalError> {
    let parse = parse_source(&file.text);
    if let Some(err) = parse.errors().first() {
        return Err(parse_error(file, err));
    }
    let root = parse.tree();
    if let Some(at) = spaced_path_interpolation(&root) {
        let msg = "unexpected '${' after a path: an interpolation must follow the path \
                   with no space between";
        return Err(located(file, msg.to_string(), at));
    }
    Ok(root)
}

/// rnix accepts `/a ${x}` as one path, keeping the space inside the path node (its
/// accessors then panic). C++ Nix rejects it at the `${`; so do we.
fn spaced_path_interpolation(root: &rnix::Root) -> Option<rnix::TextRange> {
    use rnix::SyntaxKind::*;
    let paths = root
        .syntax()
        .descendants()
        .filter(|n| matches!(n.kind(), NODE_PATH_ABS | NODE_PATH_REL | NODE_PATH_HOME));
    for path in paths {
        let mut after_trivia = false;
        for child in path.children_with_tokens() {
            match child.kind() {
                TOKEN_WHITESPACE | TOKEN_COMMENT => after_trivia = true,
                _ if after_trivia => {
                    let start = child.text_range().start();
                    return Some(rnix::TextRange::at(start, 2.into()));
                }
                _ => {}
            }
        }
    }
    None
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
