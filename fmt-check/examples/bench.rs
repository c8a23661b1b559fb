//! Formatter speed against alejandra and nixpkgs-fmt, in one run:
//!
//! ```text
//! cargo build --release -p tvix && cargo run --release -p tvix-fmt --example bench -- [--runs N] [--callgrind] [DIR...]
//! ```
//!
//! Takes every `.nix` file under the directories (default: the whole `../shared` corpus)
//! plus a large generated file, and reports time per byte:
//! - the library in this process (`tvix_fmt::format` over every file, min of N runs;
//!   with the system allocator, where the `tvix` command uses mimalloc);
//! - whole processes on the same files, one process per tool given every file as an
//!   argument in check mode (nothing is written): `tvix fmt --check --jobs 1`,
//!   `alejandra --check --threads 1`, `nixpkgs-fmt --check`. Wall and CPU time are the
//!   minimum over N runs; all run on one thread so that the figures are per core.
//! - with `--callgrind`, the instructions each process executes (valgrind), which do not
//!   depend on the machine's load.
//!
//! alejandra takes exponential time on some inputs (many minutes
//! on `nixfmt-tests/diff/pattern`): files on which a tool takes over a minute alone are
//! left out of the comparison for every tool, and named. Files that are not UTF-8 are
//! left out too (nixpkgs-fmt stops at the first).
//!
//! `--lib-only` formats every file once in this process and exits (to profile it).
//! Tools not on PATH are skipped; `tvix` is taken from beside this example's binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

fn nix_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            nix_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "nix") {
            out.push(p);
        }
    }
}

/// A large file in the shape of nixpkgs' package sets, badly laid out.
fn generated() -> String {
    let mut s =
        String::from("{ lib, pkgs, ... }:\nlet\n  inherit (lib) optional optionals;\nin\n{\n");
    for i in 0..5000 {
        s.push_str(&format!(
            "  pkg{i} = pkgs.callPackage ./pkgs/pkg{i} {{ inherit (pkgs) stdenv fetchurl; enable = {}; deps = [ pkgs.a{i} pkgs.b{i} ] ++ optional (x > {i}) pkgs.c; meta = {{ description = \"package number {i}\"; license = lib.licenses.mit; }}; }};\n",
            i % 2 == 0
        ));
    }
    s.push_str("}\n");
    s
}

/// CPU time (user + system) of this process's waited-for children so far, in seconds.
fn children_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may contain spaces);
    // cutime and cstime are fields 16 and 17, i.e. 13 and 14 after the ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = f.get(13)?.parse::<f64>().ok()? + f.get(14)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

struct Timing {
    wall: f64,
    cpu: Option<f64>,
}

