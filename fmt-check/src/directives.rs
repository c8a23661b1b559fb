//! `/*nixfmt:disable*/` ... `/*nixfmt:enable*/`: regions left exactly as written.
//!
//! A directive counts only on a line of its own. The document is formatted as usual with
//! each directive printed as a marker line; then the lines from a disable marker to its
//! enable marker are replaced by the original source lines of the region (an unclosed
//! region runs to the end of the file). A lone enable is kept as a comment.

const DISABLE: &str = "/*nixfmt:disable*/";
const ENABLE: &str = "/*nixfmt:enable*/";

// Markers printed in place of directives; private-use characters keep them apart from
// any text a string literal could contain.
const DISABLE_MARK: &str = "\u{F8FF}nixfmt:disable\u{F8FF}";
const ENABLE_MARK: &str = "\u{F8FF}nixfmt:enable\u{F8FF}";

pub fn marker(disable: bool) -> &'static str {
    if disable {
        DISABLE_MARK
    } else {
        ENABLE_MARK
    }
}

fn is_hspace(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Whether the comment `text` at `off` is a directive alone on its line.
pub fn own_line_directive(src: &str, off: usize, text: &str) -> Option<bool> {
    let d = match text {
        DISABLE => true,
        ENABLE => false,
        _ => return None,
    };
    let line_start = src[..off].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let after = off + text.len();
    let line_end = src[after..]
        .find('\n')
        .map(|i| after + i)
        .unwrap_or(src.len());
    let rest = src[after..line_end].trim_end_matches('\r');
    (src[line_start..off].chars().all(is_hspace) && rest.chars().all(is_hspace)).then_some(d)
}

/// Directives of the source in order: (is_disable, start of its line, end of its line
/// without the line break).
fn directives(src: &str) -> Vec<(bool, usize, usize)> {
    let mut out = Vec::new();
    // Most files have none: skip tokenizing them again.
    if !src.contains("nixfmt:") {
        return out;
    }
    for (kind, off, text) in tokens(src) {
        if kind != rnix::SyntaxKind::TOKEN_COMMENT {
            continue;
        }
        if let Some(d) = own_line_directive(src, off, text) {
            let line_start = src[..off].rfind('\n').map(|i| i + 1).unwrap_or(0);
            let after = off + text.len();
            let mut line_end = src[after..]
                .find('\n')
                .map(|i| after + i)
                .unwrap_or(src.len());
            if src[..line_end].ends_with('\r') {
                line_end -= 1;
            }
            out.push((d, line_start, line_end));
        }
    }
    out
}

fn tokens(src: &str) -> impl Iterator<Item = (rnix::SyntaxKind, usize, &str)> {
    let mut off = 0;
    rnix::tokenize(src).map(move |(k, t)| {
        let o = off;
        off += t.len();
        (k, o, t)
    })
}

/// Put the disabled regions of `src` back into the formatted `out`.
pub fn restore(src: &str, out: String) -> String {
    let dirs = directives(src);
    if dirs.is_empty() {
        return out;
    }
    let lines: Vec<&str> = out.split('\n').collect();
    let markers: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| matches!(l.trim(), DISABLE_MARK | ENABLE_MARK))
        .map(|(i, _)| i)
        .collect();
    if markers.len() != dirs.len() {
        // Something unusual (e.g. a directive inside an interpolation): keep the
        // formatted text, with the directives written back.
        return unmark(&out);
    }
    // Pair directives into regions: (first directive, last directive or None for EOF).
    let mut regions: Vec<(usize, Option<usize>)> = Vec::new();
    let mut open: Option<usize> = None;
    for (i, (d, ..)) in dirs.iter().enumerate() {
        match (d, open) {
            (true, None) => open = Some(i),
            (false, Some(s)) => {
                regions.push((s, Some(i)));
                open = None;
            }
            _ => {}
        }
    }
    if let Some(s) = open {
        regions.push((s, None));
    }
    // Apply regions from the last to the first so earlier line numbers stay valid.
    // A region that cuts through a construct the formatter moved (e.g. an
    // interpolation) could splice into the wrong place: such a region is left
    // formatted, so the result is never broken code.
    let mut cur: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    for (s, e) in regions.into_iter().rev() {
        let from = markers[s];
        let raw_start = dirs[s].1;
        let (raw, to) = match e {
            Some(e) => (&src[raw_start..dirs[e].2], markers[e] + 1),
            None => (&src[raw_start..], cur.len()),
        };
        let mut candidate: Vec<String> = cur[..from].to_vec();
        candidate.extend(raw.split('\n').map(|l| l.to_string()));
        candidate.extend(cur[to..].iter().cloned());
        let text = unmark(&candidate.join("\n"));
        if rnix::Root::parse(&text).errors().is_empty() {
            cur = candidate;
        }
    }
    // Lone directives outside regions stay as they were written.
    unmark(&cur.join("\n"))
}

fn unmark(s: &str) -> String {
    s.replace(DISABLE_MARK, DISABLE)
        .replace(ENABLE_MARK, ENABLE)
}
