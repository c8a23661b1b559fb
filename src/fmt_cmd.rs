//! `tvix fmt`: format Nix files in the official style (the work is done by tvix-fmt).

use std::path::PathBuf;

use tvix_fmt::run::{Io, Mode, Request};
use tvix_fmt::Options;

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
    /// Change nothing; print a unified diff of what would change and exit 1 if any would
    /// (takes precedence over --check).
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
    /// Files formatted at once (default: one per core).
    #[arg(long, short)]
    jobs: Option<usize>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let mode = match (args.check, args.diff) {
        (_, true) => Mode::Diff,
        (true, false) => Mode::Check,
        (false, false) => Mode::Write,
    };
    let request = Request {
        paths: args.paths,
        mode,
        options: Options {
            width: args.width,
            indent: args.indent,
            strict: args.strict,
        },
        jobs: args.jobs,
    };
    let io = Io {
        stdin: &mut std::io::stdin().lock(),
        stdout: &mut std::io::stdout().lock(),
        stderr: &mut std::io::stderr().lock(),
    };
    Ok(tvix_fmt::run::run(&request, io)?.exit_code())
}
