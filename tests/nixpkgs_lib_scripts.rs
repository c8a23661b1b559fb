//! Nixpkgs' own shell tests of its library (in `../shared/workloads/nixpkgs-lib/lib/tests`),
//! run as they are, with `tvix eval` standing in for `nix-instantiate --eval`:
//! `modules.sh`, the module system's ~230 checks, which compare `--json` results and
//! match error messages (`addErrorContext` traces included) against what C++ Nix prints,
//! and `filesystem.sh`. (`sources.sh` lists the sources it imports with `find`, which
//! needs them written to a real store; an evaluator does not write them.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `lib/tests/NAME` with the shim first on `PATH`; `None` (after saying so) where
/// the scripts are not beside the checkout.
fn run_script(name: &str) -> Option<Output> {
    let script: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/workloads/nixpkgs-lib/lib/tests")
        .join(name);
    if !script.exists() {
        eprintln!("skipping: {} is not beside the checkout", script.display());
        return None;
    }
    // `tests/shim/nix-instantiate` runs `tvix eval` in its place.
    let shim = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/shim");
    let path = format!(
        "{}:{}",
        shim.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Some(
        Command::new("bash")
            .arg(&script)
            .env("PATH", path)
            .env("TVIX_BIN", env!("CARGO_BIN_EXE_tvix"))
            .output()
            .expect("run bash"),
    )
}

#[test]
fn filesystem_sh_passes() {
    let Some(out) = run_script("filesystem.sh") else {
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.contains("tests ok"),
        "filesystem.sh failed:\n{stderr}"
    );
}

#[test]
fn modules_sh_passes() {
    let Some(out) = run_script("modules.sh") else {
        return;
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Each failed check is reported as `$ nix-instantiate -E 'import ./default.nix {
    // modules = [ FILES ];}' -A 'ATTR' ...`.
    let failed: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("$ nix-instantiate"))
        .collect();
    let passed = text
        .lines()
        .find_map(|l| l.strip_suffix(" Pass")?.trim().parse::<usize>().ok())
        .unwrap_or(0);
    println!("module tests: {passed} passed, {} failed", failed.len());
    assert!(
        failed.is_empty(),
        "module tests failing:\n{}\n\nfull output:\n{text}",
        failed.join("\n")
    );
    // Every check ran and passed (a missing shim or an early script error passes
    // nothing): one per `checkConfigOutput`/`checkConfigError` line of the script.
    let script = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/workloads/nixpkgs-lib/lib/tests/modules.sh"),
    )
    .expect("modules.sh readable");
    let checks = script
        .lines()
        .filter(|l| l.starts_with("checkConfigOutput ") || l.starts_with("checkConfigError "))
        .count();
    assert_eq!(passed, checks, "not every check passed:\n{text}");
}
