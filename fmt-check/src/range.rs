//! Formatting part of a document: the smallest expression covering a byte range is
//! formatted on its own and re-indented to where it starts.

use rnix::{SyntaxKind::*, SyntaxNode, TextRange, TextSize};

use crate::{FormatError, Options};

/// Replace `range` (byte offsets into the original source) with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeEdit {
    pub range: std::ops::Range<usize>,
    pub text: String,
}

fn is_expression(n: &SyntaxNode) -> bool {
    matches!(
        n.kind(),
        NODE_APPLY
            | NODE_ASSERT
            | NODE_ATTR_SET
            | NODE_BIN_OP
            | NODE_HAS_ATTR
            | NODE_IDENT
            | NODE_IF_ELSE
            | NODE_LAMBDA
            | NODE_LET_IN
            | NODE_LIST
            | NODE_LITERAL
            | NODE_PAREN
            | NODE_PATH_ABS
            | NODE_PATH_HOME
            | NODE_PATH_REL
            | NODE_PATH_SEARCH
            | NODE_SELECT
            | NODE_STRING
            | NODE_UNARY_OP
            | NODE_WITH
    )
}

/// Format the smallest expression that covers `range` and return the edit to apply.
/// A range that covers the whole document (or no single expression) formats it all.
pub fn format_range(
    source: &str,
    range: std::ops::Range<usize>,
    options: &Options,
) -> Result<RangeEdit, FormatError> {
    let root = crate::parse(source)?;
    let start = range.start.min(source.len());
    let end = range.end.clamp(start, source.len());
    let target = TextRange::new(TextSize::from(start as u32), TextSize::from(end as u32));
    let covering = root.covering_element(target);
    let mut node = match covering {
        rnix::NodeOrToken::Node(n) => Some(n),
        rnix::NodeOrToken::Token(t) => t.parent(),
    };
    while let Some(n) = node.clone() {
        if n.kind() == NODE_ROOT {
            break;
        }
        if is_expression(&n) && n.text_range().contains_range(target) {
            let r = n.text_range();
            let (s, e) = (usize::from(r.start()), usize::from(r.end()));
            let piece = &source[s..e];
            // Parent context decides whether the piece stands alone; it always does for
            // an expression node, but fall back to the parent if rnix disagrees.
            if let Ok(formatted) = crate::format(piece, options) {
                let indent = line_indent(source, s);
                let mut text = String::new();
                for (i, l) in formatted.trim_end_matches('\n').split('\n').enumerate() {
                    if i > 0 {
                        text.push('\n');
                        if !l.is_empty() {
                            text.push_str(&indent);
                        }
                    }
                    text.push_str(l);
                }
                return Ok(RangeEdit { range: s..e, text });
            }
        }
        node = n.parent();
    }
    let text = crate::format(source, options)?;
    Ok(RangeEdit {
        range: 0..source.len(),
        text,
    })
}

/// The leading spaces of the line holding `offset`.
fn line_indent(src: &str, offset: usize) -> String {
    let ls = src[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    src[ls..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_only_the_enclosing_expression() {
        let src = "{\n  a = [1   2];\n  b   =   { c=1; d=2; };\n}\n";
        let start = src.find("c=1").unwrap();
        let edit = format_range(src, start..start + 3, &Options::default()).unwrap();
        // the smallest expression covering `c=1` is the inner attribute set
        assert_eq!(&src[edit.range.clone()], "{ c=1; d=2; }");
        assert_eq!(edit.text, "{\n    c = 1;\n    d = 2;\n  }");
        let mut out = src.to_string();
        out.replace_range(edit.range, &edit.text);
        assert!(
            out.contains("a = [1   2];"),
            "outside the range is untouched: {out}"
        );
    }

    #[test]
    fn whole_document_when_range_covers_everything() {
        let src = "{a=1;}";
        let edit = format_range(src, 0..src.len(), &Options::default()).unwrap();
        assert_eq!(edit.range, 0..src.len());
        assert_eq!(edit.text, "{ a = 1; }");
    }

    #[test]
    fn syntax_error_has_location() {
        let err = format_range("{\n  a = ;\n}", 0..1, &Options::default()).unwrap_err();
        assert_eq!(err.location().0, 2);
    }
}
