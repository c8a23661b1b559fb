//! Our own language cases: `okay-*.nix` must print (deeply forced) exactly the `.exp`
//! next to it; `fail-*.nix` must fail with a message containing the `.err` text.

use std::path::Path;

fn cases(prefix: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .expect("tests/cases exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "nix")
                && p.file_name().unwrap().to_string_lossy().starts_with(prefix)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn okay_cases_print_their_expectation() {
    let mut failures = Vec::new();
    for p in cases("okay-") {
        // Files are bytes (a case may hold bytes that are not UTF-8).
        let src = tvix_eval::source_bytes::decode(&std::fs::read(&p).unwrap()).into_owned();
        let exp = std::fs::read_to_string(p.with_extension("exp")).unwrap();
        match tvix_eval::eval_to_string(&src) {
            Ok(out) if out == exp.trim_end() => {}
            Ok(out) => failures.push(format!(
                "{}: got {out}, want {}",
                p.display(),
                exp.trim_end()
            )),
            Err(e) => failures.push(format!("{}: error {}", p.display(), e.render(false))),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn fail_cases_fail_with_their_message() {
    let mut failures = Vec::new();
    let all = cases("fail-");
    assert!(!all.is_empty());
    for p in all {
        // Files are bytes (a case may hold bytes that are not UTF-8).
        let src = tvix_eval::source_bytes::decode(&std::fs::read(&p).unwrap()).into_owned();
        let want = std::fs::read_to_string(p.with_extension("err")).unwrap();
        match tvix_eval::eval_to_string(&src) {
            Ok(out) => failures.push(format!("{}: succeeded with {out}", p.display())),
            Err(e) => {
                let msg = e.render(true);
                if !msg.contains(want.trim_end()) {
                    failures.push(format!(
                        "{}: message {msg:?} lacks {:?}",
                        p.display(),
                        want.trim_end()
                    ));
                }
                // Errors are located.
                if e.location.is_none() {
                    failures.push(format!("{}: error without location", p.display()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
