//! The cases of ../shared/nix-lang-tests that involve derivations, store paths and
//! their string contexts (the whole corpus is run by the conformance harness; this
//! keeps the derivation builtins honest on their own). Skipped with a message when the
//! corpus is not beside the workspace.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use tvix_eval::io::StdIO;
use tvix_eval::{BuiltinConfig, Evaluator};

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/nix-lang-tests");
    // Real paths, as the reference sees them: `./.` must not be a symlink.
    std::fs::canonicalize(p).ok()
}

const KEYWORDS: &[&str] = &[
    "derivation",
    "toFile",
    "placeholder",
    "storePath",
    "builtins.path",
    "filterSource",
];

fn cases(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with(prefix) && name.ends_with(".nix") && {
                let text = std::fs::read_to_string(p).unwrap_or_default();
                KEYWORDS.iter().any(|k| text.contains(k))
            }
        })
        .collect();
    out.sort();
    out
}

fn eval(file: &Path) -> Result<String, String> {
    let mut ev = Evaluator::new(Rc::new(StdIO), &BuiltinConfig::default(), |_| {});
    ev.eval_strict(&format!("import {}", file.display()))
        .map(|v| String::from_utf8_lossy(&tvix_eval::print::print_value(&v)).into_owned())
        .map_err(|e| e.render(false))
}

/// Known not to pass here, with the reason.
const OKAY_EXCEPTIONS: &[(&str, &str)] = &[(
    "eval-okay-pathexists.nix",
    "needs the corpus in a directory named `lang` (it looks for ../lang/lib.nix)",
)];

#[test]
fn derivation_cases_of_the_language_corpus() {
    let Some(dir) = corpus() else {
        eprintln!("skipping: ../shared/nix-lang-tests is not present");
        return;
    };
    let mut failures = Vec::new();
    let okay = cases(&dir, "eval-okay-");
    let mut passed = 0;
    for f in &okay {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if OKAY_EXCEPTIONS.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let want = std::fs::read_to_string(f.with_extension("exp")).unwrap_or_default();
        match eval(f) {
            Ok(got) if got.replace(&*dir.to_string_lossy(), "/pwd/lang") == want.trim_end() => {
                passed += 1
            }
            Ok(got) => failures.push(format!("{name}: got {got}")),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    let fail = cases(&dir, "eval-fail-");
    let mut failed_cleanly = 0;
    for f in &fail {
        match eval(f) {
            Err(_) => failed_cleanly += 1,
            Ok(v) => failures.push(format!("{}: evaluated to {v}", f.display())),
        }
    }
    eprintln!(
        "derivation-related corpus cases: eval-okay {passed}/{}, eval-fail {failed_cleanly}/{}",
        okay.len(),
        fail.len()
    );
    assert!(
        okay.len() >= 7 && fail.len() >= 30,
        "the corpus lost its derivation cases"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
