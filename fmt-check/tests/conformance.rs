//! Conformance with the reference formatter's test corpus (../shared/nixfmt-tests, see
//! its SOURCE.md). Prints the counts per category and the cases that differ, and fails
//! if a count falls below what has been reached (so regressions are caught).
//! Set NIXFMT_SHOW=name to print the expected and actual output of one case.

use std::path::{Path, PathBuf};

use tvix_fmt::{format, Options};

/// Counts reached so far; raise them as the formatter improves.
const MIN_CORRECT: usize = 20;
const MIN_DIFF: usize = 56;
const MIN_DIFF_STRICT: usize = 56;
const MIN_INVALID: usize = 8;

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/nixfmt-tests");
    let p2 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/nixfmt-tests");
    [p, p2].into_iter().find(|p| p.is_dir())
}

fn sorted(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn show(name: &str, expected: &str, got: &str) {
    if std::env::var("NIXFMT_SHOW").is_ok_and(|s| s == name) {
        println!("===== expected {name}\n{expected}===== got\n{got}=====");
        let diff = similar_lines(expected, got);
        println!("{diff}");
    }
}

fn similar_lines(a: &str, b: &str) -> String {
    let mut out = String::new();
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            out.push_str(&format!(
                "first difference at line {}:\n- {x}\n+ {y}\n",
                i + 1
            ));
            break;
        }
    }
    out
}

#[test]
fn nixfmt_corpus() {
    let Some(root) = corpus() else {
        eprintln!("skipping: ../shared/nixfmt-tests not found");
        return;
    };
    let w80 = Options {
        width: 80,
        ..Options::default()
    };
    let mut failed = Vec::new();

    // The reference's test runner formats everything at width 80 (`nixfmt -w 80`),
    // `correct-indent-4.nix` included. `correct/` files must also be stable at the
    // default width, as users run it.
    let mut correct = (0, 0);
    for f in sorted(&root.join("correct")) {
        let src = std::fs::read_to_string(&f).unwrap();
        let name = f.file_stem().unwrap().to_string_lossy().to_string();
        correct.1 += 1;
        let mut ok = true;
        for opts in [w80.clone(), Options::default()] {
            match format(&src, &opts) {
                Ok(out) if out == src => {}
                Ok(out) => {
                    show(&name, &src, &out);
                    failed.push(format!("correct/{name} (width {})", opts.width));
                    ok = false;
                }
                Err(e) => {
                    failed.push(format!("correct/{name}: {e}"));
                    ok = false;
                }
            }
        }
        correct.0 += usize::from(ok);
    }
    let ind4 = root.join("correct-indent-4.nix");
    if let Ok(src) = std::fs::read_to_string(&ind4) {
        correct.1 += 1;
        match format(
            &src,
            &Options {
                indent: 4,
                ..w80.clone()
            },
        ) {
            Ok(out) if out == src => correct.0 += 1,
            Ok(out) => {
                show("correct-indent-4", &src, &out);
                failed.push("correct-indent-4".into());
            }
            Err(e) => failed.push(format!("correct-indent-4: {e}")),
        }
    }

    let mut diff = (0, 0);
    let mut strict = (0, 0);
    for d in sorted(&root.join("diff")) {
        let name = d.file_name().unwrap().to_string_lossy().to_string();
        let Ok(src) = std::fs::read_to_string(d.join("in.nix")) else {
            continue;
        };
        for (file, opts, count, tag) in [
            ("out.nix", w80.clone(), &mut diff, ""),
            (
                "out-pure.nix",
                Options {
                    strict: true,
                    ..w80.clone()
                },
                &mut strict,
                " (strict)",
            ),
        ] {
            let Ok(expected) = std::fs::read_to_string(d.join(file)) else {
                continue;
            };
            count.1 += 1;
            match format(&src, &opts) {
                Ok(out) if out == expected => count.0 += 1,
                Ok(out) => {
                    if tag.is_empty() {
                        show(&name, &expected, &out);
                    }
                    failed.push(format!("diff/{name}{tag}"));
                }
                Err(e) => failed.push(format!("diff/{name}{tag}: {e}")),
            }
        }
    }

    let mut invalid = (0, 0);
    for f in sorted(&root.join("invalid")) {
        let src = std::fs::read_to_string(&f).unwrap();
        invalid.1 += 1;
        match format(&src, &Options::default()) {
            Err(_) => invalid.0 += 1,
            Ok(_) => failed.push(format!(
                "invalid/{} was accepted",
                f.file_name().unwrap().to_string_lossy()
            )),
        }
    }

    println!("correct: {}/{}", correct.0, correct.1);
    println!("diff:    {}/{}", diff.0, diff.1);
    println!("strict:  {}/{}", strict.0, strict.1);
    println!("invalid: {}/{}", invalid.0, invalid.1);
    for f in &failed {
        println!("differs: {f}");
    }
    assert!(
        correct.0 >= MIN_CORRECT,
        "correct regressed: {} < {MIN_CORRECT}",
        correct.0
    );
    assert!(
        diff.0 >= MIN_DIFF,
        "diff regressed: {} < {MIN_DIFF}",
        diff.0
    );
    assert!(
        strict.0 >= MIN_DIFF_STRICT,
        "strict regressed: {} < {MIN_DIFF_STRICT}",
        strict.0
    );
    assert!(
        invalid.0 >= MIN_INVALID,
        "invalid regressed: {} < {MIN_INVALID}",
        invalid.0
    );
}
