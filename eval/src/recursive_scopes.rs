//! Freeing the reference cycles that recursive scopes make.
//!
//! Values are reference counted. A `let`, a `rec { }` or a lambda whose formal
//! defaults refer to each other stores into its own environment thunks and closures
//! that hold that environment: a cycle that `Rc` never frees. Forcing such a thunk can
//! tie a further knot (`let x = f x` memoises a value that contains `x`), which then
//! no longer passes through the environment at all. Every such cycle contains the
//! scope or something reached from its slots.
//!
//! So each evaluation keeps its recursive scopes in a [`ScopeRegistry`] until they
//! are provably out of any cycle: a scope nobody else holds whose slot values nobody
//! else holds either is let go at the next sweep (sweeps are amortised, so the
//! registry stays proportional to what is still alive). The registry holds scopes
//! strongly, not weakly: in `let x = f x` the scope dies once `x` is computed, while
//! the knot it tied lives on, and only the scope's slots lead to it. Whatever is still registered
//! when the evaluation's owner drops it is torn down: the slots of those scopes and
//! every thunk and environment reachable from them are emptied, which breaks every
//! cycle. A value taken out of an evaluation must therefore not be forced after its
//! evaluator is gone: what it would have read reports infinite recursion instead.

use std::rc::Rc;

use rustc_hash::FxHashSet;

use crate::value::{Attrs, Closure, EnvRc, Thunk, ThunkState, Value};

/// Below this many scopes a sweep is not worth its scan.
const MIN_SWEEP: usize = 1024;

/// The recursive scopes of one evaluation (or of the evaluations sharing one import
/// cache), held until they cannot be part of a cycle.
pub struct ScopeRegistry {
    /// Each scope with the first of its slots that may refer back to it (a `let` that
    /// took slots of its lambda's call environment: the arguments before them were made
    /// before the environment, so a cycle through them passes through another
    /// registered scope, the one whose binding tied it).
    scopes: Vec<(EnvRc, usize)>,
    sweep_at: usize,
}

impl Default for ScopeRegistry {
    fn default() -> Self {
        ScopeRegistry {
            scopes: Vec::new(),
            sweep_at: MIN_SWEEP,
        }
    }
}

impl ScopeRegistry {
    /// Remember a scope whose slots may come to refer to itself.
    #[inline]
    pub fn register(&mut self, env: &EnvRc) {
        self.register_from(env, 0);
    }

    /// Remember a scope whose slots from `first` on may come to refer to itself.
    #[inline]
    pub fn register_from(&mut self, env: &EnvRc, first: usize) {
        self.scopes.push((env.clone(), first));
        if self.scopes.len() >= self.sweep_at {
            self.sweep();
        }
    }

    /// How many scopes are held (for tests and diagnostics).
    pub fn len(&self) -> usize {
        self.scopes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }

    /// Let go of the scopes that cannot be part of a cycle any more.
    pub fn sweep(&mut self) {
        self.scopes.retain(|(e, first)| !releasable(e, *first));
        // The next sweep once the survivors have grown fourfold, not twofold: a sweep
        // reads every held scope, and long-lived ones (a module system's) are cold by
        // then, so fewer sweeps are fewer cache misses; the registry stays within a
        // constant factor of what is alive.
        self.sweep_at = (4 * self.scopes.len()).max(MIN_SWEEP);
    }

    /// Move every held scope into `other` (an evaluation handing its scopes to a
    /// longer-lived owner).
    pub fn move_into(&mut self, other: &mut ScopeRegistry) {
        for (e, first) in self.scopes.drain(..) {
            other.register_from(&e, first);
        }
    }

    /// Break every cycle through the held scopes (see the module comment).
    pub fn tear_down(&mut self) {
        self.sweep();
        let envs: Vec<EnvRc> = std::mem::take(&mut self.scopes)
            .into_iter()
            .map(|(e, _)| e)
            .collect();
        if !envs.is_empty() {
            tear_down(envs);
        }
    }
}

impl Drop for ScopeRegistry {
    fn drop(&mut self) {
        self.tear_down();
    }
}

/// How many values a sweep looks at per scope before it keeps the scope anyway.
const SWEEP_BUDGET: usize = 64;

/// True when only the registry holds `env` and nothing reachable from its slots can
/// be the target of a cycle: a cycle made through this scope closes on a value read
/// from its slots (or on something selected from one), which then has a second owner.
/// So the scope may go when everything its slots reach through singly-owned values
/// is singly owned. Too big to tell within the budget counts as "may not".
fn releasable(env: &EnvRc, first: usize) -> bool {
    if EnvRc::strong_count(env) > 1 {
        return false;
    }
    let mut budget = SWEEP_BUDGET;
    let Ok(slots) = env.slots.try_borrow() else {
        return false;
    };
    slots
        .get(first..)
        .unwrap_or_default()
        .iter()
        .all(|v| owned(v, &mut budget))
}

