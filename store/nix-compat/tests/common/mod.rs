//! Helpers shared by the differential tests against C++ Nix.

#![allow(dead_code)]

use std::process::Command;

/// Whether `tool` (a C++ Nix binary) can be run; prints why a test is skipped if not.
pub fn have(tool: &str, test: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("skipping {test}: `{tool}` (C++ Nix) is not installed");
    }
    ok
}

/// Run a command, panic with its stderr if it fails, return stdout.
pub fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub fn run_str(cmd: &mut Command) -> String {
    String::from_utf8(run(cmd)).unwrap().trim().to_owned()
}
