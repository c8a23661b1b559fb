//! Evaluation errors: a typed kind, where it happened, and the chain of Nix frames that
//! led there. Rendered like a compiler's diagnostics with `codemap-diagnostic`.

use std::sync::Arc;

use codemap_diagnostic::{ColorConfig, Diagnostic, Emitter, Level, SpanLabel, SpanStyle};

use crate::compiled::{SourceFile, Span};

#[derive(Debug, Clone, thiserror::Error)]
pub enum ErrorKind {
    #[error("syntax error: {0}")]
    Parse(String),
    #[error("undefined variable '{name}'{}", did_you_mean(.suggestion))]
    UndefinedVariable {
        name: String,
        suggestion: Option<String>,
    },
    #[error("attribute '{name}' missing{}", did_you_mean(.suggestion))]
    AttributeMissing {
        name: String,
        suggestion: Option<String>,
    },
    #[error("value is {got} while {expected} was expected")]
    TypeError {
        expected: &'static str,
        got: &'static str,
    },
    #[error("{0}")]
    Throw(String),
    #[error("evaluation aborted with the following error message: '{0}'")]
    Abort(String),
    #[error("assertion failed")]
    AssertionFailed,
    #[error("infinite recursion encountered")]
    InfiniteRecursion,
    #[error("division by zero")]
    DivisionByZero,
    #[error("integer overflow in {0}")]
    IntegerOverflow(&'static str),
    #[error("attempt to call something which is not a function but {0}")]
    NotCallable(&'static str),
    #[error("function '{function}' called without required argument '{name}'")]
    MissingArgument { function: String, name: String },
    #[error("function '{function}' called with unexpected argument '{name}'{}", did_you_mean(.suggestion))]
    UnexpectedArgument {
        function: String,
        name: String,
        suggestion: Option<String>,
    },
    #[error("attribute '{0}' already defined")]
    DuplicateAttr(String),
    #[error("{0}")]
    Io(String),
    #[error("{0} is not built yet in tvix-eval")]
    NotBuilt(String),
    #[error("evaluation exceeded the call depth limit of {0} frames (stack overflow)")]
    DepthLimit(usize),
    #[error("evaluation exceeded the step budget of {0} steps")]
    StepLimit(u64),
    #[error("evaluation cancelled")]
    Cancelled,
    #[error("{0}")]
    Other(String),
}

/// A result with its error boxed. A pointer-sized error makes `R<Value>`, `R<bool>` and
/// `R<()>` come back in registers, where a bare `ErrorKind` (72 bytes) sends every
/// result through memory; the VM, its builtins and machines all return these.
pub type R<T> = Result<T, Box<ErrorKind>>;

const _: () =
    assert!(std::mem::size_of::<R<crate::value::Value>>() == 2 * std::mem::size_of::<usize>());

fn did_you_mean(s: &Option<String>) -> String {
    match s {
        Some(s) => format!("; did you mean '{s}'?"),
        None => String::new(),
    }
}

impl ErrorKind {
    /// Errors `tryEval` catches, as in C++ Nix: `throw` and failed assertions.
    pub fn is_catchable(&self) -> bool {
        matches!(self, ErrorKind::Throw(_) | ErrorKind::AssertionFailed)
    }

    pub fn other(s: impl Into<String>) -> ErrorKind {
        ErrorKind::Other(s.into())
    }
}

/// A place in a source file.
#[derive(Debug, Clone)]
pub struct Location {
    pub file: Arc<SourceFile>,
    pub span: Span,
}

impl Location {
    /// 1-based line and column of the start.
    pub fn line_col(&self) -> (usize, usize) {
        let text = &self.file.text;
        let start = (self.span.start as usize).min(text.len());
        let before = &text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = crate::source_bytes::original_len(&before[line_start..]) + 1;
        (line, col)
    }
}

#[derive(Debug, Clone)]
pub struct EvalError {
    pub kind: ErrorKind,
    pub location: Option<Location>,
    /// Frames that led to the error, innermost first: what was being done, and where
    /// (`None` for a message of `builtins.addErrorContext`, which has no place).
    pub trace: Vec<(String, Option<Location>)>,
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(loc) = &self.location {
            let (l, c) = loc.line_col();
            write!(f, " at {}:{}:{}", loc.file.name, l, c)?;
        }
        Ok(())
    }
}

impl std::error::Error for EvalError {}

impl EvalError {
    pub fn new(kind: ErrorKind, location: Option<Location>) -> EvalError {
        EvalError {
            kind,
            location,
            trace: Vec::new(),
        }
    }

    /// Render with source snippets; `show_trace` adds the chain of frames.
    pub fn render(&self, show_trace: bool) -> String {
        let mut map = codemap::CodeMap::new();
        let mut files: Vec<(*const SourceFile, Arc<codemap::File>)> = Vec::new();
        let mut span_of = |loc: &Location| {
            let key = Arc::as_ptr(&loc.file);
            let file = match files.iter().find(|(k, _)| *k == key) {
                Some((_, f)) => f.clone(),
                None => {
                    let f = map.add_file(loc.file.name.clone(), loc.file.text.clone());
                    files.push((key, f.clone()));
                    f
                }
            };
            let len = file.source().len() as u64;
            let s = (loc.span.start as u64).min(len);
            let e = (loc.span.end as u64).clamp(s, len);
            file.span.subspan(s, e)
        };
        // The error, then (with `show_trace`) each step of its trace: a message, underlined
        // where it happened if it has a place.
        let mut diag = |level: Level, message: String, loc: Option<&Location>| Diagnostic {
            level,
            message,
            code: None,
            spans: loc
                .map(|l| SpanLabel {
                    span: span_of(l),
                    label: None,
                    style: SpanStyle::Primary,
                })
                .into_iter()
                .collect(),
        };
        let mut diags = vec![diag(
            Level::Error,
            self.kind.to_string(),
            self.location.as_ref(),
        )];
        if show_trace {
            for (what, loc) in &self.trace {
                diags.push(diag(Level::Note, what.clone(), loc.as_ref()));
            }
        }
        let mut out = Vec::new();
        {
            let mut em = Emitter::vec(&mut out, Some(&map));
            em.emit(&diags);
        }
        let _ = ColorConfig::Never;
        // Raw bytes of a non-UTF-8 file show as U+FFFD, as a terminal would show them.
        crate::source_bytes::for_display(&String::from_utf8_lossy(&out)).into_owned()
    }
}

/// The closest candidate to `name`, if any is close enough to be a likely typo.
pub fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(name, c);
        if score > 0.8 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}
