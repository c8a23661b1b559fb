//! The VM's hot paths, each as a small Nix program compiled once and run many times:
//! function calls, attribute lookup, thunk forcing, sorting with a Nix comparator,
//! string building.

use std::path::Path;
use std::rc::Rc;

use criterion::{criterion_group, criterion_main, Criterion};
use tvix_eval::{BuiltinConfig, Evaluator, NoObserver};

const CASES: [(&str, &str); 6] = [
    ("calls", "let fib = n: if n < 2 then n else fib (n - 1) + fib (n - 2); in fib 20"),
    (
        "attr_lookup",
        "let s = { a = 1; b = 2; c = 3; d = 4; e = 5; f = 6; g = 7; h = 8; }; \
         in builtins.foldl' (acc: i: acc + s.e + s.h) 0 (builtins.genList (x: x) 20000)",
    ),
    (
        "large_attrs",
        "let s = builtins.listToAttrs (builtins.genList (i: { name = \"k${toString i}\"; value = i; }) 5000); \
         in builtins.foldl' (acc: n: acc + s.${n}) 0 (builtins.attrNames s)",
    ),
    (
        "thunk_forcing",
        "let xs = builtins.genList (i: i * 2 + 1) 50000; in builtins.foldl' (a: b: a + b) 0 xs",
    ),
    (
        "sort",
        "builtins.elemAt (builtins.sort (a: b: a < b) \
         (builtins.genList (i: builtins.bitAnd (i * 1103515245 + 12345) 65535) 5000)) 2500",
    ),
    (
        "string_building",
        "builtins.stringLength (builtins.concatStringsSep \",\" \
         (builtins.genList (i: \"item-${toString i}-${toString (i * i)}\") 20000))",
    ),
];

fn bench_vm(c: &mut Criterion) {
    let mut group = c.benchmark_group("vm");
    for (name, source) in CASES {
        let mut evaluator = Evaluator::new(
            Rc::new(tvix_eval::io::StdIO),
            &BuiltinConfig::default(),
            |_| {},
        );
        let compiled = evaluator
            .compile(name, source, Path::new("/"))
            .expect("compiles");
        group.bench_function(name, |b| {
            b.iter(|| {
                let root = evaluator.state.file_thunk(&compiled);
                evaluator
                    .vm(&mut NoObserver)
                    .deep_force(root)
                    .expect("evaluates")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_vm);
criterion_main!(benches);
