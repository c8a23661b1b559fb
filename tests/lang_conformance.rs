//! Language conformance: runs `../shared/nix-lang-tests` through the `tvix` binary exactly
//! as that corpus's SOURCE.md says the reference runs it, prints one summary line per
//! kind of case, and checks that the cases that fail are exactly the ones listed, with
//! their reasons, in `lang_conformance_known_failures.txt`. A regression fails the test;
//! so does a listed case that now passes, so the list never goes stale.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const KNOWN_FAILURES: &str = include_str!("lang_conformance_known_failures.txt");

/// Generous, because CI runs debug builds on two busy cores; a case that needs more is a bug.
const CASE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    ParseOkay,
    ParseFail,
    EvalOkay,
    EvalFail,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::ParseOkay => "parse-okay",
            Kind::ParseFail => "parse-fail",
            Kind::EvalOkay => "eval-okay",
            Kind::EvalFail => "eval-fail",
        }
    }

    const ALL: [Kind; 4] = [
        Kind::ParseOkay,
        Kind::ParseFail,
        Kind::EvalOkay,
        Kind::EvalFail,
    ];
}

struct Case {
    kind: Kind,
    /// File stem, e.g. `eval-okay-arithmetic`.
    name: String,
}

struct Outcome {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// `None` when the process was killed for running over time or died by a signal.
    code: Option<i32>,
    timed_out: bool,
}

fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/nix-lang-tests");
    dir.is_dir().then(|| dir.canonicalize().unwrap())
}

fn collect_cases(corpus: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(corpus).unwrap() {
        let file_name = entry.unwrap().file_name().into_string().unwrap();
        let Some(stem) = file_name.strip_suffix(".nix") else {
            continue;
        };
        let Some(kind) = Kind::ALL
            .into_iter()
            .find(|k| stem.starts_with(&format!("{}-", k.prefix())))
        else {
            continue;
        };
        // eval-okay cases with no expectation (only `.exp-disabled`) are skipped by the
        // reference too.
        if kind == Kind::EvalOkay
            && !corpus.join(format!("{stem}.exp")).exists()
            && !corpus.join(format!("{stem}.exp.xml")).exists()
        {
            continue;
        }
        cases.push(Case {
            kind,
            name: stem.to_string(),
        });
    }
    cases.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    cases
}

/// Reads `X.flags` as the reference's lang.sh does: `#` starts a comment, words split on
/// whitespace. `--eval` is dropped because `tvix eval` always evaluates.
fn read_flags(corpus: &Path, name: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(corpus.join(format!("{name}.flags"))).ok()?;
    let words = text
        .lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .flat_map(|line| line.split_whitespace())
        .filter(|w| *w != "--eval")
        .map(str::to_string)
        .collect();
    Some(words)
}

fn run(workdir: &Path, args: &[String]) -> Outcome {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tvix"))
        .arg("eval")
        .args(args)
        .current_dir(workdir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NIX_PATH", "lang/dir3:lang/dir4")
        .env("HOME", "/fake-home")
        .env("TEST_VAR", "foo")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tvix");
    // Drain the pipes on their own threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut buf).ok();
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut buf).ok();
        buf
    });
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > CASE_TIMEOUT {
            child.kill().ok();
            timed_out = true;
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Outcome {
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
        code: status.code(),
        timed_out,
    }
}

/// First line of stderr that says something, for the failure report.
fn error_summary(outcome: &Outcome) -> String {
    if outcome.timed_out {
        return format!("timed out after {}s", CASE_TIMEOUT.as_secs());
    }
    let stderr = String::from_utf8_lossy(&outcome.stderr);
    let line = stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && *l != "error:")
        .unwrap_or("(no message)");
    let line: String = line.chars().take(160).collect();
    format!("exit {:?}: {line}", outcome.code)
}

/// A failure because tvix lacks something is not the failure the case asks for.
fn is_missing_feature(outcome: &Outcome) -> bool {
    let stderr = String::from_utf8_lossy(&outcome.stderr);
    stderr.contains("not built yet") || stderr.contains("not implemented")
}