/// Is `v` held only by its container, and everything it holds likewise?
fn owned(v: &Value, budget: &mut usize) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    match v {
        Value::Thunk(t) => {
            Thunk::strong_count(t) == 1
                && match t.try_borrow() {
                    Ok(s) => match &*s {
                        ThunkState::Evaluated(v) => owned(v, budget),
                        ThunkState::Suspended { env, .. } => owned_env(env, budget),
                        ThunkState::Apply(f, x) => owned_closure(f, budget) && owned(x, budget),
                        ThunkState::ApplyOther(fx) => owned(&fx.0, budget) && owned(&fx.1, budget),
                        ThunkState::Forcing(env) => owned_env(env, budget),
                        ThunkState::Blackhole => true,
                    },
                    Err(_) => false,
                }
        }
        Value::Attrs(a) => Attrs::strong_count(a) == 1 && a.iter().all(|(_, v)| owned(v, budget)),
        Value::List(l) => l.is_unique() && l.iter().all(|v| owned(v, budget)),
        Value::Closure(c) => owned_closure(c, budget),
        Value::Builtin(b) => Rc::strong_count(b) == 1 && b.args.iter().all(|v| owned(v, budget)),
        Value::Null
        | Value::Bool(_)
        | Value::Int(_)
        | Value::Float(_)
        | Value::String(_)
        | Value::Path(_) => true,
    }
}

fn owned_closure(c: &Rc<Closure>, budget: &mut usize) -> bool {
    Rc::strong_count(c) == 1 && owned_env(&c.env, budget)
}

fn owned_env(env: &EnvRc, budget: &mut usize) -> bool {
    if *budget == 0 || EnvRc::strong_count(env) > 1 {
        return false;
    }
    *budget -= 1;
    let Ok(slots) = env.slots.try_borrow() else {
        return false;
    };
    slots.iter().all(|v| owned(v, budget))
        && env.parent.as_ref().is_none_or(|p| owned_env(p, budget))
}

/// Empty the slots of `envs` and of every environment and thunk reachable from them.
/// An emptied thunk is a blackhole and an emptied environment holds `poison`, which
/// is how a second visit knows to stop; sets and lists cannot be marked, so they are
/// remembered by address. Everything taken out is kept until the walk ends, so no
/// address is reused meanwhile; then it is dropped, with no cycle left to keep it alive.
fn tear_down(envs: Vec<EnvRc>) {
    let poison = Value::Thunk(Thunk::blackhole());
    let is_poison = |v: &Value| match (v, &poison) {
        (Value::Thunk(a), Value::Thunk(b)) => Thunk::ptr_eq(a, b),
        _ => false,
    };
    let mut seen: FxHashSet<*const ()> = FxHashSet::default();
    let mut env_work = envs;
    let mut work: Vec<Value> = Vec::new();
    let mut taken_envs: Vec<EnvRc> = Vec::new();
    let mut taken: Vec<Value> = Vec::new();
    loop {
        if let Some(env) = env_work.pop() {
            if let Ok(mut slots) = env.slots.try_borrow_mut() {
                if slots.first().is_some_and(is_poison) {
                    continue;
                }
                for s in slots.iter_mut() {
                    work.push(std::mem::replace(s, poison.clone()));
                }
            }
            if let Some(p) = &env.parent {
                env_work.push(p.clone());
            }
            taken_envs.push(env);
            continue;
        }
        let Some(v) = work.pop() else { break };
        match &v {
            Value::Thunk(t) => {
                let state = match t.try_borrow_mut() {
                    Ok(mut s) => std::mem::replace(&mut *s, ThunkState::Blackhole),
                    Err(_) => ThunkState::Blackhole,
                };
                match state {
                    ThunkState::Suspended { env, .. } | ThunkState::Forcing(env) => {
                        env_work.push(env)
                    }
                    ThunkState::Apply(f, x) => work.extend([Value::Closure(f), x]),
                    ThunkState::ApplyOther(fx) => work.extend([fx.0, fx.1]),
                    ThunkState::Evaluated(v) => work.push(v),
                    ThunkState::Blackhole => continue,
                }
            }
            Value::Attrs(a) => {
                if !seen.insert(a.as_ptr()) {
                    continue;
                }
                work.extend(a.iter().map(|(_, v)| v.clone()));
            }
            Value::List(l) => {
                if !seen.insert(l.as_ptr() as *const ()) {
                    continue;
                }
                work.extend(l.iter().cloned());
            }
            Value::Closure(c) => env_work.push(c.env.clone()),
            Value::Builtin(b) => work.extend(b.args.iter().cloned()),
            Value::Null
            | Value::Bool(_)
            | Value::Int(_)
            | Value::Float(_)
            | Value::String(_)
            | Value::Path(_) => continue,
        }
        taken.push(v);
    }
    drop(taken_envs);
    drop(taken);
}
