//! Arithmetic and bit operations (also used by the VM's operators).

use std::rc::Rc;

use super::{int, sym, Registry};
use crate::errors::{ErrorKind, R};
use crate::generators::type_error;
use crate::state::EvalState;
use crate::value::{StringBuilder, Value};

fn not_coercible(v: &Value) -> Box<ErrorKind> {
    ErrorKind::other(format!("cannot coerce {} to a string", v.describe())).into()
}

/// What `a + b` can tell from its left operand alone: C++ Nix concatenates a left
/// operand that is not a number as a string, coercing it before the right operand is
/// evaluated, so one that cannot be coerced fails first.
pub fn check_add_left(a: &Value) -> R<()> {
    match a {
        Value::Null | Value::Bool(_) | Value::List(_) | Value::Closure(_) | Value::Builtin(_) => {
            Err(not_coercible(a))
        }
        Value::Attrs(s)
            if s.get(sym::to_string()).is_none() && s.get(sym::out_path()).is_none() =>
        {
            Err(not_coercible(a))
        }
        _ => Ok(()),
    }
}

pub fn add(state: &EvalState, a: Value, b: Value) -> R<Value> {
    Ok(match (a, b) {
        (a @ (Value::Int(_) | Value::Float(_)), b @ (Value::Int(_) | Value::Float(_))) => {
            return add_numbers(a, b)
        }
        (Value::String(x), Value::String(y)) => {
            let mut sb = StringBuilder::default();
            sb.push(&x);
            sb.push(&y);
            Value::String(sb.finish())
        }
        (Value::String(x), Value::Path(p)) => {
            let sp = state.io.import_path(&p).map_err(ErrorKind::Io)?;
            let mut sb = StringBuilder::default();
            sb.push(&x);
            sb.push_bytes(sp.as_bytes());
            sb.ctx.insert(sp);
            Value::String(sb.finish())
        }
        (Value::Path(p), Value::String(s)) => {
            if s.has_context() {
                return Err(ErrorKind::other(
                    "a string that refers to a store path cannot be appended to a path",
                )
                .into());
            }
            let joined = format!("{}{}", p.to_string_lossy(), s.to_str_lossy());
            Value::Path(Rc::new(crate::compiler::canon_path(std::path::Path::new(
                &joined,
            ))))
        }
        (Value::Path(p), Value::Path(q)) => {
            let joined = format!("{}{}", p.to_string_lossy(), q.to_string_lossy());
            Value::Path(Rc::new(crate::compiler::canon_path(std::path::Path::new(
                &joined,
            ))))
        }
        (Value::Path(_), other) | (Value::String(_), other) => return Err(not_coercible(&other)),
        // A set reaches here only from `builtins.add` (the `+` operator coerces it).
        (a @ (Value::Int(_) | Value::Float(_) | Value::Attrs(_)), b) => {
            return Err(ErrorKind::other(format!(
                "cannot add {} to {}",
                b.describe(),
                a.describe()
            ))
            .into())
        }
        // As C++ Nix: a left operand that is not a number concatenates as a string.
        (a, _) => return Err(not_coercible(&a)),
    })
}

/// `a + b` for two numbers; the VM's speculation calls it on numbers it already has.
pub fn add_numbers(a: Value, b: Value) -> R<Value> {
    num_op(a, b, "addition", i64::checked_add, |x, y| x + y)
}

fn num_op(
    a: Value,
    b: Value,
    what: &'static str,
    fi: fn(i64, i64) -> Option<i64>,
    ff: fn(f64, f64) -> f64,
) -> R<Value> {
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => {
            Value::Int(fi(x, y).ok_or(ErrorKind::IntegerOverflow(what))?)
        }
        (Value::Int(x), Value::Float(y)) => Value::Float(ff(x as f64, y)),
        (Value::Float(x), Value::Int(y)) => Value::Float(ff(x, y as f64)),
        (Value::Float(x), Value::Float(y)) => Value::Float(ff(x, y)),
        (Value::Int(_) | Value::Float(_), other) | (other, _) => {
            return Err(type_error("an integer", &other))
        }
    })
}

pub fn sub(a: Value, b: Value) -> R<Value> {
    num_op(a, b, "subtraction", i64::checked_sub, |x, y| x - y)
}

pub fn mul(a: Value, b: Value) -> R<Value> {
    num_op(a, b, "multiplication", i64::checked_mul, |x, y| x * y)
}

pub fn div(a: Value, b: Value) -> R<Value> {
    let zero = match &b {
        Value::Int(0) => true,
        Value::Float(f) => *f == 0.0,
        _ => false,
    };
    if zero && matches!(a, Value::Int(_) | Value::Float(_)) {
        return Err(ErrorKind::DivisionByZero.into());
    }
    num_op(a, b, "division", i64::checked_div, |x, y| x / y)
}

pub fn register(r: &mut Registry) {
    r.plain("add", 2, |s, a| add(s, a[0].clone(), a[1].clone()));
    r.plain("sub", 2, |_, a| sub(a[0].clone(), a[1].clone()));
    r.plain("mul", 2, |_, a| mul(a[0].clone(), a[1].clone()));
    r.plain("div", 2, |_, a| div(a[0].clone(), a[1].clone()));
    r.plain_checked("bitAnd", 2, super::int_first, |_, a| {
        Ok(Value::Int(int(&a[0])? & int(&a[1])?))
    });
    r.plain_checked("bitOr", 2, super::int_first, |_, a| {
        Ok(Value::Int(int(&a[0])? | int(&a[1])?))
    });
    r.plain_checked("bitXor", 2, super::int_first, |_, a| {
        Ok(Value::Int(int(&a[0])? ^ int(&a[1])?))
    });
    r.plain("ceil", 1, |_, a| round(&a[0], f64::ceil));
    r.plain("floor", 1, |_, a| round(&a[0], f64::floor));
}

fn round(v: &Value, f: fn(f64) -> f64) -> R<Value> {
    match v {
        Value::Int(i) => Ok(Value::Int(*i)),
        Value::Float(x) => {
            let y = f(*x);
            if y.is_nan() || !(-9.223372036854776e18..9.223372036854776e18).contains(&y) {
                return Err(
                    ErrorKind::other(format!("value {x} is out of the integer range")).into(),
                );
            }
            Ok(Value::Int(y as i64))
        }
        other => Err(type_error("a float", other)),
    }
}
