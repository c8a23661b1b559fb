//! Control and type inspection: throw, abort, seq, deepSeq, tryEval, trace, typeOf, ...

use super::{sym, Registry};
use crate::errors::{ErrorKind, R};
use crate::generators::{
    deep_force, force, Co, DeepForce, GenFuture, Machine, MachineStep, Request, Response,
};
use crate::value::{Attrs, NixString, Value};

fn msg(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_str_lossy().into_owned(),
        other => String::from_utf8_lossy(&crate::print::print_value(other)).into_owned(),
    }
}

fn try_eval(co: Co, args: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        let v = args.into_iter().next().unwrap();
        let r = match v {
            Value::Thunk(t) if !t.is_evaluated() => {
                co.yield_(Request::TryForce(Value::Thunk(t))).await
            }
            v => Response::Value(v.shallow()),
        };
        let (ok, value) = match r {
            Response::Value(v) => (true, v),
            _ => (false, Value::Bool(false)),
        };
        Ok(Value::attrs(Attrs::from_sorted(vec![
            (sym::success(), Value::Bool(ok)),
            (sym::value(), value),
        ])))
    })
}

/// `deepSeq a b`: `a` forced deeply, then `b` as it is.
struct DeepSeq {
    a: DeepForce,
    b: Value,
}

impl Machine for DeepSeq {
    fn resume(&mut self, last: Option<Value>) -> R<MachineStep> {
        Ok(match self.a.resume(last)? {
            MachineStep::Done(_) => MachineStep::Done(std::mem::take(&mut self.b)),
            step => step,
        })
    }
}

fn deep_seq(a: &mut [Value]) -> Box<dyn Machine> {
    Box::new(DeepSeq {
        a: DeepForce::new(std::mem::take(&mut a[0])),
        b: std::mem::take(&mut a[1]),
    })
}

/// `addErrorContext msg e`: `e` forced, with `msg` added to the trace of an error raised
/// meanwhile (the VM asks `error_context` as it records the frames of an error).
struct ErrorContext {
    msg: Value,
    e: Option<Value>,
}

impl Machine for ErrorContext {
    fn resume(&mut self, last: Option<Value>) -> R<MachineStep> {
        Ok(match self.e.take() {
            Some(e) => MachineStep::Force(e),
            None => MachineStep::Done(last.unwrap_or_default()),
        })
    }

    fn error_context(&self) -> Option<&Value> {
        Some(&self.msg)
    }
}

fn error_context(a: &mut [Value]) -> Box<dyn Machine> {
    Box::new(ErrorContext {
        msg: std::mem::take(&mut a[0]),
        e: Some(std::mem::take(&mut a[1])),
    })
}

fn trace(co: Co, args: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        let v = deep_force(&co, args[0].clone()).await?;
        eprintln!(
            "trace: {}",
            String::from_utf8_lossy(&crate::print::print_value(&v))
        );
        Ok(args[1].clone())
    })
}

fn warn(co: Co, args: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        let v = force(&co, args[0].clone()).await?;
        let Value::String(s) = &v else {
            return Err(crate::generators::type_error("a string", &v));
        };
        eprintln!("evaluation warning: {}", s.to_str_lossy());
        Ok(args[1].clone())
    })
}

pub fn register(r: &mut Registry) {
    r.plain("throw", 1, |_, a| Err(ErrorKind::Throw(msg(&a[0])).into()));
    r.plain("abort", 1, |_, a| Err(ErrorKind::Abort(msg(&a[0])).into()));
    r.plain_mask("seq", 2, 0b01, |_, a| Ok(a[1].clone()));
    r.machine("deepSeq", 2, deep_seq);
    r.gen("tryEval", 1, try_eval);
    r.gen("trace", 2, trace);
    r.gen("warn", 2, warn);
    r.machine("addErrorContext", 2, error_context);
    r.plain_mask("break", 1, 0, |_, a| Ok(a[0].clone()));
    r.plain("typeOf", 1, |_, a| {
        Ok(Value::String(NixString::from(a[0].type_name())))
    });
    r.plain("isNull", 1, |_, a| {
        Ok(Value::Bool(matches!(a[0], Value::Null)))
    });
    r.plain("isInt", 1, |_, a| {
        Ok(Value::Bool(matches!(a[0], Value::Int(_))))
    });
    r.plain("isFloat", 1, |_, a| {
        Ok(Value::Bool(matches!(a[0], Value::Float(_))))
    });
    r.plain("isBool", 1, |_, a| {
        Ok(Value::Bool(matches!(a[0], Value::Bool(_))))
    });
    r.plain("isString", 1, |_, a| {
        Ok(Value::Bool(matches!(a[0], Value::String(_))))
    });
    r.plain("isPath", 1, |_, a| {
        Ok(Value::Bool(matches!(a[0], Value::Path(_))))
    });
    r.plain("isList", 1, |_, a| {
        Ok(Value::Bool(matches!(a[0], Value::List(_))))
    });
    r.plain("isAttrs", 1, |_, a| {
        Ok(Value::Bool(matches!(a[0], Value::Attrs(_))))
    });
    r.plain("isFunction", 1, |_, a| {
        Ok(Value::Bool(matches!(
            a[0],
            Value::Closure(_) | Value::Builtin(_)
        )))
    });
    r.value("true", Value::Bool(true));
    r.value("false", Value::Bool(false));
    r.value("null", Value::Null);
}