/// Run `cmd` `runs` times; the minimum wall and CPU time.
fn time_process(cmd: &[String], runs: usize) -> Option<Timing> {
    let mut best = Timing {
        wall: f64::INFINITY,
        cpu: None,
    };
    for _ in 0..runs {
        let cpu0 = children_cpu();
        let start = Instant::now();
        let status = Command::new(&cmd[0])
            .args(&cmd[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        let wall = start.elapsed().as_secs_f64();
        // Check mode exits non-zero when files would change; only a crash is a failure.
        status.code()?;
        best.wall = best.wall.min(wall);
        if let (Some(a), Some(b)) = (cpu0, children_cpu()) {
            best.cpu = Some(best.cpu.map_or(b - a, |c: f64| c.min(b - a)));
        }
    }
    Some(best)
}

/// Instructions executed by `cmd` (and its threads), counted by callgrind.
fn instructions(cmd: &[String]) -> Option<u64> {
    let out_file = std::env::temp_dir().join(format!("tvix-fmt-bench-{}.cg", std::process::id()));
    let out = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .args(cmd)
        .stdout(Stdio::null())
        .output()
        .ok()?;
    let _ = std::fs::remove_file(&out_file);
    let log = String::from_utf8_lossy(&out.stderr);
    let line = log.lines().find(|l| l.contains("Collected :"))?;
    line.rsplit(':')
        .next()?
        .trim()
        .replace(',', "")
        .parse()
        .ok()
}

/// Whether `cmd` finishes within `limit` (killed otherwise).
fn finishes_within(cmd: &[String], limit: std::time::Duration) -> bool {
    let Ok(mut child) = Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return true;
    };
    let start = Instant::now();
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

fn on_path(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 5;
    let mut callgrind = false;
    let mut lib_only = false;
    let mut dirs = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => runs = it.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--callgrind" => callgrind = true,
            "--lib-only" => lib_only = true,
            d => dirs.push(PathBuf::from(d)),
        }
    }
    if dirs.is_empty() {
        let base = Path::new(env!("CARGO_MANIFEST_DIR"));
        let shared = [base.join("../../shared"), base.join("../shared")]
            .into_iter()
            .find(|p| p.is_dir())
            .expect("../shared not found; give directories");
        dirs.push(shared);
    }

    let mut files = Vec::new();
    for d in &dirs {
        nix_files(d, &mut files);
    }
    let tmp = std::env::temp_dir().join(format!("tvix-fmt-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temporary directory");
    let big = tmp.join("generated.nix");
    std::fs::write(&big, generated()).expect("write generated file");
    files.push(big.clone());

    // Files that are not UTF-8 are left out: nixpkgs-fmt stops at the first one.
    let (files, sources): (Vec<PathBuf>, Vec<String>) = files
        .into_iter()
        .filter_map(|f| {
            let s = std::fs::read_to_string(&f).ok()?;
            Some((f, s))
        })
        .unzip();
    let bytes: usize = sources.iter().map(|s| s.len()).sum();
    let opts = tvix_fmt::Options::default();

    if lib_only {
        let ok = sources
            .iter()
            .filter(|s| tvix_fmt::format(s, &opts).is_ok())
            .count();
        println!("formatted {ok} of {} files", sources.len());
        let _ = std::fs::remove_dir_all(&tmp);
        return;
    }

    let ok = sources
        .iter()
        .filter(|s| tvix_fmt::format(s, &opts).is_ok())
        .count();
    println!(
        "{} files ({ok} valid Nix), {bytes} bytes, including a generated {}-byte file",
        files.len(),
        sources.last().map_or(0, |s| s.len()),
    );
    let mut lib = f64::INFINITY;
    for _ in 0..runs {
        let start = Instant::now();
        for s in &sources {
            std::hint::black_box(tvix_fmt::format(s, &opts).ok());
        }
        lib = lib.min(start.elapsed().as_secs_f64());
    }
    println!(
        "library (in process)      {:>7.3} s  {:>6.1} ns/byte  {:>5.1} MB/s   (min of {runs})",
        lib,
        lib * 1e9 / bytes as f64,
        bytes as f64 / lib / 1e6
    );

    let tvix = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.parent()?.join("tvix")))
        .filter(|p| p.is_file());
    let mut tools: Vec<(&str, Option<Vec<String>>)> = vec![(
        "tvix fmt",
        tvix.map(|t| {
            let t = t.display().to_string();
            ["fmt", "--check", "--jobs", "1"]
                .iter()
                .fold(vec![t], |mut v, a| {
                    v.push(a.to_string());
                    v
                })
        }),
    )];
    let cmd = |xs: &[&str]| Some(xs.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    tools.push((
        "alejandra",
        on_path("alejandra")
            .then(|| cmd(&["alejandra", "--check", "--threads", "1"]))
            .flatten(),
    ));
    tools.push((
        "nixpkgs-fmt",
        on_path("nixpkgs-fmt")
            .then(|| cmd(&["nixpkgs-fmt", "--check"]))
            .flatten(),
    ));

    // Leave out files any tool needs more than a minute for on its own.
    let limit = std::time::Duration::from_secs(60);
    let mut kept = Vec::new();
    let mut kept_bytes = 0;
    for (f, src) in files.iter().zip(&sources) {
        let path = f.display().to_string();
        let slow: Vec<&str> = tools
            .iter()
            .filter_map(|(name, c)| {
                let mut c = c.clone()?;
                c.push(path.clone());
                (!finishes_within(&c, limit)).then_some(*name)
            })
            .collect();
        if slow.is_empty() {
            kept.push(path);
            kept_bytes += src.len();
        } else {
            println!("left out (over 60 s in {}): {path}", slow.join(", "));
        }
    }
    let bytes = kept_bytes;
    println!("compared: {} files, {bytes} bytes", kept.len());
    let tools: Vec<(&str, Option<Vec<String>>)> = tools
        .into_iter()
        .map(|(n, c)| {
            (
                n,
                c.map(|mut c| {
                    c.extend(kept.iter().cloned());
                    c
                }),
            )
        })
        .collect();

    println!("whole process, one thread, min of {runs} runs:");
    let mut results = Vec::new();
    for (name, cmd) in &tools {
        let Some(cmd) = cmd else {
            println!("  {name:<12} not found, skipped (tvix: cargo build --release -p tvix)");
            continue;
        };
        let Some(t) = time_process(cmd, runs) else {
            println!("  {name:<12} failed to run");
            continue;
        };
        let ins = if callgrind { instructions(cmd) } else { None };
        let cpu = t.cpu.map_or("   n/a".into(), |c| {
            format!("{:>6.1}", c * 1e9 / bytes as f64)
        });
        let ins_s = ins.map_or(String::new(), |i| {
            format!("  {:>6.0} instr/byte", i as f64 / bytes as f64)
        });
        println!(
            "  {name:<12} wall {:>7.3} s  {:>6.1} ns/byte   cpu {cpu} ns/byte{ins_s}",
            t.wall,
            t.wall * 1e9 / bytes as f64,
        );
        results.push((*name, t, ins));
    }
    if let Some((_, ours, our_ins)) = results.iter().find(|(n, ..)| *n == "tvix fmt") {
        for (name, t, ins) in results.iter().filter(|(n, ..)| *n != "tvix fmt") {
            let mut line = format!(
                "  tvix fmt vs {name}: {:.2}x faster (wall)",
                t.wall / ours.wall
            );
            if let (Some(a), Some(b)) = (ours.cpu, t.cpu) {
                line += &format!(", {:.2}x (cpu)", b / a);
            }
            if let (Some(a), Some(b)) = (our_ins, ins) {
                line += &format!(", {:.2}x (instructions)", *b as f64 / *a as f64);
            }
            println!("{line}");
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
