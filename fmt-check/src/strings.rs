//! String literals as lines of parts: splitting, dropping the indentation of indented
//! strings, and turning one-line indented strings into plain ones.

use crate::ast::{StrLines, StrPart};

/// Split parts on the line breaks inside their text. Never returns an empty list.
pub fn split_lines(parts: Vec<StrPart>) -> StrLines {
    let mut lines: StrLines = vec![vec![]];
    for p in parts {
        match p {
            StrPart::Text(t) => {
                let mut first = true;
                for seg in t.split('\n') {
                    if !first {
                        lines.push(vec![]);
                    }
                    first = false;
                    lines
                        .last_mut()
                        .unwrap()
                        .push(StrPart::Text(seg.to_string()));
                }
            }
            i => lines.last_mut().unwrap().push(i),
        }
    }
    lines
}

/// Merge adjacent text parts and drop empty ones.
pub fn normalize_line(line: Vec<StrPart>) -> Vec<StrPart> {
    let mut out: Vec<StrPart> = Vec::new();
    for p in line {
        match p {
            StrPart::Text(t) if t.is_empty() => {}
            StrPart::Text(t) => {
                if let Some(StrPart::Text(s)) = out.last_mut() {
                    s.push_str(&t);
                } else {
                    out.push(StrPart::Text(t));
                }
            }
            i => out.push(i),
        }
    }
    out
}

fn is_spaces(t: &str) -> bool {
    t.chars().all(|c| c == ' ')
}

fn is_empty_line(l: &[StrPart]) -> bool {
    match l {
        [] => true,
        [StrPart::Text(t)] => is_spaces(t),
        _ => false,
    }
}

fn line_head(l: &[StrPart]) -> Option<&str> {
    if is_empty_line(l) {
        return None;
    }
    match l.first() {
        Some(StrPart::Text(t)) => Some(t),
        Some(StrPart::Interp(_)) => Some(""),
        None => None,
    }
}

fn common_indentation(heads: &[&str]) -> Option<String> {
    let mut it = heads.iter();
    let first = it.next()?;
    let mut n = first.len() - first.trim_start_matches(' ').len();
    for h in it {
        let m = h.len() - h.trim_start_matches(' ').len();
        n = n.min(m);
    }
    Some(" ".repeat(n))
}

/// The lines of an indented string with the first and last line fixed up and the
/// common indentation removed.
pub fn fix_indented(raw: Vec<StrPart>) -> StrLines {
    let mut lines = split_lines(raw);
    // first line: dropped when empty, unless it is the only line
    let first = normalize_line(lines.remove(0));
    if !is_empty_line(&first) || lines.is_empty() {
        lines.insert(0, first);
    }
    // last line: emptied when only spaces
    if let Some(last) = lines.pop() {
        let last = normalize_line(last);
        lines.push(if is_empty_line(&last) { vec![] } else { last });
    }
    let heads: Vec<&str> = lines.iter().filter_map(|l| line_head(l)).collect();
    let lines: StrLines = match common_indentation(&heads) {
        None => lines.iter().map(|_| vec![]).collect(),
        Some(ind) => lines
            .into_iter()
            .map(|mut l| {
                if let Some(StrPart::Text(t)) = l.first_mut() {
                    *t = t.strip_prefix(ind.as_str()).unwrap_or("").to_string();
                }
                l
            })
            .collect(),
    };
    lines.into_iter().map(normalize_line).collect()
}

/// A one-line indented string without quotes or backslashes is printed as a plain
/// string, with its escapes translated.
pub fn indented_as_simple(lines: &StrLines) -> Option<StrLines> {
    if lines.len() > 1 {
        return None;
    }
    let bad = lines
        .iter()
        .flatten()
        .any(|p| matches!(p, StrPart::Text(t) if t.contains('"') || t.contains('\\')));
    if bad {
        return None;
    }
    Some(
        lines
            .iter()
            .map(|l| {
                l.iter()
                    .map(|p| match p {
                        StrPart::Text(t) => StrPart::Text(convert_escapes(t)),
                        i => i.clone(),
                    })
                    .collect()
            })
            .collect(),
    )
}

fn convert_escapes(t: &str) -> String {
    let mut out = String::new();
    let mut rest = t;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("''$") {
            out.push_str("\\$");
            rest = r;
        } else if let Some(r) = rest.strip_prefix("'''") {
            out.push_str("''");
            rest = r;
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}
