//! `f x` computed when a list builtin makes its elements, instead of a thunk to force
//! later, when `f` is a lambda whose body is its argument or one integer operator on
//! variables that are already evaluated (`n: n`, `n: first + n`), and the operator
//! cannot fail. The element is then exactly what forcing the thunk would give, and
//! nothing else is forced, as with `Op::Speculate` for operators in lazy positions.

use crate::compiled::Op;
use crate::generators::with_whnf;
use crate::state::EvalState;
use crate::value::{Closure, Env, Value};
use crate::vm::{int_binop, known_int};

/// An operand of the body: the argument, or an integer already known.
#[derive(Clone, Copy)]
pub enum Operand {
    Arg,
    Int(i64),
}

/// What the body of a lambda computes, when it is one of the simple shapes.
#[derive(Clone, Copy)]
pub enum Shape {
    /// The argument itself.
    Arg,
    /// One integer operator on two operands.
    Bin(Op, Operand, Operand),
}

/// The shape of `f`'s body, if `f` is a lambda of one of them. Never under an
/// observer, which must see each call step by step.
pub fn shape(st: &EvalState, f: &Value) -> Option<Shape> {
    let Value::Closure(c) = f else { return None };
    if c.proto.curried.is_some() || st.observed {
        return None;
    }
    match c.proto.ops[..] {
        [Op::Local(d, s), Op::Return] => match operand(c, d, s)? {
            Operand::Arg => Some(Shape::Arg),
            Operand::Int(_) => None,
        },
        [Op::Local(d1, s1), Op::Local(d2, s2), op, Op::Return] => {
            // Only the operators `int_binop` computes (and does not fail on).
            int_binop(op, 0, 1)?;
            Some(Shape::Bin(op, operand(c, d1, s1)?, operand(c, d2, s2)?))
        }
        _ => None,
    }
}

/// The slot `s` of the environment `d` scopes up from a call of `c`'s environment.
fn operand(c: &Closure, d: u32, s: u32) -> Option<Operand> {
    let keep = c.proto.fused;
    let s = s as usize;
    if d == 0 {
        // A call's own environment: the slots a fused lambda copies from its closure's,
        // then the argument.
        return match s.checked_sub(keep) {
            Some(0) => Some(Operand::Arg),
            Some(_) => None,
            None => slot_int(&c.env, s),
        };
    }
    let mut env = if keep == 0 {
        &c.env
    } else {
        c.env.parent.as_ref()?
    };
    for _ in 1..d {
        env = env.parent.as_ref()?;
    }
    slot_int(env, s)
}

fn slot_int(env: &Env, s: usize) -> Option<Operand> {
    known_int(env.slots.borrow().get(s)?).map(Operand::Int)
}

/// `f x` for the `f` of `shape`, or `None` when it must be left to a thunk (an
/// argument that is not an evaluated integer, an overflow).
#[inline]
pub fn apply(shape: Shape, x: &Value) -> Option<Value> {
    let int = |o: Operand| match o {
        Operand::Arg => known_int(x),
        Operand::Int(i) => Some(i),
    };
    match shape {
        Shape::Arg => with_whnf(x, |v| Some(v.clone())),
        Shape::Bin(op, a, b) => int_binop(op, int(a)?, int(b)?),
    }
}

/// `apply` of an integer argument (`genList`'s), kept small enough to inline in its loop.
#[inline(always)]
pub fn apply_int(shape: Shape, x: i64) -> Option<Value> {
    let int = |o: Operand| match o {
        Operand::Arg => x,
        Operand::Int(i) => i,
    };
    match shape {
        Shape::Arg => Some(Value::Int(x)),
        Shape::Bin(op, a, b) => int_binop(op, int(a), int(b)),
    }
}
