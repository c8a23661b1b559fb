//! `tvix fmt`: format Nix files in the official style (the work is done by tvix-fmt).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::Context;
use tvix_fmt::{format, FormatError, Options};

#[derive(clap::Args)]
pub struct Args {
    /// Files or directories to format (directories: every `.nix` file below, respecting
    /// `.gitignore` and skipping hidden entries). `-` reads standard input and writes
    /// standard output.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Change nothing; list the files that would change and exit 1 if any would.
    #[arg(long)]
    check: bool,
    /// Change nothing; print a unified diff of what would change and exit 1 if any would.
    #[arg(long)]
    diff: bool,
    /// Maximum line width (not counting indentation).
    #[arg(long, default_value_t = 100)]
    width: usize,
    /// Spaces per indentation level.
    #[arg(long, default_value_t = 2)]
    indent: usize,
    /// Ignore the original layout entirely (the reference formatter's strict mode).
    #[arg(long)]
    strict: bool,
}

enum Outcome {
    Unchanged,
    Changed { old: String, new: String },
    Failed(String),
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let options = Options {
        width: args.width,
        indent: args.indent,
        strict: args.strict,
    };
    if args.paths.iter().any(|p| p.as_os_str() == "-") {
        if args.paths.len() != 1 {
            anyhow::bail!("`-` (standard input) cannot be combined with other paths");
        }
        return run_stdin(&args, &options);
    }

    let files = collect_files(&args.paths)?;
    let outcomes = format_all(&files, &options, !(args.check || args.diff));

    let mut changed = 0usize;
    let mut failed = 0usize;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (path, outcome) in files.iter().zip(outcomes) {
        match outcome {
            Outcome::Unchanged => {}
            Outcome::Changed { old, new } => {
                changed += 1;
                if args.diff {
                    let name = path.display().to_string();
                    let d = similar::TextDiff::from_lines(&old, &new);
                    write!(out, "{}", d.unified_diff().header(&name, &name))?;
                } else if args.check {
                    writeln!(out, "{}", path.display())?;
                }
            }
            Outcome::Failed(msg) => {
                failed += 1;
                eprintln!("{}:{msg}", path.display());
            }
        }
    }
    out.flush()?;
    let verb = if args.check || args.diff {
        "would be reformatted"
    } else {
        "reformatted"
    };
    eprintln!(
        "{} file(s) {verb}, {} unchanged{}",
        changed,
        files.len() - changed - failed,
        if failed > 0 {
            format!(", {failed} with errors (left untouched)")
        } else {
            String::new()
        }
    );
    let would_change = (args.check || args.diff) && changed > 0;
    Ok(if failed > 0 || would_change { 1 } else { 0 })
}

fn run_stdin(args: &Args, options: &Options) -> anyhow::Result<i32> {
    let mut src = String::new();
    std::io::stdin()
        .read_to_string(&mut src)
        .context("reading standard input")?;
    let formatted = match format(&src, options) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("<stdin>:{}", describe(&e));
            return Ok(1);
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.diff {
        if formatted != src {
            let d = similar::TextDiff::from_lines(&src, &formatted);
            write!(out, "{}", d.unified_diff().header("<stdin>", "<stdin>"))?;
            return Ok(1);
        }
        return Ok(0);
    }
    if args.check {
        if formatted != src {
            writeln!(out, "<stdin>")?;
            return Ok(1);
        }
        return Ok(0);
    }
    out.write_all(formatted.as_bytes())?;
    Ok(0)
}

fn describe(e: &FormatError) -> String {
    let (line, col) = e.location();
    match e {
        FormatError::Syntax { message, .. } => format!("{line}:{col}: syntax error: {message}"),
    }
}

/// Explicit files are taken as given; directories are walked (in parallel) for `.nix`
/// files, honouring `.gitignore` even outside a git repository.
fn collect_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let found = Mutex::new(Vec::new());
    for p in paths {
        let meta =
            std::fs::metadata(p).with_context(|| format!("cannot access {}", p.display()))?;
        if !meta.is_dir() {
            files.push(p.clone());
            continue;
        }
        let walker = ignore::WalkBuilder::new(p)
            .require_git(false)
            .build_parallel();
        walker.run(|| {
            Box::new(|entry| {
                if let Ok(e) = entry {
                    let is_file = e.file_type().is_some_and(|t| t.is_file());
                    if is_file && e.path().extension().is_some_and(|x| x == "nix") {
                        found.lock().expect("walker lock").push(e.into_path());
                    }
                }
                ignore::WalkState::Continue
            })
        });
    }
    let mut found = found.into_inner().expect("walker lock");
    found.sort();
    files.extend(found);
    Ok(files)
}

/// Format every file on all cores; with `write`, changed files are replaced atomically.
fn format_all(files: &[PathBuf], options: &Options, write: bool) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Outcome>>> = files.iter().map(|_| Mutex::new(None)).collect();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(files.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = files.get(i) else { break };
                let outcome = format_file(path, options, write);
                *results[i].lock().expect("result lock") = Some(outcome);
            });
        }
    });
    results
        .into_iter()
        .map(|m| {
            m.into_inner()
                .expect("result lock")
                .unwrap_or(Outcome::Failed(" not processed".into()))
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
        if let Err(e) = write_atomically(path, &new) {
            return Outcome::Failed(format!(" cannot write: {e:#}"));
        }
    }
    Outcome::Changed { old: src, new }
}

/// Write to a temporary file beside `path`, then rename it over `path`, so that an
/// interrupted run leaves either the old or the new content, never a mix.
fn write_atomically(path: &Path, content: &str) -> anyhow::Result<()> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .context("path has no file name")?
        .to_string_lossy();
    let tmp = dir.join(format!(
        ".{name}.tvix-fmt.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| -> anyhow::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(content.as_bytes())?;
        f.sync_all()?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
