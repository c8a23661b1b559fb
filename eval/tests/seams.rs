//! The seams later parts build on, each exercised through the public API.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use tvix_eval::compiled::{Op, ScopeKind, SourceFile, Span};
use tvix_eval::errors::{ErrorKind, EvalError};
use tvix_eval::io::{EvalIO, FileType, MemoryIO};
use tvix_eval::observer::{FrameKind, VarView, VmView};
use tvix_eval::print::print_value;
use tvix_eval::value::Attrs;
use tvix_eval::{BuiltinConfig, Evaluator, NoObserver, Observer, Value};

fn evaluator(io: Rc<dyn EvalIO>) -> Evaluator {
    Evaluator::new(io, &BuiltinConfig::default(), |_| {})
}

fn show(v: &Value) -> String {
    String::from_utf8_lossy(&print_value(v)).into_owned()
}

#[test]
fn compiled_files_are_shared_across_threads_and_evaluations() {
    let ev = evaluator(Rc::new(MemoryIO::default()));
    let compiled = ev
        .compile("«test»", "let f = x: x * 2; in f 21", Path::new("/"))
        .unwrap();
    // The compiled form crosses a thread boundary and comes back unchanged.
    let back = std::thread::spawn(move || compiled).join().unwrap();
    for _ in 0..2 {
        let mut ev = evaluator(Rc::new(MemoryIO::default()));
        let v = ev.run(&back).unwrap();
        assert_eq!(show(&v), "42");
    }
}

#[test]
fn compile_cache_is_used_by_imports() {
    let io = MemoryIO::default().with_file("/lib.nix", "{ x = 1; }");
    let mut ev = evaluator(Rc::new(io));
    let c = ev
        .compile(
            "«test»",
            "(import /lib.nix).x + (import /lib.nix).x",
            Path::new("/"),
        )
        .unwrap();
    assert_eq!(show(&ev.run(&c).unwrap()), "2");
    assert_eq!(ev.state.compiled.len(), 1);
    assert_eq!(ev.state.imports.borrow().len(), 1);
}

/// A file system whose files can change between evaluations.
#[derive(Default)]
struct MutableIO(RefCell<MemoryIO>);

impl EvalIO for MutableIO {
    fn read_file(&self, p: &Path) -> std::io::Result<Vec<u8>> {
        self.0.borrow().read_file(p)
    }
    fn read_dir(&self, p: &Path) -> std::io::Result<Vec<(String, FileType)>> {
        self.0.borrow().read_dir(p)
    }
    fn file_type(&self, p: &Path) -> std::io::Result<FileType> {
        self.0.borrow().file_type(p)
    }
    fn path_exists(&self, p: &Path) -> bool {
        self.0.borrow().path_exists(p)
    }
}

#[test]
fn import_cache_keeps_unchanged_files_and_drops_changed_ones() {
    let io = Rc::new(MutableIO::default());
    io.0.borrow_mut().files.insert(
        PathBuf::from("/a.nix"),
        b"builtins.trace \"eval a\" 1".to_vec(),
    );
    let mut ev = evaluator(io.clone());
    let c = ev
        .compile("«test»", "import /a.nix", Path::new("/"))
        .unwrap();
    assert_eq!(show(&ev.run(&c).unwrap()), "1");
    let first = ev.state.imports.borrow().get(
        Path::new("/a.nix"),
        tvix_eval::state::content_hash(b"builtins.trace \"eval a\" 1"),
    );
    assert!(first.is_some(), "value kept for the unchanged file");
    // Change the file: the entry keyed by the old content no longer applies.
    io.0.borrow_mut()
        .files
        .insert(PathBuf::from("/a.nix"), b"2".to_vec());
    assert_eq!(show(&ev.run(&c).unwrap()), "2");
    // The user of the crate can drop entries.
    ev.state
        .imports
        .borrow_mut()
        .invalidate(Path::new("/a.nix"));
    assert!(ev.state.imports.borrow().is_empty());
    ev.state.imports.borrow_mut().clear();
}

