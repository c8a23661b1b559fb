//! Evaluating an expression inside the runtime environment of a paused frame, for
//! the debugger's "evaluate" and watch expressions.
//!
//! The frame's code knows the compiler's description of the slots of its environment
//! and of those around it (`ScopeChain`), so the chain of environments of a frame can
//! be turned back into the compile-time scopes it came from; the expression is
//! compiled against those scopes and run in that very environment, as if it had been
//! written at the paused spot.

use std::path::Path;
use std::sync::Arc;

use crate::compiled::{ScopeKind, SourceFile};
use crate::errors::EvalError;
use crate::state::EvalState;
use crate::symbol::Symbol;
use crate::value::{EnvRc, ScopeChain, ThunkState, Value};
use crate::vm::{Limits, Vm};
use crate::NoObserver;

/// The scopes of an environment chain named `names`, outermost first. Environments
/// without names (the empty root of a file, internal trampolines) keep their place as
/// hidden scopes, so that scope depths match the chain.
fn scopes_of(env: &EnvRc, mut names: Option<&ScopeChain>) -> Vec<(ScopeKind, Vec<Option<Symbol>>)> {
    let mut out = Vec::new();
    let mut e = Some(env);
    while let Some(cur) = e {
        out.push(match names {
            Some(n) => (n.info.kind, n.info.names.clone()),
            None => (ScopeKind::Hidden, vec![None; cur.slots.borrow().len()]),
        });
        e = cur.parent.as_ref();
        names = names.and_then(|n| n.outer.as_deref());
    }
    out.reverse();
    out
}

/// Compile `expr` in the scopes of `env`, named `names`, and force it there (weak
/// head normal form).
pub(crate) fn eval_in_env(
    state: &mut EvalState,
    env: &EnvRc,
    names: Option<&ScopeChain>,
    dir: &Path,
    expr: &str,
) -> Result<Value, EvalError> {
    let file = Arc::new(SourceFile {
        name: "«debugger»".into(),
        text: expr.to_string(),
        dir: dir.to_path_buf(),
    });
    let compiled = crate::compiler::compile_in_scopes(
        file,
        &state.global_index,
        state.global_names.clone(),
        state.compile_options,
        scopes_of(env, names),
    )?;
    // The thunk of a file, but suspended in the frame's environment instead of a
    // file's empty one.
    let thunk = state.file_thunk(&compiled);
    if let Value::Thunk(t) = &thunk {
        if let ThunkState::Suspended { env: e, .. } = &mut *t.borrow_mut() {
            *e = env.clone();
        }
    }
    Vm::new(state, &mut NoObserver, Limits::default()).force(thunk)
}
