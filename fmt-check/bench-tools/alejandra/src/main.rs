//! A stand-in for alejandra's command (only its library is on crates.io), for the
//! formatter benchmark: `alejandra [--check] [--threads N] PATH...` formats the files
//! (directories are walked for `.nix` files) with `alejandra::format::in_fs` on N
//! threads (default 4, as upstream). The library itself installs mimalloc as the global
//! allocator, as upstream's command does. `--check` changes nothing.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Explicit files as given; `.nix` files below directories.
fn walk(p: PathBuf, explicit: bool, out: &mut Vec<String>) {
    if p.is_dir() {
        if let Ok(rd) = std::fs::read_dir(&p) {
            for e in rd.flatten() {
                walk(e.path(), false, out);
            }
        }
    } else if explicit || p.extension().is_some_and(|x| x == "nix") {
        out.push(p.to_string_lossy().into_owned());
    }
}

fn main() {
    let mut check = false;
    let mut threads = 4usize;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--version" => {
                println!("alejandra {} (library)", alejandra::version::VERSION);
                return;
            }
            "--check" | "-c" => check = true,
            "--quiet" | "-q" => {}
            "--threads" | "-t" => {
                threads = args.next().and_then(|n| n.parse().ok()).unwrap_or(1);
            }
            p => walk(p.into(), true, &mut files),
        }
    }
    let next = AtomicUsize::new(0);
    let changed = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(f) = files.get(i) else { break };
                match alejandra::format::in_fs(f.clone(), !check) {
                    alejandra::format::Status::Changed(true) => {
                        changed.fetch_add(1, Ordering::Relaxed);
                    }
                    alejandra::format::Status::Changed(false) => {}
                    alejandra::format::Status::Error(e) => {
                        eprintln!("{f}: {e}");
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let (changed, failed) = (changed.into_inner(), failed.into_inner());
    eprintln!("{} files, {changed} changed, {failed} failed", files.len());
    std::process::exit(i32::from(failed > 0 || (check && changed > 0)) * 2);
}
