//! Any text: parse, compile and evaluate it under limits (deeply, or for half the inputs
//! only at the top, as `tvix eval` without `--strict`), then print the result.
//! Errors are expected; a panic, a Rust stack overflow or a hang is a bug. So is a
//! tree from our parser that differs from rnix's, or one for an input rnix rejects.
#![no_main]

use std::path::Path;
use std::rc::Rc;

use libfuzzer_sys::fuzz_target;
use tvix_eval::builtins::BuiltinConfig;
use tvix_eval::io::MemoryIO;
use tvix_eval::{Evaluator, NoObserver};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    same_tree_as_rnix(text);
    let io = MemoryIO::default().with_file("/fuzz/lib.nix", "{ x = 1; f = a: a + 1; }");
    let mut ev = Evaluator::new(Rc::new(io), &BuiltinConfig::default(), |_| {});
    // Bounded so that a slow input is reported as slow, not as a timeout of the fuzzer.
    ev.limits.max_steps = Some(200_000);
    ev.limits.max_depth = 10_000;
    // Half the inputs as `tvix eval` without `--strict` runs them: compiled with C++
    // Nix's thunks, forced only at the top.
    let lazy = data.len() % 2 == 1;
    ev.state.compile_options.cpp_thunks = lazy;
    let Ok(compiled) = ev.compile("«fuzz»", text, Path::new("/fuzz")) else { return };
    let root = ev.state.file_thunk(&compiled);
    let mut obs = NoObserver;
    let mut vm = ev.vm(&mut obs);
    let value = if lazy { vm.force(root) } else { vm.deep_force(root) };
    if let Ok(value) = value {
        let _ = tvix_eval::print::print_value(&value);
    }
});

fn same_tree_as_rnix(text: &str) {
    let Some(ours) = tvix_eval::parser::parse(text) else { return };
    let theirs = rnix::Root::parse(text);
    assert!(theirs.errors().is_empty(), "our parser took what rnix rejects: {:?}", theirs.errors());
    let want: rowan::GreenNode = theirs.syntax().green().to_owned();
    assert!(want == ours, "trees differ:\nrnix: {want:#?}\nours: {ours:#?}");
}
