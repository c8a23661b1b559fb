//! `tvix repl` end to end, its input piped in as a script would type it.

use std::io::Write;
use std::process::{Command, Stdio};

fn session(input: &str) -> (String, String) {
    let home = tempfile::tempdir().unwrap();
    session_in(home.path(), input)
}

fn session_in(home: &std::path::Path, input: &str) -> (String, String) {
    session_with(home, &[], input)
}

fn session_with(home: &std::path::Path, flags: &[&str], input: &str) -> (String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tvix"))
        .arg("repl")
        .args(flags)
        .env("XDG_DATA_HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "repl exited with {}",
        output.status
    );
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn binds_evaluates_and_survives_errors() {
    let (out, err) = session("x = 20\nx * 2 + 2\n:p { a.b = x; }\nnope\n:t x\n:q\n");
    assert_eq!(out, "42\n\n{ a = { b = 20; }; }\n\nint\n\n");
    assert!(err.contains("undefined variable 'nope'"), "{err}");
}

#[test]
fn ends_at_end_of_input() {
    let (out, _) = session("1 + 1\n");
    assert_eq!(out, "2\n\n");
}

#[test]
fn keeps_history_between_sessions() {
    let home = tempfile::tempdir().unwrap();
    session_in(home.path(), "y = 1\n:q\n");
    session_in(home.path(), "y2 = 2\n");
    let history = std::fs::read_to_string(home.path().join("tvix/repl-history")).unwrap();
    let y = history.find("y = 1").expect("first session's line kept");
    let y2 = history.find("y2 = 2").expect("second session's line kept");
    assert!(y < y2, "{history}");
}

#[test]
fn loads_files_with_the_flags_of_tvix_eval() {
    let home = tempfile::tempdir().unwrap();
    let pkg = home.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    std::fs::write(
        pkg.join("default.nix"),
        "{ n, s }: { out = n * 2; inherit s; }",
    )
    .unwrap();
    std::os::unix::fs::symlink(&pkg, home.path().join("alias")).unwrap();
    let flags = ["--arg", "n", "21", "--argstr", "s", "text"];
    let input = format!(":l {}\nout\ns\n", home.path().join("alias").display());
    let (out, err) = session_with(home.path(), &flags, &input);
    assert_eq!(out, "Added 2 variables.\n\n42\n\n\"text\"\n\n", "{err}");
}