#[test]
fn debug_info_names_every_scope_slot() {
    let ev = evaluator(Rc::new(MemoryIO::default()));
    let c = ev
        .compile(
            "«test»",
            "let a = 1; b = a; in with { c = 1; }; x: { y }: a",
            Path::new("/"),
        )
        .unwrap();
    let root = &c.root;
    let let_scope = root
        .scopes
        .iter()
        .find(|s| s.kind == ScopeKind::Let)
        .unwrap();
    let names: Vec<_> = let_scope
        .names
        .iter()
        .map(|n| n.unwrap().as_str())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert!(root.scopes.iter().any(|s| s.kind == ScopeKind::With));
    let lambda = root.protos.iter().find(|p| p.call_scope.is_some()).unwrap();
    assert_eq!(
        lambda.call_scope.as_ref().unwrap().names[0]
            .unwrap()
            .as_str(),
        "x"
    );
    // Every instruction has a span.
    assert_eq!(root.ops.len(), root.spans.len());
    assert!(root.spans.iter().all(|s| s.end >= s.start));
}

#[derive(Default)]
struct Recorder {
    entered: Vec<FrameKind>,
    left: usize,
    steps: usize,
    errors: Vec<String>,
    /// Variables seen at a `Call` instruction inside the lambda body, by name.
    vars_at_call: Option<Vec<(String, VarView)>>,
}

impl Observer for Recorder {
    fn enter_frame(&mut self, _vm: &VmView<'_>, kind: FrameKind) {
        self.entered.push(kind);
    }
    fn leave_frame(&mut self, _vm: &VmView<'_>, _kind: FrameKind) {
        self.left += 1;
    }
    fn before_step(&mut self, vm: &VmView<'_>, file: &Arc<SourceFile>, span: Span, op: Op) {
        self.steps += 1;
        assert!(span.end as usize <= file.text.len() || file.text.is_empty());
        if op == Op::Add && self.vars_at_call.is_none() {
            let frames = vm.frames();
            self.vars_at_call = Some(frames[0].variables());
        }
    }
    fn on_error(&mut self, _vm: &VmView<'_>, err: &EvalError) {
        self.errors.push(err.kind.to_string());
    }
}

#[test]
fn observer_sees_frames_steps_variables_and_errors() {
    let mut ev = evaluator(Rc::new(MemoryIO::default()));
    let c = ev
        .compile(
            "«test»",
            "let f = n: let lazy = throw \"unforced\"; m = n; in m + 1; in (builtins.tryEval (throw \"caught\")).success || f 1 == 2",
            Path::new("/"),
        )
        .unwrap();
    let mut rec = Recorder::default();
    let root = ev.state.file_thunk(&c);
    let v = ev.vm(&mut rec).force(root).unwrap();
    assert_eq!(show(&v), "true");
    assert!(rec.entered.contains(&FrameKind::Import), "file frame");
    assert!(rec.entered.contains(&FrameKind::Call), "lambda call");
    assert!(rec.entered.contains(&FrameKind::Force), "thunk force");
    assert!(rec.entered.contains(&FrameKind::Builtin("tryEval")));
    assert!(rec.steps > 10);
    assert_eq!(rec.errors, ["caught"], "catchable errors are reported too");
    let vars = rec.vars_at_call.expect("paused inside f");
    let get = |n: &str| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    assert_eq!(
        get("lazy"),
        Some(VarView::Unevaluated),
        "thunks are not forced"
    );
    assert!(get("n").is_some() && get("m").is_some() && get("f").is_some());
}

/// Counts the additions it sees run.
#[derive(Default)]
struct Adds(usize);

impl Observer for Adds {
    fn before_step(&mut self, _vm: &VmView<'_>, _file: &Arc<SourceFile>, _span: Span, op: Op) {
        self.0 += usize::from(op == Op::Add);
    }
}

#[test]
fn observer_sees_list_builtins_call_their_function() {
    // Without an observer `map` and `genList` compute `n + one` when they build the
    // list; a debugger must still see each of those calls run.
    let src = "let one = 1; in builtins.deepSeq [ (builtins.genList (n: n + one) 3) (map (n: n + one) [ 1 2 ]) ] null";
    let mut ev = evaluator(Rc::new(MemoryIO::default()));
    let c = ev.compile("«test»", src, Path::new("/")).unwrap();
    let mut adds = Adds::default();
    let root = ev.state.file_thunk(&c);
    assert_eq!(show(&ev.vm(&mut adds).force(root).unwrap()), "null");
    assert_eq!(adds.0, 5);
}

