//! Dropping deep structures without deep Rust recursion: a 10^5-long linked list of
//! attribute sets (or a chain of environments) would otherwise overflow the stack
//! when freed. Containers (lists, sets, environments) free their children through
//! `release`, which counts how deeply such drops are nested. Below a limit the children
//! are freed right away, so the common case costs a counter update; past it they are
//! queued, and the outermost drop frees the queue one item at a time.

use std::any::Any;
use std::cell::{Cell, RefCell};

/// Nested container drops allowed on the Rust stack (each level is a few frames of
/// `drop_in_place`, well under a kilobyte).
const MAX_DEPTH: u32 = 512;

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    static QUEUED: Cell<bool> = const { Cell::new(false) };
    static QUEUE: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// Drop a container's `children` (taken out of it by its `Drop`).
#[inline]
pub(crate) fn release<T: 'static>(children: T) {
    let depth = DEPTH.get();
    if depth >= MAX_DEPTH {
        queue(Box::new(children));
        return;
    }
    DEPTH.set(depth + 1);
    drop(children);
    if depth == 0 && QUEUED.get() {
        drain();
    }
    DEPTH.set(depth);
}

#[cold]
fn queue(children: Box<dyn Any>) {
    // While the thread is being torn down the queue may be gone; then `children` is
    // freed in place (dropped with the closure).
    if QUEUE.try_with(|q| q.borrow_mut().push(children)).is_ok() {
        QUEUED.set(true);
    }
}

/// Runs at depth 1, so what the queued items free nests again up to the limit.
#[cold]
fn drain() {
    loop {
        let next = QUEUE.try_with(|q| q.borrow_mut().pop()).ok().flatten();
        match next {
            Some(item) => drop(item),
            None => break,
        }
    }
    QUEUED.set(false);
}

#[cfg(test)]
mod tests {
    use crate::value::Value;

    #[test]
    fn deeply_nested_lists_and_environments_drop_without_overflow() {
        // A 10^6-deep list of lists; freeing it must not recurse a million times.
        let mut v = Value::list(vec![]);
        for _ in 0..1_000_000 {
            v = Value::list(vec![v, Value::Int(1)]);
        }
        drop(v);
        let mut e = crate::value::Env::new(1, None);
        for _ in 0..1_000_000 {
            let child = crate::value::Env::new(1, Some(e.clone()));
            child.slots.borrow_mut()[0] = Value::Int(2);
            e = child;
        }
        drop(e);
    }
}
