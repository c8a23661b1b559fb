//! Syntax that rnix accepts but Nix (and the reference formatter) rejects.

use rnix::{SyntaxKind::*, SyntaxNode};

use crate::FormatError;

pub fn check(src: &str, root: &SyntaxNode) -> Result<(), FormatError> {
    for n in root.descendants() {
        if let Some((offset, msg)) = invalid(&n) {
            return Err(FormatError::at(src, offset, msg.to_string()));
        }
    }
    Ok(())
}

/// The offset and message of what is wrong with `n` itself, if anything.
fn invalid(n: &SyntaxNode) -> Option<(usize, &'static str)> {
    let start = usize::from(n.text_range().start());
    match n.kind() {
        NODE_ERROR => Some((start, "invalid syntax")),
        // `inherit ${x};` only allows a plain string inside the interpolation
        NODE_DYNAMIC
            if n.parent().is_some_and(|p| p.kind() == NODE_INHERIT)
                && n.children().next().is_none_or(|c| c.kind() != NODE_STRING) =>
        {
            Some((start, "only a string may be interpolated in `inherit`"))
        }
        // `/a ${x}`: rnix keeps the space inside the path node, and formatting it
        // would silently join the two into `/a${x}`. Nix rejects it at the `${`.
        NODE_PATH_ABS | NODE_PATH_REL | NODE_PATH_HOME => {
            let mut children = n.children_with_tokens();
            children.find(|c| matches!(c.kind(), TOKEN_WHITESPACE | TOKEN_COMMENT))?;
            let interpolation =
                children.find(|c| !matches!(c.kind(), TOKEN_WHITESPACE | TOKEN_COMMENT))?;
            Some((
                usize::from(interpolation.text_range().start()),
                "unexpected '${' after a path: an interpolation must follow the path with no space between",
            ))
        }
        _ => None,
    }
}