#[test]
fn no_op_observer_is_free_to_use() {
    // `NoObserver` compiles the hooks away; this just checks it runs.
    let mut ev = evaluator(Rc::new(MemoryIO::default()));
    let c = ev
        .compile(
            "«test»",
            "builtins.length (builtins.genList (x: x) 1000)",
            Path::new("/"),
        )
        .unwrap();
    let root = ev.state.file_thunk(&c);
    assert_eq!(show(&ev.vm(&mut NoObserver).force(root).unwrap()), "1000");
}

fn run_with(ev: &mut Evaluator, src: &str) -> Result<Value, EvalError> {
    let c = ev.compile("«test»", src, Path::new("/"))?;
    let root = ev.state.file_thunk(&c);
    ev.vm(&mut NoObserver).deep_force(root)
}

#[test]
fn step_budget_stops_runaway_evaluation() {
    let mut ev = evaluator(Rc::new(MemoryIO::default()));
    ev.limits.max_steps = Some(10_000);
    let err = run_with(&mut ev, "let f = n: f (n + 1); in f 0").unwrap_err();
    assert!(matches!(err.kind, ErrorKind::StepLimit(10_000)), "{err}");
}

#[test]
fn step_budget_counts_comparisons_a_sort_answers_itself() {
    // `a < b` on integers is answered inside the sort: its steps still count.
    let src = "builtins.length (builtins.sort (a: b: a < b) (builtins.genList (i: i * 7919 - i * i) 5000))";
    let mut ev = evaluator(Rc::new(MemoryIO::default()));
    ev.limits.max_steps = Some(100_000);
    let err = run_with(&mut ev, src).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::StepLimit(100_000)), "{err}");
    ev.limits.max_steps = Some(1_000_000);
    assert_eq!(show(&run_with(&mut ev, src).unwrap()), "5000");
}

#[test]
fn step_budget_counts_calls_a_fold_answers_itself() {
    // `a + b` on integers is answered inside `foldl'`: its steps still count.
    let src = "builtins.foldl' (a: b: a + b) 0 (builtins.genList (i: i) 50000)";
    let mut ev = evaluator(Rc::new(MemoryIO::default()));
    ev.limits.max_steps = Some(200_000);
    let err = run_with(&mut ev, src).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::StepLimit(200_000)), "{err}");
    ev.limits.max_steps = Some(2_000_000);
    assert_eq!(show(&run_with(&mut ev, src).unwrap()), "1249975000");
}

#[test]
fn depth_limit_gives_a_clean_error() {
    let mut ev = evaluator(Rc::new(MemoryIO::default()));
    ev.limits.max_depth = 1000;
    let err = run_with(&mut ev, "let f = n: 1 + f n; in f 0").unwrap_err();
    assert!(matches!(err.kind, ErrorKind::DepthLimit(1000)), "{err}");
    // The same evaluator keeps working afterwards.
    assert_eq!(show(&run_with(&mut ev, "1 + 1").unwrap()), "2");
}

#[test]
fn cancel_flag_stops_evaluation() {
    let mut ev = evaluator(Rc::new(MemoryIO::default()));
    let flag = Arc::new(AtomicBool::new(true));
    ev.limits.cancel = Some(flag);
    let err = run_with(&mut ev, "let f = n: f (n + 1); in f 0").unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Cancelled), "{err}");
}

#[test]
fn extra_builtins_can_be_handed_in() {
    let mut ev = Evaluator::new(
        Rc::new(MemoryIO::default()),
        &BuiltinConfig::default(),
        |r| {
            r.plain("answer", 1, |_, a| match &a[0] {
                Value::Int(i) => Ok(Value::Int(i + 41)),
                _ => Err(ErrorKind::other("want an int").into()),
            })
        },
    );
    assert_eq!(
        show(&run_with(&mut ev, "builtins.answer 1 + __answer 0").unwrap()),
        "83"
    );
}

