//! What `tvix fmt` does with a set of paths: format every file on all cores, write the
//! changed ones atomically (or only report them with `--check`, or print a unified diff
//! with `--diff`), report syntax errors with their location and carry on with the other
//! files. Standard input (`-`) is formatted to standard output.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::{files, format, FormatError, Options};

/// What to do with files whose formatting differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Replace them with their formatted version.
    #[default]
    Write,
    /// Change nothing; list them.
    Check,
    /// Change nothing; print a unified diff.
    Diff,
}

/// One `tvix fmt` invocation.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Files and directories; a single `-` means standard input.
    pub paths: Vec<PathBuf>,
    pub mode: Mode,
    pub options: Options,
    /// Threads formatting files; `None` uses every core.
    pub jobs: Option<usize>,
}

/// Errors that stop the whole run (a file that cannot be formatted does not).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot access {}: {source}", path.display())]
    Access {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`-` (standard input) cannot be combined with other paths")]
    StdinWithPaths,
    #[error("reading standard input: {0}")]
    Stdin(std::io::Error),
    #[error("writing the report: {0}")]
    Output(std::io::Error),
}

/// How the files fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Report {
    pub mode: Mode,
    /// Files that were (or, with check and diff, would be) reformatted.
    pub changed: usize,
    pub unchanged: usize,
    /// Files left untouched because they could not be read, parsed or written.
    pub failed: usize,
}

impl Report {
    /// 1 if a file failed, or if check or diff found a file to change; 0 otherwise.
    pub fn exit_code(&self) -> i32 {
        let would_change = self.mode != Mode::Write && self.changed > 0;
        i32::from(self.failed > 0 || would_change)
    }
}

/// The standard streams of a run, so that tests can capture them.
pub struct Io<'a> {
    pub stdin: &'a mut dyn Read,
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
}

/// Run `tvix fmt`: the changed files (check), their diffs (diff) and nothing else (write)
/// go to stdout; errors and a one-line summary to stderr.
pub fn run(req: &Request, io: Io) -> Result<Report, RunError> {
    if req.paths.iter().any(|p| p.as_os_str() == "-") {
        if req.paths.len() != 1 {
            return Err(RunError::StdinWithPaths);
        }
        return run_stdin(req, io);
    }
    let files = files::collect(&req.paths)?;
    let outcomes = format_all(&files, req);
    let mut report = Report {
        mode: req.mode,
        ..Report::default()
    };
    let out = |e| RunError::Output(e);
    for (path, outcome) in files.iter().zip(outcomes) {
        match outcome {
            Outcome::Unchanged => report.unchanged += 1,
            Outcome::Changed { old, new } => {
                report.changed += 1;
                let name = path.display().to_string();
                match req.mode {
                    Mode::Write => {}
                    Mode::Check => writeln!(io.stdout, "{name}").map_err(out)?,
                    Mode::Diff => write_diff(io.stdout, &name, &old, &new).map_err(out)?,
                }
            }
            Outcome::Failed(msg) => {
                report.failed += 1;
                writeln!(io.stderr, "{}:{msg}", path.display()).map_err(out)?;
            }
        }
    }
    io.stdout.flush().map_err(out)?;
    let verb = match req.mode {
        Mode::Write => "reformatted",
        Mode::Check | Mode::Diff => "would be reformatted",
    };
    let failed = match report.failed {
        0 => String::new(),
        n => format!(", {n} with errors (left untouched)"),
    };
    writeln!(
        io.stderr,
        "{} file(s) {verb}, {} unchanged{failed}",
        report.changed, report.unchanged
    )
    .map_err(out)?;
    Ok(report)
}

fn run_stdin(req: &Request, io: Io) -> Result<Report, RunError> {
    let mut src = String::new();
    io.stdin.read_to_string(&mut src).map_err(RunError::Stdin)?;
    let mut report = Report {
        mode: req.mode,
        ..Report::default()
    };
    let out = |e| RunError::Output(e);
    let formatted = match format(&src, &req.options) {
        Ok(f) => f,
        Err(e) => {
            report.failed = 1;
            writeln!(io.stderr, "<stdin>:{}", describe(&e)).map_err(out)?;
            return Ok(report);
        }
    };
    if formatted == src {
        report.unchanged = 1;
    } else {
        report.changed = 1;
    }
    match req.mode {
        Mode::Write => io.stdout.write_all(formatted.as_bytes()),
        Mode::Check if formatted != src => writeln!(io.stdout, "<stdin>"),
        Mode::Diff if formatted != src => write_diff(io.stdout, "<stdin>", &src, &formatted),
        Mode::Check | Mode::Diff => Ok(()),
    }
    .and_then(|()| io.stdout.flush())
    .map_err(out)?;
    Ok(report)
}

fn write_diff(out: &mut dyn Write, name: &str, old: &str, new: &str) -> std::io::Result<()> {
    let d = similar::TextDiff::from_lines(old, new);
    write!(out, "{}", d.unified_diff().header(name, name))
}

/// `LINE:COL: syntax error: MESSAGE`, to follow a file name and a colon.
fn describe(e: &FormatError) -> String {
    let (line, col) = e.location();
    match e {
        FormatError::Syntax { message, .. } => format!("{line}:{col}: syntax error: {message}"),
    }
}

