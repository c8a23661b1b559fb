//! Formatter for the official Nix style (RFC 166, whose reference implementation is
//! nixfmt), working on rnix's rowan syntax tree.
//!
//! `format` formats a whole document, `format_range` the smallest nodes covering a byte
//! range (for editors). Both map source text to source text and know nothing about
//! files, evaluation or editor protocols. What `tvix fmt` does with files on disk
//! (walking directories, formatting in parallel, atomic writes, check and diff
//! reports) is in `run` and `files`, apart from the formatting itself.

mod ast;
mod build;
mod directives;
pub mod doc;
pub mod files;
mod pretty;
mod range;
pub mod run;
mod strings;
mod trivia;

pub use range::{format_range, RangeEdit};

/// Formatting options. The defaults are those of the reference formatter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Maximum line width, counted from the indentation of each line.
    pub width: usize,
    /// Spaces per indentation level.
    pub indent: usize,
    /// Ignore the original layout (line positions) entirely.
    pub strict: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            width: 100,
            indent: 2,
            strict: false,
        }
    }
}

/// Why a source could not be formatted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The source is not valid Nix. `line` and `column` are 1-based; column counts chars.
    #[error("syntax error at {line}:{column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        offset: usize,
        message: String,
    },
}

impl FormatError {
    fn at(src: &str, offset: usize, message: String) -> Self {
        let offset = offset.min(src.len());
        let before = &src[..floor_char_boundary(src, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = before[line_start..].chars().count() + 1;
        FormatError::Syntax {
            line,
            column,
            offset,
            message,
        }
    }

    /// 1-based line and column of the error.
    pub fn location(&self) -> (usize, usize) {
        match self {
            FormatError::Syntax { line, column, .. } => (*line, *column),
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Parse `source` with rnix, reporting the first syntax error with its location.
pub(crate) fn parse(source: &str) -> Result<rnix::SyntaxNode, FormatError> {
    let parsed = rnix::Root::parse(source);
    if let Some(e) = parsed.errors().first() {
        let offset = error_offset(e).unwrap_or(source.len());
        return Err(FormatError::at(source, offset, e.to_string()));
    }
    let root = parsed.syntax();
    validate::check(source, &root)?;
    Ok(root)
}

fn error_offset(e: &rnix::ParseError) -> Option<usize> {
    use rnix::ParseError::*;
    match e {
        Unexpected(r)
        | UnexpectedExtra(r)
        | UnexpectedWanted(_, r, _)
        | UnexpectedDoubleBind(r)
        | DuplicatedArgs(r, _) => Some(usize::from(r.start())),
        _ => None,
    }
}

mod validate;

/// Format a whole Nix document.
pub fn format(source: &str, options: &Options) -> Result<String, FormatError> {
    // An empty file is not an expression, but there is nothing to complain about.
    if source.trim().is_empty() {
        return Ok(String::new());
    }
    let root = parse(source)?;
    format_node_tree(source, &root, options)
}

fn format_node_tree(
    source: &str,
    root: &rnix::SyntaxNode,
    options: &Options,
) -> Result<String, FormatError> {
    let mut b = build::Builder::new(source, root, options.strict);
    let whole = b
        .file(root)
        .map_err(|build::Unsupported(off, msg)| FormatError::at(source, off, msg))?;
    let d = pretty::whole(&whole);
    Ok(directives::restore(
        source,
        doc::layout(d, options.width, options.indent),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_defaults() {
        let out = format("let x=1;in x", &Options::default()).unwrap();
        assert_eq!(out, "let\n  x = 1;\nin\nx\n");
    }

    #[test]
    fn indent_option() {
        let opts = Options {
            indent: 4,
            ..Options::default()
        };
        assert_eq!(
            format("{a=1;b=2;}", &opts).unwrap(),
            "{\n    a = 1;\n    b = 2;\n}\n"
        );
    }

    #[test]
    fn width_option() {
        let src = "aaaa + bbbbbbbb + cccccccc";
        assert_eq!(
            format(src, &Options::default()).unwrap(),
            "aaaa + bbbbbbbb + cccccccc\n"
        );
        let narrow = Options {
            width: 10,
            ..Options::default()
        };
        assert_eq!(
            format(src, &narrow).unwrap(),
            "aaaa\n+ bbbbbbbb\n+ cccccccc\n"
        );
    }

    #[test]
    fn syntax_error_location() {
        let err = format("{\n  a = 1;\n  b = ;\n}\n", &Options::default()).unwrap_err();
        assert_eq!(err.location(), (3, 7));
    }

    #[test]
    fn path_then_spaced_interpolation_is_refused_not_joined() {
        let cases = [
            ("[ /a ${x} ]", (1, 6)),
            ("[ a/b /* c */ ${x} ]", (1, 15)),
            ("[ ~/b\n  ${x} ]", (2, 3)),
        ];
        for (src, at) in cases {
            let err = format(src, &Options::default()).unwrap_err();
            assert_eq!(err.location(), at, "{src}: {err}");
        }
        assert_eq!(format("/a${x}", &Options::default()).unwrap(), "/a${x}\n");
    }

    #[test]
    fn empty_input_is_fine() {
        assert_eq!(format("  \n", &Options::default()).unwrap(), "");
    }
}
