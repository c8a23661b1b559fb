//! Dropping an evaluator frees everything its evaluation allocated, even the reference
//! cycles that recursive scopes make (see `recursive_scopes`). A language server makes
//! an evaluator per request; a leak there grows without bound.
//!
//! Each check counts this thread's live heap blocks around a second run of the same
//! evaluation (the first one interns the symbols and fills the lazily built statics,
//! which live for the whole process by design).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::path::Path;
use std::rc::Rc;

use tvix_eval::builtins::BuiltinConfig;
use tvix_eval::io::MemoryIO;
use tvix_eval::print::print_value;
use tvix_eval::{Evaluator, ImportCache, NoObserver};

struct CountingAlloc;

thread_local! {
    static LIVE_BLOCKS: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    let _ = LIVE_BLOCKS.try_with(|c| c.set(c.get() + delta));
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(1);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        count(-1);
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn live_blocks() -> isize {
    LIVE_BLOCKS.with(|c| c.get())
}

/// Blocks still allocated after a second run of `run`.
fn leaked_by(run: impl Fn() -> String) -> (isize, String) {
    let first = run();
    let before = live_blocks();
    let same = run() == first;
    let leaked = live_blocks() - before;
    assert!(same, "{first} the first time, something else the second");
    (leaked, first)
}

const LIB: &str = "let self = { me = self; n = 1; f = x: self.n + x; }; in self";

fn io() -> MemoryIO {
    MemoryIO::default().with_file("/t/lib.nix", LIB)
}

/// Evaluate `text` with a fresh evaluator (deeply or to weak head normal form) and
/// describe the outcome.
fn evaluate(text: &str, strict: bool) -> String {
    let mut ev = Evaluator::new(Rc::new(io()), &BuiltinConfig::default(), |_| {});
    let c = ev.compile("«test»", text, Path::new("/t")).unwrap();
    let root = ev.state.file_thunk(&c);
    let mut observer = NoObserver;
    let mut vm = ev.vm(&mut observer);
    let r = if strict {
        vm.deep_force(root)
    } else {
        vm.force(root)
    };
    match r {
        Ok(v) => String::from_utf8_lossy(&print_value(&v)).into_owned(),
        Err(e) => format!("error: {}", e.kind),
    }
}

/// Shapes that make cycles, and what they evaluate to.
const SHAPES: &[(&str, bool, &str)] = &[
    // The fuzzer's reproducer: a failing thunk of a `let` that refers to its scope.
    ("let a = { } // a; in a.foo", false, "error: infinite recursion"),
    // Unforced thunks of a `rec` set that refer to each other.
    ("rec { a = b; b = a; }", false, "{ a = <CODE>; b = <CODE>; }"),
    // A closure stored in the scope it closes over.
    ("let f = x: f x; in f", false, "<LAMBDA>"),
    // A failing thunk under tryEval, its scope reachable from the set it fails in.
    (
        r#"let x = { y = throw "no"; z = x; }; in (builtins.tryEval x.y).success"#,
        true,
        "false",
    ),
    // A knot tied by forcing: `x` memoises a set that contains `x`, and the `let`
    // scope itself is gone by the time the evaluation ends.
    (
        "let fix = f: let x = f x; in x; in (fix (self: { a = 1; b = self.a; c = self; })).b",
        true,
        "1",
    ),
    // A cycle that closes on a value inside a slot's value, not on the slot's value.
    ("let a = { x = { y = a.x; }; }; in a.x.y.y.y == a.x", true, "true"),
    // A `let` directly in a lambda's body takes slots of the call's scope, which then
    // is recursive: alone, nested, beside a second `let`, and in a curried lambda.
    ("(x: let r = { s = r; v = x; }; in r.s.v) 5", true, "5"),
    ("(x: let a = { me = a; }; in let b = { me = b; }; in a.me.me ? me && b.me ? me) 1", true, "true"),
    ("(x: (let a = { me = a; }; in a.me ? me) && (let b = { me = b; }; in b.me ? me)) 1", true, "true"),
    ("(acc: i: let y = { s = y; n = acc + i; }; in y.s.s.n) 1 2", true, "3"),
    // Formal defaults referring to each other (the call's scope is recursive).
    ("({ a ? b, b ? 2 }: a) { }", true, "2"),
    ("args@{ a ? args, ... }: a", false, "<LAMBDA>"),
    ("({ a ? b, b ? a }: 1) { }", true, "1"),
    // An imported file that refers to itself, and a function of it.
    ("(import /t/lib.nix).me.me.f 2", true, "3"),
    // Cycles made before many other scopes, so that sweeps run in between.
    (
        "let fix = f: let x = f x; in x; r = fix (self: { a = self; b = self; }); s = (let a = { x = { y = a.x; }; }; in a.x); \
         in builtins.seq r.a.a (builtins.seq s.y.y \
         (builtins.foldl' (acc: i: let y = i; in acc + y) 0 (builtins.genList (i: i) 5000)))",
        true,
        "12497500",
    ),
];

#[test]
fn recursive_scopes_are_freed_with_their_evaluator() {
    let mut failures = Vec::new();
    for (text, strict, expected) in SHAPES {
        let (leaked, got) = leaked_by(|| evaluate(text, *strict));
        assert!(
            got.starts_with(expected),
            "{text}: got {got}, expected {expected}"
        );
        if leaked != 0 {
            failures.push(format!("{text}: {leaked} blocks leaked"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The registry lets go of scopes as they die: a long evaluation does not keep one
/// entry per `let` it ran.
#[test]
fn scopes_that_cannot_be_in_a_cycle_are_let_go_during_evaluation() {
    let mut ev = Evaluator::new(Rc::new(io()), &BuiltinConfig::default(), |_| {});
    let v = ev
        .eval_strict(
            "builtins.foldl' (acc: i: let y = i * 2; in acc + y) 0 (builtins.genList (i: i) 100000)",
        )
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&print_value(&v)), "9999900000");
    let held = ev.state.scopes.len();
    assert!(held < 2048, "{held} scopes held after the evaluation");
}

/// Evaluators sharing an import cache: the cached values stay usable after the
/// evaluator that computed them is gone, and are freed with the cache.
#[test]
fn a_shared_import_cache_keeps_its_values_until_it_goes() {
    let run = || {
        let cache = Rc::new(RefCell::new(ImportCache::default()));
        let mut results = Vec::new();
        for _ in 0..2 {
            let mut ev = Evaluator::new(Rc::new(io()), &BuiltinConfig::default(), |_| {})
                .with_import_cache(cache.clone());
            let c = ev
                .compile(
                    "«test»",
                    "let l = import /t/lib.nix; in l.me.f l.n",
                    Path::new("/t"),
                )
                .unwrap();
            let root = ev.state.file_thunk(&c);
            let v = ev.vm(&mut NoObserver).deep_force(root).unwrap();
            results.push(String::from_utf8_lossy(&print_value(&v)).into_owned());
        }
        assert_eq!(cache.borrow().len(), 1);
        results.join(" ")
    };
    let (leaked, got) = leaked_by(run);
    assert_eq!(got, "2 2");
    assert_eq!(leaked, 0, "blocks leaked after the cache was dropped");
}
