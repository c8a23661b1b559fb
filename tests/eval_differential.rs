//! Differential test of the evaluator against C++ Nix: random well-formed expressions
//! (arithmetic, strings, lists, attribute sets, let, functions, builtin calls, errors)
//! are evaluated by `tvix eval --strict --expr` and by `nix-instantiate --eval --strict
//! --expr`; the printed results must be identical, and where one fails the other must
//! fail too. Skips with a printed reason where `nix-instantiate` is absent.
//!
//! The generator is seeded deterministically so CI is repeatable; set
//! `TVIX_DIFF_SEED` and `TVIX_DIFF_CASES` to explore further by hand.

use std::process::{Command, Stdio};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

fn leaf_int() -> BoxedStrategy<String> {
    (-50i64..50)
        .prop_map(|n| {
            if n < 0 {
                format!("({n})")
            } else {
                n.to_string()
            }
        })
        .boxed()
}

fn leaf_float() -> BoxedStrategy<String> {
    prop_oneof![
        Just("0.5".to_string()),
        Just("1.0e10".to_string()),
        Just("3.14159".to_string()),
        Just("(-2.5)".to_string()),
        Just("1.0e-7".to_string()),
        Just("123456789.0".to_string()),
    ]
    .boxed()
}

fn leaf_string() -> BoxedStrategy<String> {
    prop_oneof![
        Just(r#""""#.to_string()),
        Just(r#""abc""#.to_string()),
        Just(r#""a\"b\\c\n\t""#.to_string()),
        Just(r#""héllo wörld ✓""#.to_string()),
        Just(r#""\${not interpolated}""#.to_string()),
        Just("''\n  indented\n    string\n''".to_string()),
        "[a-z]{0,6}".prop_map(|s| format!("\"{s}\"")),
    ]
    .boxed()
}

fn int_expr() -> BoxedStrategy<String> {
    leaf_int()
        .prop_recursive(4, 24, 3, |inner| {
            let list = list_of(inner.clone());
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} + {b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} - {b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} * {b})")),
                // May divide by zero: both must fail then.
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} / {b})")),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| format!("(let x = {a}; y = x + {b}; in x * y)")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("((n: n * 2 + {a}) {b})")),
                (inner.clone(), inner.clone(), inner.clone())
                    .prop_map(|(a, b, c)| format!("(if {a} < {b} then {b} else {c})")),
                list.clone().prop_map(|l| format!("(builtins.length {l})")),
                list.clone()
                    .prop_map(|l| format!("(builtins.foldl' (a: b: a + b) 0 {l})")),
                // Fails on an empty list.
                list.prop_map(|l| format!("(builtins.head {l})")),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| format!("(builtins.bitXor {a} {b})")),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| format!("({{ a = {a}; b = {b}; }}.a or 7)")),
                (inner.clone(), inner).prop_map(|(a, b)| format!("({{ a = {a}; }}.b or {b})")),
            ]
        })
        .boxed()
}

fn list_of(element: impl Strategy<Value = String> + 'static) -> BoxedStrategy<String> {
    prop::collection::vec(element, 0..4)
        .prop_map(|xs| format!("[ {} ]", xs.join(" ")))
        .boxed()
}

fn string_expr() -> BoxedStrategy<String> {
    let ints = int_expr().boxed();
    leaf_string()
        .prop_recursive(3, 12, 3, move |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} + {b})")),
                (inner.clone(), ints.clone())
                    .prop_map(|(a, n)| format!("\"<${{{a}}}|${{toString {n}}}>\"")),
                (0usize..4, 0usize..6, inner.clone())
                    .prop_map(|(s, l, x)| format!("(builtins.substring {s} {l} {x})")),
                list_of(inner.clone())
                    .prop_map(|l| format!("(builtins.concatStringsSep \"-\" {l})")),
                inner.clone().prop_map(|s| {
                    format!("(builtins.replaceStrings [ \"a\" \"\" ] [ \"AA\" \"_\" ] {s})")
                }),
                ints.clone().prop_map(|n| format!("(toString {n})")),
                any_value_leafy().prop_map(|v| format!("(builtins.toJSON {v})")),
                any_value_leafy().prop_map(|v| format!("(builtins.typeOf {v})")),
            ]
        })
        .boxed()
}

/// Values built without recursion through the string generator (avoids an infinite type).
fn any_value_leafy() -> BoxedStrategy<String> {
    prop_oneof![
        int_expr(),
        leaf_float(),
        leaf_string(),
        Just("null".to_string()),
        Just("true".to_string()),
        list_of(leaf_int()),
        (leaf_int(), leaf_string()).prop_map(|(a, s)| format!("{{ x = {a}; y = {s}; }}")),
    ]
    .boxed()
}

