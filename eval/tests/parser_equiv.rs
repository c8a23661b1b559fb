//! Our parser (`tvix_eval::parser`) must build exactly rnix's tree for every input
//! rnix parses without errors, and must decline every input rnix rejects.

use std::path::{Path, PathBuf};

/// Checks one input; returns whether our parser took it.
fn check(src: &str, what: &str) -> bool {
    let theirs = rnix::Root::parse(src);
    let ours = tvix_eval::parser::parse(src);
    match (theirs.errors().is_empty(), ours) {
        (_, None) => false,
        (false, Some(_)) => panic!(
            "{what}: we accepted what rnix rejects: {:?}",
            theirs.errors()
        ),
        (true, Some(green)) => {
            let want: rowan::GreenNode = theirs.syntax().green().to_owned();
            if want != green {
                let want = rnix::SyntaxNode::new_root(want);
                let got = rnix::SyntaxNode::new_root(green);
                panic!("{what}: trees differ\nrnix:\n{want:#?}\nours:\n{got:#?}");
            }
            true
        }
    }
}

/// Like `check`, and our parser must take the input.
fn same(src: &str) {
    assert!(
        rnix::Root::parse(src).errors().is_empty(),
        "rnix rejects {src:?}"
    );
    assert!(check(src, src), "we declined {src:?}");
}

fn nix_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            nix_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "nix") {
            out.push(p);
        }
    }
}

#[test]
fn corpus_trees_match_rnix() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    if !root.is_dir() {
        println!("skipped: no corpora at {}", root.display());
        return;
    }
    let mut files = Vec::new();
    nix_files(&root, &mut files);
    files.sort();
    let (mut valid, mut taken) = (0, 0);
    let mut declined = Vec::new();
    for f in &files {
        let Ok(src) = std::fs::read_to_string(f) else {
            continue;
        };
        let ok = rnix::Root::parse(&src).errors().is_empty();
        let took = check(&src, &f.display().to_string());
        if ok {
            valid += 1;
            if took {
                taken += 1;
            } else {
                declined.push(f.display().to_string());
            }
        }
    }
    println!(
        "{} files, {valid} valid for rnix, {taken} taken by our parser",
        files.len()
    );
    for d in &declined {
        println!("declined: {d}");
    }
    assert!(valid > 0);
}

#[test]
fn tricky_cases_match_rnix() {
    for src in [
        "1",
        "  # c\n x /* d */ ",
        "./a/b",
        "./a${b}c/d${e}",
        "/${x}/y",
        "~/a/${b}",
        "<nixpkgs>",
        "<nixpkgs/lib>",
        "a <b> c",
        "a < b",
        "a<b",
        "https://example.org/a?b=c&d",
        "x:y",
        "f a_b:c",
        "1/2",
        "a.b/c",
        "a/b.c",
        "1.5 .5 1e5 1.5e-3 0.5 00 01 1.e2 .5E+2",
        "\"a ${b} c \\\" \\${ $${x} $$ $\" ",
        "''\n  a ''$ ''' ''\\n ${b} $${c}\n''",
        "''''' ''",
        "\"\"",
        "\"${a}${b}\"",
        "a.${b}.c or d",
        "a.\"b\".c",
        "a.b or c.d or e",
        "f or",
        "a b or c",
        "{ or = 1; }.or",
        "x: x.or",
        "-1 - -a",
        "!a || !b && c",
        "a -> b -> c",
        "a |> b |> c <| d <| e",
        "a < b",
        "a <= b || a >= b || a > b",
        "a // b // c",
        "a < b == c",
        "a == b < c",
        "!a // b",
        "a // !b",
        "a -> !b -> c",
        "a || b && c || d && e",
        "a |> b <| c",
        "a <| b |> c |> d",
        "a + b < c + d == e - f * g ++ h ? i",
        "- - a",
        "! ! a",
        "!-a",
        "f -a",
        "a.b.c ? d.e ++ f",
        "a + b * c - d / e ++ f ++ g",
        "a ? b.c ? ${d}",
        "-a ? b",
        "!a ? b",
        "f x y.z",
        "assert a; with b; let c = 1; in rec { d = c; }",
        "if a then b else c",
        "{ a, b ? 1, ... }@args: a",
        "args@{ a, b ? 1, ... }: a",
        "{ }: 1",
        "{}@a: 1",
        "{ ... }: 1",
        "{ a }: 1",
        "x: y: x",
        "{ inherit (x) a \"b\" ${c}; inherit d; }",
        "let { a = 1; body = a; }",
        "{ ${a} = 1; \"b\" = 2; a.b.c = 3; }",
        "[ 1 \"a\" ./b (c) { } [ ] ]",
        "__curPos",
        "__curPos: 1",
        "f __curPos",
        "{ a = __curPos; }",
        "a.__curPos",
        "( a /* x */ )",
        "[ # c\n a # d\n ]",
        "{ /* a */ a /* b */ = /* c */ 1 /* d */ ; /* e */ }",
        "a/* c */+b",
        "a//b",
        "a/ b",
        "a-b - c",
        "a'b",
        "let in 1",
        "\"\\\\\"",
        "''a'b''",
        "''${a}''",
        "\"é ${\"ü\"}\" # ö",
        "/* é */ 1",
        // A block comment ends at the first `*/` after its `/*`: not at the `/` of
        // `/*/`, nor at a `/` with no `*` before it.
        "/**/ 1",
        "/*/ a / b */ 1",
        "/* ** // */ 1 /* x */",
    ] {
        same(src);
    }
}

#[test]
fn errors_are_left_to_rnix() {
    for src in [
        "",
        "(",
        "(a",
        "(a]",
        "a ==",
        "a == b == c",
        "a == b != c",
        "a < b < c",
        "a + !b",
        "(a == b == c)",
        "let or = 1; in or",
        "{ a = 1 }",
        "\"abc",
        "''abc",
        "./a/",
        "./a ${b}",
        "a:",
        "{ a, a }: a",
        "{ a }@b@c: 1",
        "a@{ b }@c: 1",
        "let a = 1; in",
        "let { a = 1; ",
        "[ 1",
        "1 2 )",
        "~a",
        "$a",
        "1e",
        "/* a",
        "/*/ a",
        "/* a *",
        "a b: c",
        "a é",
        "{ inherit; }",
        "{ ...,  a }: 1",
        "x + !y",
        "x.${y",
    ] {
        check(src, src);
    }
}

/// Every way of nesting counts towards one bound: below it our parser takes the input
/// and builds rnix's tree; far past it, it declines (rnix then parses, or reports).
#[test]
fn nesting_is_bounded() {
    let shapes: [fn(usize) -> String; 4] = [
        |n| format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        |n| format!("{}true", "!".repeat(n)),
        |n| format!("{}1", "- ".repeat(n)),
        |n| format!("{}[ ]", "[ ] ++ ".repeat(n)),
    ];
    for shape in shapes {
        same(&shape(100));
        let deep = shape(2000);
        assert!(
            tvix_eval::parser::parse(&deep).is_none(),
            "took a 2000-deep {:?}",
            &deep[..20]
        );
    }
}
