//! `tvix store`: the store verbs. Argument parsing and printing only; the work is
//! in tvix-store.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use tvix_castore::proto::node;
use tvix_store::{Store, StoreUrl};

#[derive(clap::Args)]
pub struct Args {
    /// Which store: `local` (the on-disk store in $XDG_DATA_HOME/tvix), `redb:///DIR`,
    /// `memory://` (empty, gone when the command ends); `grpc+http://HOST:PORT` is
    /// not built yet.
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
    /// Serve the store over gRPC (not built yet).
    Daemon {
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
    if let Verb::Daemon { .. } = args.verb {
        anyhow::bail!("tvix store daemon: the gRPC server is not built yet");
    }
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
        Verb::ExportNar { path } => {
            let (p, sub) = store.parse_path(&path)?;
            if !sub.is_empty() {
                anyhow::bail!("{path} is below a store path; export-nar takes a store path");
            }
            store.export_nar(&p, &mut out)?;
        }
        Verb::Ls { path: None } => {
            for info in store.paths.list()? {
                match info {
                    Ok(i) => writeln!(out, "{}", store.store_dir.display(&i.store_path))?,
                    Err(e) => eprintln!("warning: {e}"),
                }
            }
        }
        Verb::Ls { path: Some(path) } => {
            let n = store.lookup(&path)?;
            let entries = match &n.node {
                Some(node::Node::Directory(_)) => store.list_dir(&path)?,
                _ => vec![n],
            };
            for e in entries {
                writeln!(out, "{}", describe(&e))?;
            }
        }
        Verb::Cat { path } => store.cat(&path, &mut out)?,
        Verb::Info { path } => {
            let (p, _) = store.parse_path(&path)?;
            let info = store.path_info(&p)?;
            let sd = &store.store_dir;
            writeln!(out, "StorePath: {}", sd.display(&info.store_path))?;
            writeln!(
                out,
                "NarHash: sha256:{}",
                nix_compat::nixbase32::encode(&info.nar_sha256)
            )?;
            writeln!(out, "NarSize: {}", info.nar_size)?;
            let refs: Vec<String> = info.references.iter().map(|r| r.to_string()).collect();
            writeln!(out, "References: {}", refs.join(" "))?;
            if let Some(d) = &info.deriver {
                writeln!(out, "Deriver: {d}")?;
            }
            for s in &info.signatures {
                writeln!(out, "Sig: {s}")?;
            }
            if let Some(ca) = &info.ca {
                writeln!(out, "CA: {ca}")?;
            }
            writeln!(out, "Root: {}", describe(&info.node))?;
        }
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
            writeln!(
                out,
                "checked {} chunks, {} blobs, {} directories, {} store paths: {} problems",
                counts.chunks, counts.blobs, counts.directories, counts.paths, problems
            )?;
            out.flush()?;
            return Ok(if problems == 0 { 0 } else { 1 });
        }
        Verb::Daemon { .. } => unreachable!("handled above"),
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

/// One line for a node: type and mode, size, name (and symlink target).
fn describe(n: &tvix_castore::Node) -> String {
    let name = String::from_utf8_lossy(n.name());
    match &n.node {
        Some(node::Node::Directory(d)) => format!("dr-xr-xr-x {:>12} {name}/", d.size),
        Some(node::Node::File(f)) => {
            let mode = if f.executable {
                "-r-xr-xr-x"
            } else {
                "-r--r--r--"
            };
            format!("{mode} {:>12} {name}", f.size)
        }
        Some(node::Node::Symlink(s)) => {
            format!(
                "lrwxrwxrwx {:>12} {name} -> {}",
                0,
                String::from_utf8_lossy(&s.target)
            )
        }
        None => format!("? {name}"),
    }
}
