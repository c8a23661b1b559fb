//! `tvix fmt` end to end: in-place formatting, --check, --diff, stdin, .gitignore, and
//! files with syntax errors left untouched while the others are formatted.

use std::path::Path;
use std::process::{Command, Stdio};

fn tvix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tvix"))
}

fn write(p: &Path, s: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, s).unwrap();
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

const UGLY: &str = "{a=1;b=[1 2];}\n";
const PRETTY: &str = "{\n  a = 1;\n  b = [\n    1\n    2\n  ];\n}\n";

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(&d.join("a.nix"), UGLY);
    write(&d.join("sub/b.nix"), UGLY);
    write(&d.join("ok.nix"), PRETTY);
    write(&d.join("broken.nix"), "{\n  a = ;\n}\n");
    write(&d.join("ignored/c.nix"), UGLY);
    write(&d.join("notes.txt"), UGLY);
    write(&d.join(".gitignore"), "ignored/\n");
    dir
}

#[test]
fn check_lists_changes_and_touches_nothing() {
    let dir = tree();
    let d = dir.path();
    let out = tvix().args(["fmt", "--check"]).arg(d).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("a.nix"), "{stdout}");
    assert!(stdout.contains("b.nix"), "{stdout}");
    assert!(!stdout.contains("ok.nix"), "{stdout}");
    assert!(
        !stdout.contains("c.nix"),
        "gitignored file listed: {stdout}"
    );
    assert!(
        stderr.contains("broken.nix:2:"),
        "syntax error location missing: {stderr}"
    );
    assert_eq!(read(&d.join("a.nix")), UGLY);
}

#[test]
fn formats_in_place_and_leaves_broken_files() {
    let dir = tree();
    let d = dir.path();
    let out = tvix().arg("fmt").arg(d).output().unwrap();
    // exit 1 because of broken.nix, but the others are formatted
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(read(&d.join("a.nix")), PRETTY);
    assert_eq!(read(&d.join("sub/b.nix")), PRETTY);
    assert_eq!(read(&d.join("ignored/c.nix")), UGLY);
    assert_eq!(read(&d.join("notes.txt")), UGLY);
    assert_eq!(read(&d.join("broken.nix")), "{\n  a = ;\n}\n");
    // no temporary files left behind
    let leftovers: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
    // formatted files are now clean
    let out = tvix()
        .args(["fmt", "--check"])
        .arg(d.join("a.nix"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn diff_prints_unified_diff() {
    let dir = tree();
    let a = dir.path().join("a.nix");
    let out = tvix().args(["fmt", "--diff"]).arg(&a).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("-{a=1;b=[1 2];}"), "{stdout}");
    assert!(stdout.contains("+  a = 1;"), "{stdout}");
    assert_eq!(read(&a), UGLY);
}

#[test]
fn stdin_to_stdout_with_options() {
    let mut child = tvix()
        .args(["fmt", "--width", "10", "--indent", "4", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"{a=1;}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "{ a = 1; }\n");

    let mut child = tvix()
        .args(["fmt", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"{a=;}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("<stdin>:1:"));
}
