//! A parser that builds the same syntax tree as `rnix::Root::parse`, faster: a lexer
//! over bytes and a recursive descent that adds tokens to the tree as it goes.
//!
//! It handles only input that rnix parses without errors, and not all of it: on
//! anything else it returns `None` and the caller parses with rnix, whose error
//! messages and positions we keep. Its trees are checked against rnix's on the
//! test corpora and by the fuzzer.

mod grammar;
mod lexer;
mod tree;

use rowan::GreenNode;

/// The tree rnix would build for `text`, if we are sure of it; `None` leaves the
/// input to rnix.
pub fn parse(text: &str) -> Option<GreenNode> {
    let toks = lexer::lex(text)?;
    grammar::Parser::new(text, toks).parse_root()
}