fn float_expr() -> BoxedStrategy<String> {
    prop_oneof![
        leaf_float(),
        (leaf_float(), int_expr()).prop_map(|(a, b)| format!("({a} * {b})")),
        (int_expr(), leaf_float()).prop_map(|(a, b)| format!("({a} / {b})")),
        (leaf_float(), leaf_float()).prop_map(|(a, b)| format!("({a} - {b})")),
    ]
    .boxed()
}

fn bool_expr() -> BoxedStrategy<String> {
    prop_oneof![
        (int_expr(), int_expr()).prop_map(|(a, b)| format!("({a} < {b})")),
        (int_expr(), int_expr()).prop_map(|(a, b)| format!("({a} == {b})")),
        (string_expr(), string_expr()).prop_map(|(a, b)| format!("({a} < {b})")),
        (list_of(int_expr()), list_of(int_expr())).prop_map(|(a, b)| format!("({a} < {b})")),
        (int_expr(), list_of(int_expr())).prop_map(|(a, l)| format!("(builtins.elem {a} {l})")),
        int_expr().prop_map(|a| format!("({{ a = {a}; }} ? a)")),
        (int_expr(), int_expr()).prop_map(|(a, b)| format!("(!({a} >= {b}) || {a} == 3)")),
    ]
    .boxed()
}

fn list_expr() -> BoxedStrategy<String> {
    prop_oneof![
        list_of(int_expr()),
        (list_of(int_expr()), list_of(string_expr())).prop_map(|(a, b)| format!("({a} ++ {b})")),
        list_of(int_expr()).prop_map(|l| format!("(map (x: x * x) {l})")),
        list_of(int_expr()).prop_map(|l| format!("(builtins.filter (x: x > 0) {l})")),
        list_of(int_expr()).prop_map(|l| format!("(builtins.sort builtins.lessThan {l})")),
        (0i64..6).prop_map(|n| format!("(builtins.genList (i: i * i) {n})")),
        // Fails on an empty list.
        list_of(int_expr()).prop_map(|l| format!("(builtins.tail {l})")),
        attrs_expr().prop_map(|a| format!("(builtins.attrNames {a})")),
    ]
    .boxed()
}

fn attrs_expr() -> BoxedStrategy<String> {
    let key = prop::sample::select(vec!["a", "b", "c", "\"d e\"", "z"]);
    let binding = (key, int_expr()).prop_map(|(k, v)| format!("{k} = {v};"));
    let set = prop::collection::btree_map("[abcz]", int_expr(), 0..4).prop_map(|m| {
        let body: String = m.iter().map(|(k, v)| format!("{k} = {v}; ")).collect();
        format!("{{ {body}}}")
    });
    prop_oneof![
        set.clone(),
        // Duplicate keys must be rejected by both.
        prop::collection::vec(binding, 0..4).prop_map(|bs| format!("{{ {} }}", bs.join(" "))),
        (set.clone(), set.clone()).prop_map(|(a, b)| format!("({a} // {b})")),
        set.clone().prop_map(|a| format!("(builtins.mapAttrs (n: v: v + 1) {a})")),
        set.clone().prop_map(|a| format!("(builtins.removeAttrs {a} [ \"a\" \"q\" ])")),
        int_expr().prop_map(|a| format!("(rec {{ x = {a}; y = x + 1; z = {{ inherit x y; }}; }})")),
        int_expr().prop_map(|a| format!("(let s = {{ p.q = {a}; p.r = 2; }}; in s // {{ t = s.p.q; }})")),
        set.prop_map(|a| {
            format!("(builtins.listToAttrs (map (n: {{ name = n; value = n; }}) (builtins.attrNames {a})))")
        }),
    ]
    .boxed()
}

fn error_expr() -> BoxedStrategy<String> {
    prop_oneof![
        string_expr().prop_map(|s| format!("(throw {s})")),
        int_expr().prop_map(|a| format!("(assert {a} > 0; {a})")),
        any_value_leafy().prop_map(|v| format!("(builtins.tryEval {v})")),
        int_expr()
            .prop_map(|a| format!("(builtins.tryEval (if {a} > 0 then throw \"no\" else {a}))")),
        int_expr().prop_map(|a| format!("({a} + \"x\")")),
        int_expr().prop_map(|a| format!("(let f = {{ x, y ? 2 }}: x + y; in f {{ x = {a}; }})")),
        int_expr().prop_map(|a| format!("(let f = {{ x }}: x; in f {{ x = {a}; y = 1; }})")),
        Just("(builtins.getAttr \"missing\" { present = 1; })".to_string()),
        Just("(let x = x; in x)".to_string()),
    ]
    .boxed()
}

