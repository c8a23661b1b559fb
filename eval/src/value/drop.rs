//! Dropping deep structures without deep Rust recursion: a 10^5-long linked list of
//! attribute sets (or a chain of environments) would otherwise overflow the stack
//! when freed. Containers hand their children to a thread-local queue, which the
//! outermost drop drains one item at a time.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::{Env, Value};

/// Held only to be dropped one at a time.
#[allow(dead_code)]
pub(crate) enum Deferred {
    Value(Value),
    Env(Rc<Env>),
}

thread_local! {
    static QUEUE: RefCell<Vec<Deferred>> = const { RefCell::new(Vec::new()) };
    static DRAINING: Cell<bool> = const { Cell::new(false) };
}

fn is_scalar(v: &Value) -> bool {
    matches!(
        v,
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_)
    )
}

/// Queue `items` for dropping; drains the queue unless a drain is already running.
pub(crate) fn defer(items: impl Iterator<Item = Deferred>) {
    let queued = QUEUE.try_with(|q| {
        let mut q = q.borrow_mut();
        for i in items {
            match &i {
                Deferred::Value(v) if is_scalar(v) => {}
                _ => q.push(i),
            }
        }
    });
    if queued.is_err() {
        return;
    }
    let Ok(draining) = DRAINING.try_with(|d| d.replace(true)) else {
        return;
    };
    if draining {
        return;
    }
    loop {
        let next = QUEUE.with(|q| q.borrow_mut().pop());
        match next {
            Some(item) => drop(item),
            None => break,
        }
    }
    DRAINING.with(|d| d.set(false));
}
