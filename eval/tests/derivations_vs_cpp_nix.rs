//! Derivations and store paths against C++ Nix: the same file is instantiated by
//! `nix-instantiate` (which writes the `.drv` files, sources and texts to /nix/store)
//! and evaluated by tvix-eval; every `drvPath` and output path must agree, every
//! derivation handed to EvalIO must serialise to the bytes of the `.drv` C++ Nix
//! wrote, and every added path must have the contents C++ Nix stored.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;

use nix_compat::{StoreDir, StorePath};
use tvix_eval::io::StdIO;
use tvix_eval::pending::{thread_default, StoreAddition};
use tvix_eval::{BuiltinConfig, Evaluator, Value};

fn nix_available() -> bool {
    Command::new("nix-instantiate")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/derivations")
}

/// For every derivation in the set: its drvPath and each output's path.
fn paths_expr(file: &Path) -> String {
    format!(
        "builtins.mapAttrs (n: d: {{ drvPath = d.drvPath; outs = builtins.listToAttrs \
         (map (o: {{ name = o; value = d.${{o}}.outPath; }}) (d.outputs or [ \"out\" ])); }}) \
         (import {})",
        file.display()
    )
}

fn eval_tvix(expr: &str) -> Result<String, String> {
    let mut ev = Evaluator::new(Rc::new(StdIO), &BuiltinConfig::default(), |_| {});
    match ev.eval_strict(&format!("builtins.toJSON ({expr})")) {
        Ok(Value::String(s)) => Ok(s.to_str_lossy().into_owned()),
        Ok(_) => Err("not a string".into()),
        Err(e) => Err(e.render(false)),
    }
}

#[test]
fn derivations_match_nix_instantiate() {
    if !nix_available() {
        eprintln!("skipping derivations_match_nix_instantiate: nix-instantiate is not installed");
        return;
    }
    // C++ Nix must be able to write the .drv files we compare with.
    let probe = Command::new("nix-instantiate")
        .args([
            "--eval",
            "--read-write-mode",
            "-E",
            "builtins.toFile \"tvix-probe\" \"x\"",
        ])
        .output()
        .expect("running nix-instantiate");
    if !probe.status.success() {
        eprintln!(
            "skipping derivations_match_nix_instantiate: nix-instantiate cannot write to the store: {}",
            String::from_utf8_lossy(&probe.stderr)
        );
        return;
    }
    let file = cases_dir().join("cases.nix");
    let expr = paths_expr(&file);
    let out = Command::new("nix-instantiate")
        .args([
            "--eval",
            "--strict",
            "--json",
            "--read-write-mode",
            "-E",
            &expr,
        ])
        .output()
        .expect("running nix-instantiate");
    assert!(
        out.status.success(),
        "nix-instantiate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cpp: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let ours: serde_json::Value = serde_json::from_str(&eval_tvix(&expr).unwrap()).unwrap();
    let cpp_set = cpp.as_object().unwrap();
    assert!(cpp_set.len() >= 15, "the case file lost derivations");
    for (name, want) in cpp_set {
        assert_eq!(Some(want), ours.get(name), "paths of derivation '{name}'");
    }

    // Everything the evaluation handed to EvalIO, against what C++ Nix stored.
    let (drvs, additions) = thread_default().take();
    let dir = StoreDir::default();
    for (name, want) in cpp_set {
        let drv_path = want["drvPath"].as_str().unwrap();
        let p: StorePath = dir.parse(drv_path.as_bytes()).unwrap();
        assert!(
            drvs.contains_key(&p),
            "derivation '{name}' was not handed to EvalIO"
        );
    }
    for (path, drv) in &drvs {
        let on_disk = std::fs::read(dir.display(path)).expect("C++ Nix wrote this .drv");
        let ours = drv.to_aterm(&dir);
        assert!(
            on_disk == ours,
            "ATerm of {} differs:\n  nix:  {}\n  tvix: {}",
            dir.display(path),
            String::from_utf8_lossy(&on_disk),
            String::from_utf8_lossy(&ours)
        );
    }
    assert!(drvs.len() >= 15, "only {} derivations recorded", drvs.len());
    let mut sources = 0;
    let mut texts = 0;
    for (path, what) in &additions {
        let shown = dir.display(path);
        match what {
            StoreAddition::Source { nar, .. } => {
                let dump = Command::new("nix-store")
                    .args(["--dump", &shown])
                    .output()
                    .unwrap();
                assert!(dump.status.success(), "C++ Nix did not store {shown}");
                assert!(dump.stdout == *nar, "NAR of {shown} differs");
                sources += 1;
            }
            StoreAddition::Text { contents, .. } => {
                assert_eq!(
                    std::fs::read(&shown).unwrap(),
                    *contents,
                    "contents of {shown}"
                );
                texts += 1;
            }
        }
    }
    // src, build.sh, filtered, flat, pinned, filterSource, data.txt; three texts.
    assert!(
        sources >= 6 && texts == 3,
        "{sources} sources and {texts} texts recorded"
    );
    eprintln!(
        "{} derivations, {sources} sources and {texts} texts identical to C++ Nix",
        drvs.len()
    );
}

/// Each `errors/X.nix` must fail in tvix-eval with a message containing `X.exp`, and
/// fail in C++ Nix too when it is installed (except the fetchers, which it would run).
#[test]
fn derivation_errors() {
    let dir = cases_dir().join("errors");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "nix"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 8);
    let nix = nix_available();
    if !nix {
        eprintln!("derivation_errors: nix-instantiate is not installed; checking tvix-eval only");
    }
    for case in cases {
        let want = std::fs::read_to_string(case.with_extension("exp")).unwrap();
        let expr = format!("import {}", case.display());
        let mut ev = Evaluator::new(Rc::new(StdIO), &BuiltinConfig::default(), |_| {});
        let got = match ev.eval_strict(&expr) {
            Ok(_) => panic!("{} evaluated without error", case.display()),
            Err(e) => e.render(false),
        };
        assert!(
            got.contains(want.trim()),
            "{}: expected an error containing {:?}, got:\n{got}",
            case.display(),
            want.trim()
        );
        // C++ Nix would try the network for the fetchers.
        let fetcher = case
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("fetch"));
        if nix && !fetcher {
            let out = Command::new("nix-instantiate")
                .args(["--eval", "--strict"])
                .arg(&case)
                .output()
                .unwrap();
            assert!(!out.status.success(), "C++ Nix accepts {}", case.display());
        }
    }
}
