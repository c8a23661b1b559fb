//! `tvix store`: the store verbs. Argument parsing, progress and dispatch only; what
//! each verb does and prints is in tvix-store (`tvix_store::verbs`).

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use tvix_store::{verbs, Store, StoreUrl};

#[derive(clap::Args)]
pub struct Args {
    /// Which store: `local` (the on-disk store in $XDG_DATA_HOME/tvix), `redb:///DIR`,
    /// `memory://` (empty, gone when the command ends), `grpc+http://HOST:PORT` (a
    /// `tvix store daemon`), or `grpc+http://HOST:PORT?cache=URL` (that daemon's
    /// store read through a local cache, URL being `local`, `redb:///DIR` or
    /// `memory://`; writes go to the daemon only).
    #[arg(long, global = true, env = "TVIX_STORE", default_value = "local")]
    store: String,

    #[command(subcommand)]
    verb: Verb,
}

#[derive(clap::Subcommand)]
enum Verb {
    /// Add paths to the store as `nix-store --add` does; prints each store path.
    Import {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Add a NAR read from standard input under the name NAME; prints the store path.
    ImportNar { name: String },
    /// Write the NAR of a store path to standard output.
    ExportNar { path: String },
    /// List the store paths, or the entries of a directory in the store.
    Ls { path: Option<String> },
    /// Write a file in the store to standard output.
    Cat { path: String },
    /// Show what the store records about a store path.
    Info { path: String },
    /// Re-hash everything in the store and report corruption (exit status 1 if any).
    Verify,
    /// Serve the store (`--store`) over gRPC until killed; prints
    /// `listening on HOST:PORT` once it accepts connections.
    Daemon {
        /// `HOST:PORT` to listen on; port 0 picks a free port.
        #[arg(long)]
        listen: String,
    },
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    run_verb(args).map_err(|e| anyhow::anyhow!("{}", message(&e)))
}

/// The error and its causes on one line, leaving out a cause whose text the
/// error before it already ends with (typed errors often include their source).
fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut prev = String::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !prev.ends_with(&s) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&s);
        }
        prev = s;
    }
    out
}

fn run_verb(args: Args) -> anyhow::Result<i32> {
    let url = StoreUrl::parse(&args.store)?;
    let store = Store::open(&url).with_context(|| format!("opening store {}", args.store))?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.verb {
        Verb::Import { paths } => {
            let bar = progress::import_bar();
            let mut files = 0u64;
            for p in paths {
                let info = store
                    .import_path_observed(&p, &mut |f, bytes| {
                        bar.inc(bytes);
                        if f > 0 {
                            files += f;
                            bar.set_message(format!("{files} files"));
                        }
                    })
                    .with_context(|| format!("importing {}", p.display()));
                let info = info.inspect_err(|_| bar.abandon())?;
                bar.suspend(|| writeln!(out, "{}", store.store_dir.display(&info.store_path)))?;
            }
            bar.finish_and_clear();
        }
        Verb::ImportNar { name } => {
            let info = store.import_nar(&name, std::io::stdin().lock())?;
            writeln!(out, "{}", store.store_dir.display(&info.store_path))?;
        }
        Verb::ExportNar { path } => verbs::export_nar(&store, &path, &mut out)?,
        Verb::Ls { path } => verbs::ls(&store, path.as_deref(), &mut out, &mut |e| {
            eprintln!("warning: {e}")
        })?,
        Verb::Cat { path } => store.cat(&path, &mut out)?,
        Verb::Info { path } => verbs::info(&store, &path, &mut out)?,
        Verb::Verify => {
            let mut problems = 0usize;
            let bar = progress::verify_bar();
            let counts = store.verify_observed(
                &mut |p| {
                    problems += 1;
                    bar.suspend(|| eprintln!("corrupt: {}: {}", p.what, p.error));
                },
                &mut |step| progress::verify_step(&bar, step),
            )?;
            bar.finish_and_clear();
            writeln!(out, "{}", verbs::verify_summary(&counts, problems))?;
            out.flush()?;
            return Ok(if problems == 0 { 0 } else { 1 });
        }
        Verb::Daemon { listen } => {
            drop(out);
            verbs::daemon(&store, &listen, &mut std::io::stdout())?;
            return Ok(0);
        }
    }
    out.flush()?;
    Ok(0)
}

/// Progress bars on stderr, drawn only when stderr is a terminal.
mod progress {
    use std::io::IsTerminal;

    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    use tvix_store::VerifyProgress;

    fn bar(template: &str) -> ProgressBar {
        if !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let style = ProgressStyle::with_template(template).expect("valid template");
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(style)
    }

    /// Files and bytes ingested, and throughput; position counts bytes.
    pub fn import_bar() -> ProgressBar {
        let b =
            bar("{spinner} importing: {msg}, {binary_bytes} ({binary_bytes_per_sec}), {elapsed}");
        b.enable_steady_tick(std::time::Duration::from_millis(200));
        b
    }

    pub fn verify_bar() -> ProgressBar {
        bar("verifying {msg} {wide_bar} {pos}/{len} {elapsed}")
    }

    pub fn verify_step(bar: &ProgressBar, step: VerifyProgress) {
        if bar.message() != step.phase {
            bar.set_message(step.phase);
            bar.set_length(step.total as u64);
        }
        bar.set_position(step.done as u64 + 1);
    }
}