enum Outcome {
    Unchanged,
    Changed {
        old: String,
        new: String,
    },
    /// The message follows `path:` in the report.
    Failed(String),
}

/// Format every file on `req.jobs` threads (all cores by default), taking files from a
/// shared counter so that one large file does not hold up a whole share of the list.
fn format_all(files: &[PathBuf], req: &Request) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Outcome>>> = files.iter().map(|_| Mutex::new(None)).collect();
    let threads = req
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, files.len().max(1));
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(path) = files.get(i) else { break };
        let outcome = format_file(path, &req.options, req.mode == Mode::Write);
        *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
    };
    if threads == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(work);
            }
        });
    }
    results
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or_else(|| Outcome::Failed(" not processed".into()))
        })
        .collect()
}

fn format_file(path: &Path, options: &Options, write: bool) -> Outcome {
    let src = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => return Outcome::Failed(format!(" cannot read: {e}")),
    };
    let new = match format(&src, options) {
        Ok(n) => n,
        Err(e) => return Outcome::Failed(describe(&e)),
    };
    if new == src {
        return Outcome::Unchanged;
    }
    if write {
        if let Err(e) = files::write_atomically(path, &new) {
            return Outcome::Failed(format!(" cannot write: {e}"));
        }
    }
    Outcome::Changed { old: src, new }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_with(req: &Request, stdin: &str) -> (Result<Report, RunError>, String, String) {
        let mut input = stdin.as_bytes();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let r = run(
            req,
            Io {
                stdin: &mut input,
                stdout: &mut out,
                stderr: &mut err,
            },
        );
        let s = |v: Vec<u8>| String::from_utf8(v).unwrap();
        (r, s(out), s(err))
    }

    fn stdin_req(mode: Mode) -> Request {
        Request {
            paths: vec!["-".into()],
            mode,
            ..Request::default()
        }
    }

    #[test]
    fn stdin_modes() {
        let (r, out, _) = run_with(&stdin_req(Mode::Write), "{a=1;}");
        assert_eq!(out, "{ a = 1; }\n");
        assert_eq!(r.unwrap().exit_code(), 0);

        let (r, out, _) = run_with(&stdin_req(Mode::Check), "{a=1;}");
        assert_eq!(out, "<stdin>\n");
        assert_eq!(r.unwrap().exit_code(), 1);

        let (r, out, _) = run_with(&stdin_req(Mode::Check), "{ a = 1; }\n");
        assert_eq!(out, "");
        assert_eq!(r.unwrap().exit_code(), 0);

        let (r, out, _) = run_with(&stdin_req(Mode::Diff), "{a=1;}");
        assert!(out.contains("\n-{a=1;}\n"), "{out}");
        assert!(out.contains("\n+{ a = 1; }\n"), "{out}");
        assert_eq!(r.unwrap().exit_code(), 1);
    }

    #[test]
    fn stdin_syntax_error_has_location() {
        let (r, out, err) = run_with(&stdin_req(Mode::Write), "{\n  a = ;\n}");
        assert_eq!(out, "");
        assert!(err.starts_with("<stdin>:2:"), "{err}");
        assert_eq!(r.unwrap().exit_code(), 1);
    }

    #[test]
    fn stdin_cannot_mix_with_paths() {
        let req = Request {
            paths: vec!["-".into(), "x.nix".into()],
            ..Request::default()
        };
        assert!(matches!(
            run_with(&req, "").0,
            Err(RunError::StdinWithPaths)
        ));
    }

    #[test]
    fn exit_codes() {
        let r = |mode, changed, failed| Report {
            mode,
            changed,
            unchanged: 0,
            failed,
        };
        assert_eq!(r(Mode::Write, 3, 0).exit_code(), 0);
        assert_eq!(r(Mode::Write, 3, 1).exit_code(), 1);
        assert_eq!(r(Mode::Check, 1, 0).exit_code(), 1);
        assert_eq!(r(Mode::Diff, 0, 0).exit_code(), 0);
    }

    #[test]
    fn files_in_parallel_with_a_broken_one() {
        let d = std::env::temp_dir().join(format!("tvix-fmt-run-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let ugly = "{a=1;}";
        for i in 0..20 {
            std::fs::write(d.join(format!("f{i:02}.nix")), ugly).unwrap();
        }
        std::fs::write(d.join("broken.nix"), "{\n  a = ;\n}\n").unwrap();
        let mut req = Request {
            paths: vec![d.clone()],
            mode: Mode::Check,
            jobs: Some(3),
            ..Request::default()
        };
        let (r, out, err) = run_with(&req, "");
        let r = r.unwrap();
        assert_eq!((r.changed, r.unchanged, r.failed), (20, 0, 1));
        assert_eq!(out.lines().count(), 20, "{out}");
        assert!(err.contains("broken.nix:2:7: syntax error"), "{err}");
        assert_eq!(std::fs::read_to_string(d.join("f00.nix")).unwrap(), ugly);

        req.mode = Mode::Write;
        let (r, _, _) = run_with(&req, "");
        assert_eq!(r.unwrap().exit_code(), 1);
        for i in 0..20 {
            let got = std::fs::read_to_string(d.join(format!("f{i:02}.nix"))).unwrap();
            assert_eq!(got, "{ a = 1; }\n");
        }
        assert_eq!(
            std::fs::read_to_string(d.join("broken.nix")).unwrap(),
            "{\n  a = ;\n}\n"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
