//! Runtime values. `Value` is 16 bytes: every payload is a scalar or one pointer.
//! Runtime values are single-threaded (`Rc`); only the compiled form is shared.

mod attrs;
mod cell;
mod code;
mod copy;
mod drop;
mod env_rc;
mod list;
mod string;
mod thunk;

pub use attrs::Attrs;
pub use cell::VCell;
pub use code::{Code, ScopeChain};
pub use env_rc::{Env, EnvRc};
pub use list::NixList;
pub use string::{NixContext, NixString, StringBuilder};
pub use thunk::{Thunk, ThunkState};

use std::path::PathBuf;
use std::rc::Rc;

use crate::builtins::BuiltinDef;

/// The tag is a whole word (`repr(u64)`; the size stays 16 bytes). With a one-byte
/// tag, making a value wrote that one byte, and the next read of the value (which
/// loads its first word whole, as moves of values do) could not be forwarded from
/// the narrower store: the load waited for the store to reach the cache, on nearly
/// every value the VM pushed and popped. modules.nix ran 12% faster with the word.
#[derive(Clone)]
#[repr(u64)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(NixString),
    Path(Rc<PathBuf>),
    Attrs(Attrs),
    List(NixList),
    Closure(Rc<Closure>),
    Builtin(Rc<BuiltinApp>),
    Thunk(Thunk),
}

/// `null`: what a slot holds before it is filled (and what `mem::take` leaves).
impl Default for Value {
    fn default() -> Self {
        Value::Null
    }
}

/// A function value: compiled lambda plus the environment it closed over.
pub struct Closure {
    pub proto: Rc<Code>,
    pub env: EnvRc,
}

/// A builtin with the arguments applied to it so far.
pub struct BuiltinApp {
    pub def: Rc<BuiltinDef>,
    pub args: BuiltinArgs,
}

/// The arguments of a partial application. Builtins take at most three, so a partial
/// application holds at most two: kept inline, `builtins.elem x` makes one allocation,
/// not two.
pub type BuiltinArgs = smallvec::SmallVec<[Value; 2]>;

impl Value {
    pub fn string(s: impl Into<NixString>) -> Value {
        Value::String(s.into())
    }

    pub fn list(v: Vec<Value>) -> Value {
        Value::List(NixList::from_vec(v))
    }

    pub fn attrs(a: Attrs) -> Value {
        Value::Attrs(a)
    }

    /// Unwrap an evaluated thunk; leaves other values alone.
    #[inline]
    pub fn shallow(self) -> Value {
        match self {
            Value::Thunk(t) => match t.value() {
                Some(v) => v,
                None => Value::Thunk(t),
            },
            v => v,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Path(_) => "path",
            Value::Attrs(_) => "set",
            Value::List(_) => "list",
            Value::Closure(_) | Value::Builtin(_) => "lambda",
            Value::Thunk(_) => "thunk",
        }
    }

    /// The phrase C++ Nix uses in type errors ("an integer", "a set", ...).
    pub fn describe(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a Boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::String(_) => "a string",
            Value::Path(_) => "a path",
            Value::Attrs(_) => "a set",
            Value::List(_) => "a list",
            Value::Closure(_) => "a function",
            Value::Builtin(_) => "a built-in function",
            Value::Thunk(_) => "a thunk",
        }
    }

    pub fn is_function(&self) -> bool {
        match self {
            Value::Closure(_) | Value::Builtin(_) => true,
            Value::Attrs(a) => a.get(crate::builtins::sym::functor()).is_some(),
            _ => false,
        }
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::print::print_shallow(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_is_16_bytes() {
        assert_eq!(std::mem::size_of::<Value>(), 16);
    }

    #[test]
    #[cfg(not(debug_assertions))]
    fn thunks_and_environments_stay_small() {
        // Thunks are blocks of their own (`ThunkBox`: 8 bytes of count and header on
        // top of the state); an environment of one slot is a block of 32 bytes (16 of
        // count, size and parent on top), each slot 16 more.
        assert_eq!(std::mem::size_of::<thunk::ThunkBox>(), 32);
        assert_eq!(std::mem::size_of_val(&*Env::new(1, None)), 32);
        assert_eq!(std::mem::size_of_val(&*Env::new(3, None)), 64);
    }
}
