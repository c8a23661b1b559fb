//! Formatting throughput: `cargo run --release -p tvix-fmt --example bench -- DIR...`
//!
//! Formats every `.nix` file under the given directories (those that parse) plus a
//! large generated file, and reports time per byte. If `alejandra` or `nixpkgs-fmt`
//! are on PATH, they are timed on the same files (through standard input) for
//! comparison.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

fn nix_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            nix_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "nix") {
            out.push(p);
        }
    }
}

/// A large file in the shape of nixpkgs' package sets.
fn generated() -> String {
    let mut s =
        String::from("{ lib, pkgs, ... }:\nlet\n  inherit (lib) optional optionals;\nin\n{\n");
    for i in 0..5000 {
        s.push_str(&format!(
            "  pkg{i} = pkgs.callPackage ./pkgs/pkg{i} {{ inherit (pkgs) stdenv fetchurl; enable = {}; deps = [ pkgs.a{i} pkgs.b{i} ] ++ optional (x > {i}) pkgs.c; }};\n",
            i % 2 == 0
        ));
    }
    s.push_str("}\n");
    s
}

fn time_tool(tool: &str, args: &[&str], sources: &[String]) -> Option<f64> {
    Command::new(tool).arg("--version").output().ok()?;
    let start = Instant::now();
    for src in sources {
        let mut child = Command::new(tool)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        child.stdin.take()?.write_all(src.as_bytes()).ok()?;
        child.wait().ok()?;
    }
    Some(start.elapsed().as_secs_f64())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let no_generated = args.iter().any(|a| a == "--no-generated");
    let dirs: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let mut files = Vec::new();
    for d in &dirs {
        nix_files(Path::new(d), &mut files);
    }
    let opts = tvix_fmt::Options::default();
    let mut sources: Vec<String> = files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .filter(|s| tvix_fmt::format(s, &opts).is_ok())
        .collect();
    if !no_generated {
        sources.push(generated());
    }
    let bytes: usize = sources.iter().map(|s| s.len()).sum();

    let rounds = 3;
    let start = Instant::now();
    for _ in 0..rounds {
        for s in &sources {
            std::hint::black_box(tvix_fmt::format(s, &opts).ok());
        }
    }
    let ours = start.elapsed().as_secs_f64() / rounds as f64;
    println!(
        "files: {} ({} bytes, incl. a generated {}-byte file)",
        sources.len(),
        bytes,
        sources.last().unwrap().len()
    );
    println!(
        "tvix-fmt:    {:.3} s  {:.1} ns/byte  {:.1} MB/s",
        ours,
        ours * 1e9 / bytes as f64,
        bytes as f64 / ours / 1e6
    );
    for (tool, args) in [
        ("alejandra", &["--quiet", "-"][..]),
        ("nixpkgs-fmt", &[][..]),
    ] {
        match time_tool(tool, args, &sources) {
            Some(t) => println!(
                "{tool:<12} {:.3} s  {:.1} ns/byte  (one process per file, so includes start-up)",
                t,
                t * 1e9 / bytes as f64
            ),
            None => println!("{tool:<12} not on PATH, skipped"),
        }
    }
}