fn replace_pwd(output: &[u8], workdir: &Path) -> Vec<u8> {
    let from = workdir.to_str().unwrap().as_bytes();
    let mut result = Vec::with_capacity(output.len());
    let mut i = 0;
    while i < output.len() {
        if output[i..].starts_with(from) {
            result.extend_from_slice(b"/pwd");
            i += from.len();
        } else {
            result.push(output[i]);
            i += 1;
        }
    }
    result
}

/// Runs one case; `Ok(())` when it behaves as the reference requires, else why not.
fn check(case: &Case, corpus: &Path, workdir: &Path) -> Result<(), String> {
    let file = format!("lang/{}.nix", case.name);
    match case.kind {
        Kind::ParseOkay | Kind::ParseFail => {
            let outcome = run(workdir, &["--parse".into(), file]);
            let parsed = outcome.code == Some(0);
            match (case.kind, parsed) {
                (Kind::ParseOkay, true) | (Kind::ParseFail, false) if !outcome.timed_out => {
                    // A parse failure must be a clean exit 1 naming where the error is.
                    if case.kind == Kind::ParseFail {
                        if outcome.code != Some(1) || is_missing_feature(&outcome) {
                            return Err(error_summary(&outcome));
                        }
                        let stderr = String::from_utf8_lossy(&outcome.stderr);
                        let located = format!("{}.nix:", case.name);
                        if !stderr.contains(&located) {
                            return Err(format!("syntax error without a location: {stderr}"));
                        }
                    }
                    Ok(())
                }
                (Kind::ParseOkay, _) => Err(error_summary(&outcome)),
                _ => Err("parsed, but must be rejected".into()),
            }
        }
        Kind::EvalFail => {
            let mut args = read_flags(corpus, &case.name)
                .unwrap_or_else(|| vec!["--strict".into(), "--show-trace".into()]);
            args.push(file);
            let outcome = run(workdir, &args);
            match outcome.code {
                Some(1) if !is_missing_feature(&outcome) => Ok(()),
                Some(0) => Err(format!(
                    "evaluated, but must fail: {}",
                    String::from_utf8_lossy(&outcome.stdout).trim()
                )),
                _ => Err(error_summary(&outcome)),
            }
        }
        Kind::EvalOkay => {
            let exp = corpus.join(format!("{}.exp", case.name));
            if exp.exists() {
                let mut args = read_flags(corpus, &case.name).unwrap_or_default();
                args.push("--strict".into());
                args.push(file.clone());
                let outcome = run(workdir, &args);
                if outcome.code != Some(0) {
                    return Err(error_summary(&outcome));
                }
                let expected = std::fs::read(&exp).unwrap();
                let actual = replace_pwd(&outcome.stdout, workdir);
                if actual != expected {
                    return Err(format!(
                        "output differs: expected {:?}, got {:?}",
                        truncate(&expected),
                        truncate(&actual)
                    ));
                }
            }
            let exp_xml = corpus.join(format!("{}.exp.xml", case.name));
            if exp_xml.exists() {
                let args: Vec<String> = vec![
                    "--xml".into(),
                    "--no-location".into(),
                    "--strict".into(),
                    file,
                ];
                let outcome = run(workdir, &args);
                if outcome.code != Some(0) {
                    return Err(error_summary(&outcome));
                }
                let expected = std::fs::read(&exp_xml).unwrap();
                if outcome.stdout != expected {
                    return Err(format!(
                        "XML output differs: expected {:?}, got {:?}",
                        truncate(&expected),
                        truncate(&outcome.stdout)
                    ));
                }
            }
            Ok(())
        }
    }
}

