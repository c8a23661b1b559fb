//! Bad input is an error, never a panic: every prefix-cut of the corpus files (most of
//! them syntax errors) goes through `format` and `format_range` without panicking.

use std::path::{Path, PathBuf};

use tvix_fmt::{format, format_range, Options};

fn nix_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            nix_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "nix") {
            out.push(p);
        }
    }
}

#[test]
fn truncated_inputs_do_not_panic() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(shared) = [base.join("../../shared"), base.join("../shared")]
        .into_iter()
        .find(|p| p.is_dir())
    else {
        eprintln!("skipping: ../shared not found");
        return;
    };
    let mut files = Vec::new();
    nix_files(&shared.join("nixfmt-tests"), &mut files);
    nix_files(&shared.join("nix-lang-tests"), &mut files);
    files.sort();
    let opts = Options::default();
    let (mut ok, mut errors) = (0, 0);
    for f in files.iter().step_by(3) {
        let Ok(src) = std::fs::read_to_string(f) else {
            continue;
        };
        let len = src.len();
        for k in 1..8 {
            let mut cut = len * k / 8;
            while !src.is_char_boundary(cut) {
                cut -= 1;
            }
            let piece = &src[..cut];
            match format(piece, &opts) {
                Ok(_) => ok += 1,
                Err(e) => {
                    let (line, col) = e.location();
                    assert!(line >= 1 && col >= 1);
                    errors += 1;
                }
            }
            let _ = format_range(piece, cut / 3..cut / 2, &opts);
        }
    }
    println!("{ok} formatted, {errors} rejected");
    assert!(errors > 0);
}
