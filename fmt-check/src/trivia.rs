//! Turning the whitespace and comments between two tokens into trivia: which comment
//! trails the previous token on its line, and which lead the next one.

use crate::ast::{Trivia, Trivium};

/// One piece of raw trivia, before it is split into trailing and leading.
#[derive(Debug, Clone)]
pub enum Raw {
    Newlines(u32),
    /// Text after `#` (right-trimmed), 1-based column of the `#`.
    LineComment(String, u32),
    BlockComment(bool, Vec<String>),
    LanguageAnnotation(String),
    Directive(bool),
}

/// Normalise a block comment: `text` is the whole `/* ... */`, `col0` its 0-based column.
pub fn block_comment(text: &str, col0: usize) -> Raw {
    let inner = &text[2..text.len().saturating_sub(2).max(2)];
    let (is_doc, body) = if inner.starts_with('*') && text.len() > 4 {
        (true, &inner[1..])
    } else {
        (false, inner)
    };
    let body = body.replace("\r\n", "\n");
    let mut lines: Vec<String> = body.lines().map(|l| l.trim_end().to_string()).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    // Remove a column of aligned stars.
    if lines.len() > 1 {
        let start = format!("{} *", " ".repeat(col0));
        if lines[1..].iter().all(|l| l.starts_with(&start)) {
            let new_start = " ".repeat(col0);
            for l in lines[1..].iter_mut() {
                *l = format!("{}{}", new_start, &l[start.len()..]);
            }
        }
    }
    let mut lines: Vec<String> = lines
        .into_iter()
        .map(|l| l.trim_end().to_string())
        .collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    // Strip the common indentation of the lines after the first.
    if let Some((h, t)) = lines.split_first() {
        let offset = if h.starts_with(' ') {
            col0 + 3
        } else {
            col0 + 2
        };
        let n = t
            .iter()
            .filter(|l| !l.chars().all(|c| c == ' '))
            .map(|l| l.len() - l.trim_start_matches(' ').len())
            .fold(offset, usize::min);
        let prefix = " ".repeat(n);
        let mut out = vec![h.trim().to_string()];
        for l in t {
            out.push(match l.strip_prefix(&prefix) {
                Some(r) => r.to_string(),
                None => l.trim_start().to_string(),
            });
        }
        lines = out;
    }
    while lines.first().is_some_and(|l| l.is_empty()) {
        lines.remove(0);
    }
    Raw::BlockComment(is_doc, lines)
}

pub fn is_language_identifier(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty()
        && s.chars().count() <= 30
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '+' | '.' | '_'))
}

fn convert_leading(pts: &[Raw]) -> Trivia {
    let mut out = Vec::new();
    for p in pts {
        match p {
            Raw::Newlines(1) => {}
            Raw::Newlines(_) => out.push(Trivium::EmptyLine),
            Raw::LineComment(c, _) => out.push(Trivium::LineComment(c.clone())),
            Raw::BlockComment(_, ls) if ls.is_empty() => {}
            Raw::BlockComment(false, ls) if ls.len() == 1 => {
                out.push(Trivium::LineComment(format!(" {}", ls[0].trim())))
            }
            Raw::BlockComment(d, ls) => out.push(Trivium::BlockComment(*d, ls.clone())),
            Raw::LanguageAnnotation(c) => out.push(Trivium::LanguageAnnotation(c.clone())),
            Raw::Directive(d) => out.push(Trivium::Directive(*d)),
        }
    }
    out
}

fn is_trailing(p: &Raw) -> bool {
    match p {
        Raw::LineComment(..) => true,
        Raw::BlockComment(false, ls) => ls.len() <= 1,
        _ => false,
    }
}

fn convert_trailing(pts: &[Raw]) -> Option<String> {
    let parts: Vec<String> = pts
        .iter()
        .map(|p| match p {
            Raw::LineComment(c, _) => c.trim().to_string(),
            Raw::BlockComment(false, ls) if ls.len() == 1 => ls[0].trim().to_string(),
            _ => String::new(),
        })
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        None
    } else {
        Some(parts.join(" "))
    }
}

/// Split raw trivia after a token into its trailing comment and the leading trivia of
/// the next token (`next_col`: 1-based column of the next token).
pub fn split(pts: &[Raw], next_col: u32) -> (Option<String>, Trivia) {
    let n = pts.iter().take_while(|p| is_trailing(p)).count();
    let (trailing, leading) = pts.split_at(n);
    if let [Raw::LineComment(_, pos)] = trailing {
        if let [Raw::Newlines(1), Raw::LineComment(_, pos2), ..] = leading {
            if pos == pos2 {
                return (None, convert_leading(pts));
            }
        }
        if let [Raw::Newlines(1)] = leading {
            if *pos == next_col {
                return (None, convert_leading(pts));
            }
        }
    }
    (convert_trailing(trailing), convert_leading(leading))
}

/// All raw trivia as leading trivia (start of file, start of an interpolation).
pub fn all_leading(pts: &[Raw]) -> Trivia {
    convert_leading(pts)
}