fn truncate(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s = s.trim_end();
    if s.chars().count() > 120 {
        format!("{}...", s.chars().take(120).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Symlinks of the upstream corpus that the copy in ../shared holds as plain files whose
/// text is the link target. The harness restores them, or the cases about symlinks
/// (readDir, readFileType, pathExists, symlink resolution) would test a different tree.
const FLATTENED_SYMLINKS: [(&str, &str); 4] = [
    ("readDir/ldir", "foo"),
    ("readDir/linked", "foo/git-hates-directories"),
    ("symlink-resolution/foo/overlays", "../overlays"),
    ("symlink-resolution/broken", "nonexistent"),
];

/// Lays out `lang/` as a copy of the corpus with the flattened symlinks restored. A copy,
/// not links into ../shared, because some cases hash the folder's contents as a NAR.
fn build_lang_dir(corpus: &Path, lang: &Path) {
    copy_tree(corpus, lang);
    for (link, target) in FLATTENED_SYMLINKS {
        let link = lang.join(link);
        if std::fs::symlink_metadata(&link).is_ok_and(|m| m.is_file()) {
            std::fs::remove_file(&link).unwrap();
            std::os::unix::fs::symlink(target, &link).unwrap();
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let name = entry.unwrap().file_name();
            copy_tree(&from.join(&name), &to.join(&name));
        }
    } else {
        std::fs::copy(from, to).unwrap();
        // The corpus is read-only; the copy must be removable with the temporary folder.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(to).unwrap().permissions().mode();
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode | 0o200)).unwrap();
    }
}

/// `name  reason` lines; `#` lines and blank lines are comments.
fn known_failures() -> BTreeMap<String, String> {
    KNOWN_FAILURES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((name, reason)) => (name.to_string(), reason.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

#[test]
fn nix_lang_tests() {
    let Some(corpus) = corpus_dir() else {
        eprintln!("skipping: ../shared/nix-lang-tests is not beside the checkout");
        return;
    };
    // The reference runs from a directory where the corpus is visible as `lang/`.
    let workdir = tempfile::tempdir().unwrap();
    let workdir_path = workdir.path().canonicalize().unwrap();
    build_lang_dir(&corpus, &workdir_path.join("lang"));

    let cases = collect_cases(&corpus);
    let failures: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                if let Err(reason) = check(case, &corpus, &workdir_path) {
                    failures.lock().unwrap().insert(case.name.clone(), reason);
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();

    for kind in Kind::ALL {
        let total = cases.iter().filter(|c| c.kind == kind).count();
        let failed = cases
            .iter()
            .filter(|c| c.kind == kind && failures.contains_key(&c.name))
            .count();
        println!("{}: {} of {} pass", kind.prefix(), total - failed, total);
    }

    if std::env::var_os("TVIX_CONFORMANCE_WRITE_KNOWN").is_some() {
        // Regenerates the list from this run, with the observed symptom as a first draft
        // of each reason; edit the reasons into causes before committing.
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lang_conformance_known_failures.txt");
        let header: String = KNOWN_FAILURES
            .lines()
            .take_while(|l| l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let old = known_failures();
        let body: String = failures
            .iter()
            .map(|(name, symptom)| format!("{name}  {}\n", old.get(name).unwrap_or(symptom)))
            .collect();
        std::fs::write(path, header + &body).unwrap();
    }

    let known = known_failures();
    let mut problems = Vec::new();
    for (name, reason) in &failures {
        if !known.contains_key(name) {
            problems.push(format!("REGRESSION {name}: {}", brief(reason)));
        }
    }
    for name in known.keys() {
        if !cases.iter().any(|c| &c.name == name) {
            problems.push(format!("UNKNOWN CASE {name}: listed but not in the corpus"));
        } else if !failures.contains_key(name) {
            problems.push(format!(
                "NOW PASSES {name}: remove it from the known failures"
            ));
        }
    }
    for (name, reason) in &failures {
        if known.contains_key(name) {
            println!("known failure {name}: {}", brief(reason));
        }
    }
    assert!(
        problems.is_empty(),
        "conformance changed:\n{}",
        problems.join("\n")
    );
}

/// A failure's reason cut to a readable length: some outputs are megabytes long.
fn brief(reason: &str) -> String {
    const MAX: usize = 300;
    match reason.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}… ({} bytes in all)", &reason[..cut], reason.len()),
        None => reason.to_string(),
    }
}
