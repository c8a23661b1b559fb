//! Differential checks against C++ Nix: the same expressions, printed the same way.
//! Skipped (with a printed reason) where `nix-instantiate` is not installed.

use std::process::Command;

const EXPRS: &[&str] = &[
    "1 + 2 * 3 - 4 / 2",
    "[ 0.1 1.0 2.5e-7 123456789.0 (1 / 3.0) ]",
    "rec { a = 1; b = a + 1; c = { inherit a b; }; }",
    "let f = { x, y ? x * 2, ... }@args: [ x y (args ? z) ]; in f { x = 3; z = 1; }",
    "builtins.sort builtins.lessThan [ 5 3 9 1 ]",
    "builtins.toJSON { a = [ 1 \"x\" null true 1.5 ]; b.c = \"d\"; }",
    "builtins.fromJSON ''{\"a\": [1, 2.5, \"s\"], \"b\": null}''",
    "builtins.match \"([a-z]+)-([0-9.]+)\" \"hello-2.10\"",
    "builtins.split \"(a)|b\" \"xaybz\"",
    "builtins.compareVersions \"1.2.3pre\" \"1.2.3\"",
    "builtins.hashString \"sha1\" \"tvix\"",
    "builtins.tryEval (throw \"no\")",
    "builtins.mapAttrs (n: v: n + toString v) { a = 1; b = 2; }",
    "with builtins; concatStringsSep \",\" (map toString (genList (x: x * x) 5))",
    "let x = { a = 1; }; in [ x x ]",
    "(derivation { name = \"d\"; system = \"x86_64-linux\"; builder = \"/bin/sh\"; args = [ \"-c\" \"echo\" ]; }).outPath",
    "(derivation { name = \"m\"; system = \"x\"; builder = \"/bin/sh\"; outputs = [ \"out\" \"lib\" ]; }).lib.drvPath",
    "builtins.placeholder \"out\"",
];

/// A path met inside a coercion (an `outPath`) is copied to the store as a plain one is
/// (absolute: the expressions have no directory of their own).
fn path_coercion() -> String {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    format!(
        "let d = {{ outPath = {p}; }}; in [ (builtins.stringLength d) \
         (builtins.concatStringsSep \",\" [ d \"${{{p}}}\" ]) (toString d) ]"
    )
}

#[test]
fn agrees_with_nix_instantiate() {
    let have_nix = Command::new("nix-instantiate")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_nix {
        eprintln!("skipping: nix-instantiate is not installed");
        return;
    }
    let mut failures = Vec::new();
    let exprs = EXPRS.iter().map(|e| e.to_string()).chain([path_coercion()]);
    for e in exprs {
        let e = e.as_str();
        let out = Command::new("nix-instantiate")
            .args(["--eval", "--strict", "-E", e])
            .output()
            .expect("nix-instantiate runs");
        let want = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
        match tvix_eval::eval_to_string(e) {
            Ok(got) if got == want => {}
            Ok(got) => failures.push(format!("{e}\n  tvix: {got}\n  nix:  {want}")),
            Err(err) => failures.push(format!("{e}\n  tvix error: {err}\n  nix:  {want}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
