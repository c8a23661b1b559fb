//! The `tvix` command: argument parsing and dispatch only. Each subcommand lives in
//! its own module and hands the real work to the part (crate) it belongs to.

use clap::{Parser, Subcommand};

mod alloc;
mod eval_cmd;
mod fmt_cmd;
mod repl_cmd;
mod store_cmd;

#[global_allocator]
static GLOBAL: alloc::Mimalloc = alloc::Mimalloc;

#[derive(Parser)]
#[command(
    name = "tvix",
    version,
    about = "A Rust toolchain for the Nix language"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate a Nix expression, as `nix-instantiate --eval` does.
    Eval(eval_cmd::Args),
    /// An interactive prompt to evaluate Nix expressions.
    Repl(repl_cmd::Args),
    /// Format Nix files in the official Nix style.
    Fmt(fmt_cmd::Args),
    /// Work with the Tvix store.
    Store(store_cmd::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Eval(args) => eval_cmd::run(args),
        Command::Repl(args) => repl_cmd::run(args),
        Command::Fmt(args) => fmt_cmd::run(args),
        Command::Store(args) => store_cmd::run(args),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::exit(1);
        }
    }
}