#[test]
fn memory_io_serves_files_and_directories() {
    let io = MemoryIO::default()
        .with_file("/d/a.nix", "1")
        .with_file("/d/sub/b.nix", "2");
    let mut ev = evaluator(Rc::new(io));
    let v = run_with(
        &mut ev,
        "[ (builtins.readDir /d) (builtins.readFile /d/a.nix) (builtins.pathExists /nope) ]",
    )
    .unwrap();
    assert_eq!(
        show(&v),
        "[ { \"a.nix\" = \"regular\"; sub = \"directory\"; } \"1\" false ]"
    );
}

#[test]
fn dropping_the_evaluator_frees_its_globals() {
    let mut ev = evaluator(Rc::new(MemoryIO::default()));
    let slot = ev.state.global_index[&tvix_eval::symbol::Symbol::intern("builtins")];
    let Value::Attrs(set) = &ev.state.globals[slot as usize] else {
        panic!("`builtins` is a set");
    };
    // A handle of our own: once the evaluator is gone it must be the only one left.
    let globals = set.clone();
    // Use it as a language server would: `builtins.builtins`, the `derivation` wrapper.
    let v = ev
        .eval_strict(
            r#"[ (builtins.builtins.length [ 1 ])
                 (derivation { name = "x"; builder = "/b"; system = "s"; }).drvPath ]"#,
        )
        .unwrap();
    assert!(show(&v).starts_with("[ 1 \"/nix/store/"));
    drop(v);
    assert!(Attrs::strong_count(&globals) > 1);
    drop(ev);
    assert!(
        Attrs::strong_count(&globals) == 1,
        "the builtins set outlived its evaluator (an Rc cycle)"
    );
}