fn top_expr() -> BoxedStrategy<String> {
    prop_oneof![
        3 => int_expr(),
        2 => string_expr(),
        1 => float_expr(),
        1 => bool_expr(),
        2 => list_expr(),
        2 => attrs_expr(),
        2 => error_expr(),
    ]
    .boxed()
}

struct Evaluated {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn evaluate(program: &str, args: &[&str], expr: &str) -> Evaluated {
    let output = Command::new(program)
        .args(args)
        .arg(expr)
        .env("NIX_REMOTE", "")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    Evaluated {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn nix_available() -> bool {
    Command::new("nix-instantiate")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn random_expressions_match_cpp_nix() {
    if !nix_available() {
        eprintln!("skipping: nix-instantiate (C++ Nix) is not installed");
        return;
    }
    let cases: u32 = std::env::var("TVIX_DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let seed: u64 = std::env::var("TVIX_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x7415);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = top_expr();

    let tvix = env!("CARGO_BIN_EXE_tvix");
    let mut mismatches = Vec::new();
    let mut both_failed = 0;
    for _ in 0..cases {
        let expr = strategy.new_tree(&mut runner).unwrap().current();
        let ours = evaluate(tvix, &["eval", "--strict", "--expr"], &expr);
        let theirs = evaluate("nix-instantiate", &["--eval", "--strict", "--expr"], &expr);
        let same = match (ours.ok, theirs.ok) {
            (true, true) => ours.stdout == theirs.stdout,
            (false, false) => {
                both_failed += 1;
                true
            }
            _ => false,
        };
        if !same {
            mismatches.push(mismatch(&format!("expr: {expr}"), &ours, &theirs));
        }
        // Printed without `--strict`, nested values never forced show as `<CODE>`: the
        // same ones must be thunks in both.
        let ours = evaluate(tvix, &["eval", "--expr"], &expr);
        let theirs = evaluate("nix-instantiate", &["--eval", "--expr"], &expr);
        if ours.ok != theirs.ok || (ours.ok && ours.stdout != theirs.stdout) {
            mismatches.push(mismatch(&format!("not strict: {expr}"), &ours, &theirs));
        }
    }
    println!(
        "{} of {cases} random expressions agree with C++ Nix ({both_failed} of them fail in both)",
        cases as usize - mismatches.len()
    );
    // A generator that mostly produces errors would test little.
    assert!(
        both_failed * 3 < cases,
        "too many generated expressions fail: {both_failed}"
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// What each printed for `what`, for a mismatch's report.
fn mismatch(what: &str, ours: &Evaluated, theirs: &Evaluated) -> String {
    format!(
        "{what}\n  tvix: ok={} {}{}\n  nix:  ok={} {}{}",
        ours.ok,
        ours.stdout.trim(),
        first_line(&ours.stderr),
        theirs.ok,
        theirs.stdout.trim(),
        first_line(&theirs.stderr)
    )
}

fn first_line(stderr: &str) -> String {
    stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && *l != "error:")
        .map(|l| format!(" [{l}]"))
        .unwrap_or_default()
}

/// `-A` paths and auto-calling, against nix-instantiate: several paths print one value
/// each, taken from the root; a function is called with the `--arg`/`--argstr` values
/// it asks for, and printed as a function when there are none.
#[test]
fn selection_and_auto_call_match_cpp_nix() {
    if !nix_available() {
        eprintln!("skipping: nix-instantiate (C++ Nix) is not installed");
        return;
    }
    let set = "{ a = 1; b = 2; x = { a ? 1 }: a; f = { q }: q; g = { a ? 1 }: { x = a; }; }";
    let cases: &[(&[&str], &str)] = &[
        (&["-A", "a", "-A", "b"], set),
        (&["-A", "x"], set),
        (&["-A", "g"], set),
        (&["-A", "g.x"], set),
        (&["-A", "f", "--arg", "q", "1"], set),
        (&["--strict", "-A", "g", "--arg", "a", "5"], set),
        (&[], "{ a ? 1 }: a"),
        (&["--arg", "b", "2"], "{ a ? 1, b }: a + b"),
        (&["--argstr", "z", "1"], "{ __functor = s: { a ? 1 }: a; }"),
        (&["--arg", "z", "1"], "{ a }: a"),
        (&["-A", "y"], "{ y = 2; }"),
        (&["-A", "y"], "{ a }: { y = a; }"),
    ];
    let tvix = env!("CARGO_BIN_EXE_tvix");
    let mut mismatches = Vec::new();
    for (flags, expr) in cases {
        let mut ours_args = vec!["eval"];
        ours_args.extend_from_slice(flags);
        ours_args.push("--expr");
        let mut theirs_args = vec!["--eval"];
        theirs_args.extend_from_slice(flags);
        theirs_args.push("--expr");
        let ours = evaluate(tvix, &ours_args, expr);
        let theirs = evaluate("nix-instantiate", &theirs_args, expr);
        if ours.ok != theirs.ok || (ours.ok && ours.stdout != theirs.stdout) {
            mismatches.push(mismatch(&format!("{flags:?} {expr}"), &ours, &theirs));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Builtins left out of `every_builtin_fails_and_forces_as_cpp_nix`, each with why.
const BUILTINS_NOT_COMPARED: &[(&str, &str)] = &[
    ("fetchGit", "fetchers come with the builder"),
    ("fetchMercurial", "fetchers come with the builder"),
    ("fetchTarball", "fetchers come with the builder"),
    ("fetchTree", "fetchers come with the builder"),
    ("fetchurl", "fetchers come with the builder"),
    ("currentTime", "differs between two runs"),
    (
        "unsafeGetAttrPos",
        "C++ Nix 2.8 names the whole --expr text as the file; we name it «string»",
    ),
];

/// Every builtin C++ Nix has, called with arguments that throw or have the wrong type:
/// both must fail or both succeed with the same output, and a failure must come from
/// the same argument (one of the throws, or else a type error), which shows which
/// argument each forces and checks first: C++ Nix checks each argument's type as it
/// forces it, so a builtin taking a function fails on a non-function before its list
/// is forced. Error wording is left to the other tests: ours differs where it says more
/// (a lambda's position) or names the type a path argument needs.
#[test]
fn every_builtin_fails_and_forces_as_cpp_nix() {
    if !nix_available() {
        eprintln!("skipping: nix-instantiate (C++ Nix) is not installed");
        return;
    }
    let names = evaluate(
        "nix-instantiate",
        &["--eval", "--json", "--expr"],
        "builtins.attrNames builtins",
    );
    assert!(names.ok, "cannot list C++ Nix's builtins: {}", names.stderr);
    let names: Vec<String> = names
        .stdout
        .trim()
        .trim_matches(['[', ']'])
        .split(',')
        .map(|n| n.trim_matches('"').to_string())
        .filter(|n| !BUILTINS_NOT_COMPARED.iter().any(|(x, _)| x == n))
        .collect();
    assert!(names.len() > 90, "too few builtins listed: {names:?}");
    let patterns = [
        r#"(throw "first") (throw "second") (throw "third")"#,
        r#"1 (throw "second")"#,
        r#"(throw "first") 1"#,
        r#"(x: x) (throw "second")"#,
        r#""s" (throw "second")"#,
        r#"[ ] (throw "second")"#,
        r#"{ } (throw "second")"#,
        "1 1 1",
        "true true",
        "(x: x) 1 1",
        r#""s" "t" "u""#,
        "[ 1 ] [ 2 ]",
        "{ a = 1; } { b = 2; }",
        "(x: y: x) [ 1 ] [ 2 ]",
        r#""a" { a = 1; }"#,
        r#"[ "a" ] [ ] (throw "third")"#,
    ];
    let calls: Vec<String> = names
        .iter()
        .flat_map(|n| patterns.iter().map(move |p| format!("builtins.{n} {p}")))
        .collect();
    let mismatches = compare_all(&calls, true);
    println!(
        "{} of {} builtin calls agree with C++ Nix ({} builtins)",
        calls.len() - mismatches.len(),
        calls.len(),
        names.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Which thrown argument an error comes from (`first`, `second`, `third`), or `other`
/// for any other error.
fn culprit(stderr: &str) -> &'static str {
    let line = first_line(stderr);
    ["first", "second", "third"]
        .into_iter()
        .find(|t| line == format!(" [error: {t}]"))
        .unwrap_or("other")
}

/// Every binary operator applied to operands of every kind, throwing ones included,
/// bound by `let` (so the operator itself forces them): both must fail or succeed with
/// the same output, and a failure must come from the same operand. C++ Nix forces the
/// right operand of `<=` and `>` first (`a <= b` is `!(b < a)`), and checks the left
/// operand of `+` and `//` before forcing the right one. Known difference, not tested
/// here: written inline, a failing right operand of `+` or `//` is evaluated before the
/// left one is checked.
#[test]
fn every_operator_forces_as_cpp_nix() {
    if !nix_available() {
        eprintln!("skipping: nix-instantiate (C++ Nix) is not installed");
        return;
    }
    let left = [
        r#"throw "first""#,
        "1",
        "1.5",
        r#""s""#,
        "true",
        "null",
        "[ 1 ]",
        "{ a = 1; }",
        "x: x",
    ];
    let right = [
        r#"throw "second""#,
        "2",
        "2.5",
        r#""t""#,
        "false",
        "null",
        "[ 2 ]",
        "{ b = 2; }",
        "y: y",
    ];
    let ops = [
        "+", "-", "*", "/", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "->", "//", "++",
    ];
    let mut calls = Vec::new();
    for op in ops {
        for a in left {
            for b in right {
                calls.push(format!("let a = {a}; b = {b}; in a {op} b"));
            }
        }
    }
    let mismatches = compare_all(&calls, true);
    println!(
        "{} of {} operator applications agree with C++ Nix",
        calls.len() - mismatches.len(),
        calls.len(),
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Values printed without `--strict`: C++ Nix prints `<CODE>` for every attribute value
/// and list element that is a thunk never forced, and makes a thunk for each but
/// literal numbers, plain strings and paths, and variables. Ours must be the same.
#[test]
fn lazy_printing_shows_the_thunks_cpp_nix_makes() {
    if !nix_available() {
        eprintln!("skipping: nix-instantiate (C++ Nix) is not installed");
        return;
    }
    let exprs = [
        "{ a = 1 + 1; b = [ (2 + 2) ]; c = 3; }",
        "let x = { y = 1 + 1; }; in [ x.y x ]",
        "{ a.b = 1; }",
        r#"{ a = "x${"y"}"; b = ./.; c = -1; d = null; e = true; f = x: x; g = 1.5; h = "s\n"; }"#,
        "let x = 1; in { a = x; b = [ x 2 \"s\" ]; }",
        "[ (1) ({ }) [ ] ]",
        "rec { a = b; b = 1; c = { d = a; }; }",
        "let f = x: { inherit x; y = x; }; in f 2",
        "let x = 1 + 1; in builtins.seq x { a = x; }",
        "let x = [ 1 ]; in { inherit x; y = x; }",
        "let s = { a = 1; }; in { inherit (s) a; }",
        "{ a = 1; } // { b = 2 + 0; }",
        "({ a ? 1, b }: { inherit a b; c = a; }) { b = 2; }",
        "with { x = 1; }; { y = x; }",
        "if true then { a = 1 + 1; } else null",
        "builtins.genList (x: x) 2",
        "builtins.mapAttrs (n: v: v) { a = 1; }",
        "builtins.attrValues { a = 1; b = 1 + 1; }",
        "{ a = builtins.map (x: x) [ 1 ]; b = builtins.length [ ]; }",
        "let f = { x ? [ 1 ] }: { inherit x; }; in f { }",
    ]
    .map(String::from);
    let mismatches = compare_all(&exprs, false);
    println!(
        "{} of {} values print as nix-instantiate --eval prints them",
        exprs.len() - mismatches.len(),
        exprs.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Each expression evaluated by both (`strict`: with `--strict`), on two threads (each
/// is two short processes): the mismatches, where one fails and the other does not,
/// the outputs differ, or the failures come from different places (`culprit`).
fn compare_all(exprs: &[String], strict: bool) -> Vec<String> {
    let tvix = env!("CARGO_BIN_EXE_tvix");
    let (ours_args, theirs_args): (&[&str], &[&str]) = if strict {
        (
            &["eval", "--strict", "--expr"],
            &["--eval", "--strict", "--expr"],
        )
    } else {
        (&["eval", "--expr"], &["--eval", "--expr"])
    };
    std::thread::scope(|scope| {
        let halves: Vec<_> = exprs
            .chunks(exprs.len().div_ceil(2))
            .map(|chunk| {
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for expr in chunk {
                        let ours = evaluate(tvix, ours_args, expr);
                        let theirs = evaluate("nix-instantiate", theirs_args, expr);
                        let same = ours.ok == theirs.ok
                            && (!ours.ok || ours.stdout == theirs.stdout)
                            && culprit(&ours.stderr) == culprit(&theirs.stderr);
                        if !same {
                            out.push(mismatch(expr, &ours, &theirs));
                        }
                    }
                    out
                })
            })
            .collect();
        halves.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}
