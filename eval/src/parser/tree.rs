//! Builds a rowan green tree. rowan's own builder looks every token and small node
//! up in a hash table to share equal ones; a parse of one file rarely gains from
//! that what the hashing costs, so this one shares only tokens whose text is fixed
//! by their kind (keywords, punctuation) and the common runs of spaces.

use rnix::SyntaxKind;
use rowan::{GreenNode, GreenToken, NodeOrToken};

/// Where a node may later be started around what follows (as in rowan's builder).
#[derive(Clone, Copy)]
pub(super) struct Checkpoint(usize);

#[derive(Default)]
pub(super) struct Builder {
    children: Vec<NodeOrToken<GreenNode, GreenToken>>,
    /// Open nodes: their kind and where their children start in `children`.
    parents: Vec<(SyntaxKind, usize)>,
    /// Tokens with fixed text, by kind.
    fixed: Vec<Option<GreenToken>>,
    /// Whitespace: `n` spaces at `[n]`, a newline and `n` spaces at `[64 + n]`.
    spaces: Vec<Option<GreenToken>>,
}

fn raw(kind: SyntaxKind) -> rowan::SyntaxKind {
    rowan::SyntaxKind(kind as u16)
}

/// Whether every token of `kind` has the same text.
fn fixed_text(kind: SyntaxKind) -> bool {
    use SyntaxKind::*;
    !matches!(
        kind,
        TOKEN_COMMENT
            | TOKEN_ERROR
            | TOKEN_FLOAT
            | TOKEN_IDENT
            | TOKEN_INTEGER
            | TOKEN_PATH_ABS
            | TOKEN_PATH_HOME
            | TOKEN_PATH_REL
            | TOKEN_PATH_SEARCH
            | TOKEN_STRING_CONTENT
            | TOKEN_STRING_END
            | TOKEN_STRING_START
            | TOKEN_URI
            | TOKEN_WHITESPACE
            | TOKEN_CUR_POS
    ) && (kind as u16) < (NODE_APPLY as u16)
}

/// The slot in `Builder::spaces` for whitespace `text`, if it has one.
fn space_slot(text: &str) -> Option<usize> {
    let (base, rest) = match text.strip_prefix('\n') {
        Some(rest) => (64, rest),
        None => (0, text),
    };
    (rest.len() < 64 && rest.bytes().all(|b| b == b' ')).then(|| base + rest.len())
}

impl Builder {
    pub(super) fn token(&mut self, kind: SyntaxKind, text: &str) {
        let slot = if kind == SyntaxKind::TOKEN_WHITESPACE {
            space_slot(text).map(|s| (true, s))
        } else if fixed_text(kind) {
            Some((false, kind as usize))
        } else {
            None
        };
        let token = match slot {
            None => GreenToken::new(raw(kind), text),
            Some((space, i)) => {
                let table = if space {
                    &mut self.spaces
                } else {
                    &mut self.fixed
                };
                if table.len() <= i {
                    table.resize(i + 1, None);
                }
                table[i]
                    .get_or_insert_with(|| GreenToken::new(raw(kind), text))
                    .clone()
            }
        };
        self.children.push(NodeOrToken::Token(token));
    }

    pub(super) fn start_node(&mut self, kind: SyntaxKind) {
        self.parents.push((kind, self.children.len()));
    }

    pub(super) fn checkpoint(&self) -> Checkpoint {
        Checkpoint(self.children.len())
    }

    pub(super) fn start_node_at(&mut self, at: Checkpoint, kind: SyntaxKind) {
        self.parents.push((kind, at.0));
    }

    pub(super) fn finish_node(&mut self) {
        let (kind, start) = self.parents.pop().expect("a node is open");
        let node = GreenNode::new(raw(kind), self.children.drain(start..));
        self.children.push(NodeOrToken::Node(node));
    }

    /// The root, once all nodes are finished.
    pub(super) fn finish(mut self) -> GreenNode {
        match self.children.pop() {
            Some(NodeOrToken::Node(root)) if self.parents.is_empty() => root,
            _ => unreachable!("the root is finished last"),
        }
    }
}