#[test]
fn search_paths_imports_and_path_checks_go_through_eval_io() {
    let io = MemoryIO::default()
        .with_file("/mem/lib/x.nix", "40 + 2")
        .with_file("/mem/lib/default.nix", "{ fromDefault = true; }")
        .with_symlink("/mem/link", "lib");
    let cfg = BuiltinConfig {
        nix_path: vec![("lib".into(), "/mem/lib".into())],
        ..BuiltinConfig::default()
    };
    let mut ev = Evaluator::new(Rc::new(io), &cfg, |_| {});
    let v = ev
        .eval_strict(
            "[ (import <lib/x.nix>) (import /mem/link).fromDefault
               (builtins.pathExists /mem/link) (builtins.pathExists \"/mem/link/\")
               (builtins.pathExists \"/mem/lib/x.nix/\") (builtins.tryEval <nope>).success ]",
        )
        .unwrap();
    assert_eq!(show(&v), "[ 42 true true true false false ]");
}

/// At the first `+` (`y + a` in the lambda), evaluates expressions in the paused
/// frames: 0 is the lambda's call, 1 the file.
#[derive(Default)]
struct Evaluating {
    results: Option<Vec<Result<String, String>>>,
}

impl Observer for Evaluating {
    fn before_step(&mut self, vm: &VmView<'_>, _file: &Arc<SourceFile>, _span: Span, op: Op) {
        if op != Op::Add || self.results.is_some() {
            return;
        }
        let eval = |frame: usize, expr: &str| {
            vm.eval_in_frame(frame, expr)
                .map(|v| show(&v))
                .map_err(|e| e.kind.to_string())
        };
        self.results = Some(vec![
            eval(0, "x * 100"),
            eval(0, "twice a"),
            eval(0, "builtins.isFunction f && b"),
            eval(0, "./data"),
            eval(1, "a + 1"),
            eval(1, "x"),
            eval(0, "y * 2"),
            eval(0, "nowhere"),
            eval(99, "1"),
        ]);
    }
}

#[test]
fn expressions_evaluate_in_the_scope_of_a_paused_frame() {
    let mut ev = evaluator(Rc::new(MemoryIO::default()));
    let src = "let a = 10; b = true; lib = { twice = n: n * 2; };
                   f = x: with lib; let y = x + 1; in y + a;
               in f 5";
    let c = ev.compile("/src/t.nix", src, Path::new("/src")).unwrap();
    let root = ev.state.file_thunk(&c);
    let mut obs = Evaluating::default();
    let v = ev.vm(&mut obs).force(root).unwrap();
    assert_eq!(show(&v), "16", "the paused evaluation goes on unchanged");
    let r = obs.results.expect("paused at a +");
    assert_eq!(r[0], Ok("500".into()), "the lambda's argument");
    assert_eq!(r[1], Ok("20".into()), "a `with` set and an outer let");
    assert_eq!(r[2], Ok("true".into()), "a binding of the enclosing let");
    assert_eq!(
        r[3],
        Ok("/src/data".into()),
        "paths resolve in the frame's file"
    );
    assert_eq!(
        r[4],
        Ok("11".into()),
        "the file's frame, outside the lambda"
    );
    let x = r[5].as_ref().unwrap_err();
    assert!(
        x.contains("undefined variable 'x'"),
        "x is not in scope there: {x}"
    );
    assert_eq!(r[6], Ok("12".into()), "a variable not forced yet is forced");
    let nowhere = r[7].as_ref().unwrap_err();
    assert!(
        nowhere.contains("undefined variable 'nowhere'"),
        "{nowhere}"
    );
    assert!(r[8].as_ref().unwrap_err().contains("no frame 99"));
}

/// At each step: the instruction about to run and the variable names of the two
/// innermost frames.
#[derive(Default)]
struct Names(Vec<(Op, Vec<String>, Option<Vec<String>>)>);

impl Observer for Names {
    fn before_step(&mut self, vm: &VmView<'_>, _file: &Arc<SourceFile>, _span: Span, op: Op) {
        let names = |f: &tvix_eval::observer::FrameInfo| -> Vec<String> {
            f.variables().into_iter().map(|(n, _)| n).collect()
        };
        let frames = vm.frames();
        self.0
            .push((op, names(&frames[0]), frames.get(1).map(names)));
    }
}

#[test]
fn variables_follow_scopes_as_they_open_and_close() {
    // Environments do not carry their names: the frame's code and position give them.
    let mut ev = evaluator(Rc::new(MemoryIO::default()));
    let src = "let a = 1; b = if a == 1 then a + 1 else 0; in b + (let q = 2; in q * 10)";
    let c = ev.compile("«test»", src, Path::new("/")).unwrap();
    let mut obs = Names::default();
    let root = ev.state.file_thunk(&c);
    assert_eq!(show(&ev.vm(&mut obs).force(root).unwrap()), "22");
    let at = |op: fn(&Op) -> bool| -> Vec<&Vec<String>> {
        obs.0
            .iter()
            .filter(|(o, _, _)| op(o))
            .map(|(_, v, _)| v)
            .collect()
    };
    let sorted = |v: &Vec<String>| {
        let mut v = v.clone();
        v.sort();
        v
    };
    // About to push a scope: still in the one around it.
    let pushes = at(|o| matches!(o, Op::PushScope(_)));
    assert_eq!(pushes.len(), 2);
    assert!(pushes[0].is_empty(), "{:?}", pushes[0]);
    assert_eq!(sorted(pushes[1]), ["a", "b"]);
    // About to pop one: still in it.
    let pops = at(|o| matches!(o, Op::PopScope));
    assert_eq!(sorted(pops[0]), ["a", "b", "q"]);
    assert_eq!(sorted(pops[1]), ["a", "b"]);
    assert!(at(|o| *o == Op::Mul)
        .iter()
        .all(|v| v.contains(&"q".to_string())));
    // `b` is forced by the `+` after the inner scope's pop: the file's frame, waiting
    // there, is outside that scope again.
    let waiting: Vec<_> = obs
        .0
        .iter()
        .filter(|(o, _, _)| *o == Op::Add)
        .filter_map(|(_, _, outer)| outer.as_ref())
        .collect();
    assert!(!waiting.is_empty(), "{:?}", obs.0);
    assert!(
        waiting.iter().all(|v| sorted(v) == ["a", "b"]),
        "{waiting:?}"
    );
}
