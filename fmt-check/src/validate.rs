//! Syntax that rnix accepts but Nix (and the reference formatter) rejects.

use rnix::{SyntaxKind::*, SyntaxNode};

use crate::FormatError;

pub fn check(src: &str, root: &SyntaxNode) -> Result<(), FormatError> {
    for n in root.descendants() {
        if let Some(msg) = invalid(&n) {
            return Err(FormatError::at(
                src,
                usize::from(n.text_range().start()),
                msg.to_string(),
            ));
        }
    }
    Ok(())
}

fn invalid(n: &SyntaxNode) -> Option<&'static str> {
    match n.kind() {
        NODE_ERROR => Some("invalid syntax"),
        // `inherit ${x};` only allows a plain string inside the interpolation
        NODE_DYNAMIC
            if n.parent().is_some_and(|p| p.kind() == NODE_INHERIT)
                && n.children().next().is_none_or(|c| c.kind() != NODE_STRING) =>
        {
            Some("only a string may be interpolated in `inherit`")
        }
        _ => None,
    }
}
