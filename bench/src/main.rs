//! tvix-bench: whole-process benchmarks of the `tvix` command against C++ Nix on the
//! workloads in `../shared/workloads`, recorded per commit so runs can be compared.
//! Criterion micro-benchmarks live in each part's own `benches/`; this harness measures
//! what a user sees: CPU time and peak memory of a whole evaluation.

mod measure;
mod record;
mod report;
mod simulate;
mod workloads;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "tvix-bench")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// `tvix eval --strict` against `nix-instantiate --eval --strict` on every workload.
    Workloads(WorkloadArgs),
}

#[derive(clap::Args)]
struct WorkloadArgs {
    /// The tvix binary to measure (build it with `cargo build --release` first).
    #[arg(long, default_value = "target/release/tvix")]
    tvix: PathBuf,
    /// The workloads folder.
    #[arg(long, default_value = "../shared/workloads")]
    workloads: PathBuf,
    /// Runs per command and workload; the fastest run counts.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Only workloads whose name contains this.
    #[arg(long)]
    filter: Option<String>,
    /// Write this run's results as JSON to this file.
    #[arg(long)]
    record: Option<PathBuf>,
    /// Compare tvix's figures with a recorded earlier run and report regressions.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Also run each command once under valgrind's cachegrind and print instructions,
    /// cache misses and branch mispredicts (minutes per workload).
    #[arg(long)]
    simulate: bool,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Workloads(args) => run_workloads(args),
    }
}

fn run_workloads(args: WorkloadArgs) -> anyhow::Result<()> {
    let workloads = workloads::discover(&args.workloads, args.filter.as_deref())?;
    let nix = measure::find_in_path("nix-instantiate");
    if nix.is_none() {
        eprintln!("note: nix-instantiate not found; measuring tvix alone");
    }
    let mut rows = Vec::new();
    for workload in &workloads {
        eprintln!("measuring {}", workload.name);
        let tvix = measure::best_of(args.runs, || {
            measure::run(&args.tvix, &["eval", "--strict"], &workload.path)
        })?;
        let reference = match &nix {
            Some(nix) => Some(measure::best_of(args.runs, || {
                measure::run(nix, &["--eval", "--strict"], &workload.path)
            })?),
            None => None,
        };
        rows.push(report::Row::new(workload, tvix, reference));
    }
    report::print_table(&rows);
    if args.simulate {
        print_simulated(&args, &workloads, nix.as_deref())?;
    }
    let run = record::Run::new(&rows);
    if let Some(path) = &args.baseline {
        let baseline = record::Run::load(path)?;
        let regressions = record::compare(&baseline, &run);
        for line in &regressions {
            println!("{line}");
        }
        if regressions.is_empty() {
            println!("no regressions against {}", path.display());
        }
    }
    if let Some(path) = &args.record {
        run.save(path)?;
        eprintln!("recorded to {}", path.display());
    }
    Ok(())
}

fn print_simulated(
    args: &WorkloadArgs,
    workloads: &[workloads::Workload],
    nix: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for workload in workloads {
        eprintln!("simulating {}", workload.name);
        let tvix = simulate::run(&args.tvix, &["eval", "--strict"], &workload.path)?;
        let reference = match nix {
            Some(nix) => Some(simulate::run(nix, &["--eval", "--strict"], &workload.path)?),
            None => None,
        };
        rows.push((workload.name.clone(), tvix, reference));
    }
    report::print_simulated(&rows);
    Ok(())
}
