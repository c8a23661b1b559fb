//! The module system's own test suite: Nixpkgs' `lib/tests/modules.sh` (in
//! `../shared/workloads/nixpkgs-lib`), run as it is, with `tvix eval` standing in for
//! `nix-instantiate`. Its ~230 checks compare `--json` results and match error messages
//! (`addErrorContext` traces included) against what C++ Nix prints.

use std::path::Path;
use std::process::Command;

/// Checks that cannot pass in an evaluator without a builder, each with why.
const EXPECTED_FAILURES: &[(&str, &str)] = &[(
    "./import-from-store.nix",
    "imports a derivation's output (import from derivation), which needs a build",
)];

#[test]
fn nixpkgs_module_tests_pass() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/workloads/nixpkgs-lib/lib/tests/modules.sh");
    if !script.exists() {
        eprintln!("skipping: {} is not beside the checkout", script.display());
        return;
    }
    // The script calls `nix-instantiate --timeout 1 -E EXPR -A ATTR --eval-only
    // --show-trace --read-write-mode --json`; the shim drops what `tvix eval` has no
    // use for (it evaluates only, and has no time limit to set).
    let shim = tempfile::tempdir().expect("temp dir");
    let shim_path = shim.path().join("nix-instantiate");
    std::fs::write(
        &shim_path,
        r#"#!/usr/bin/env bash
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) shift 2;;
    --eval-only|--read-write-mode) shift;;
    *) args+=("$1"); shift;;
  esac
done
exec "$TVIX_BIN" eval "${args[@]}"
"#,
    )
    .expect("write shim");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&shim_path, std::fs::Permissions::from_mode(0o755))
            .expect("chmod shim");
    }
    let path = format!(
        "{}:{}",
        shim.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg(&script)
        .env("PATH", path)
        .env("TVIX_BIN", env!("CARGO_BIN_EXE_tvix"))
        .output()
        .expect("run bash");
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
    let unexpected: Vec<&&str> = failed
        .iter()
        .filter(|l| !EXPECTED_FAILURES.iter().any(|(file, _)| l.contains(file)))
        .collect();
    let passed = text
        .lines()
        .find_map(|l| l.strip_suffix(" Pass")?.trim().parse::<usize>().ok())
        .unwrap_or(0);
    println!(
        "module tests: {passed} passed, {} failed ({} expected)",
        failed.len(),
        failed.len() - unexpected.len()
    );
    assert!(
        unexpected.is_empty(),
        "module tests failing:\n{}\n\nfull output:\n{text}",
        unexpected
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The suite ran (a missing shim or an early script error passes nothing).
    assert!(passed >= 200, "only {passed} checks passed:\n{text}");
}
