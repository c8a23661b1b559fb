//! Strings: coercion (interpolation, `toString`) and the string builtins.

use std::rc::Rc;

use super::{int, list, string, sym, BuiltinDef, BuiltinImpl, Registry};
use crate::errors::{ErrorKind, R};
use crate::generators::{
    arrived_or_force, force, forced_or_step, run_machine, type_error, with_whnf, Co, GenFuture,
    Generator, Machine, MachineStep, Request, Response,
};
use crate::state::EvalState;
use crate::value::{BuiltinApp, NixList, NixString, StringBuilder, Value};

#[derive(Clone, Copy)]
pub struct Coerce {
    /// `toString` rules: numbers, Booleans, null and lists too.
    pub strong: bool,
    /// Paths become store paths (interpolation) rather than their own text.
    pub copy_paths: bool,
}

impl Coerce {
    /// What `"${x}"` accepts: strings, paths (copied to the store) and sets with
    /// `outPath` or `__toString`.
    pub const INTERPOLATION: Coerce = Coerce {
        strong: false,
        copy_paths: true,
    };
}

/// `v` as a string under `how`. A value that forces to a string (or, under `toString`
/// rules, a scalar), which `concatStringsSep` and interpolation meet nearly always, is
/// answered without a machine.
pub async fn coerce(co: &Co, v: Value, how: Coerce) -> R<NixString> {
    let v = force(co, v).await?;
    if let Some(s) = coerce_scalar(&v, how) {
        return Ok(s);
    }
    if let (Value::Path(p), true) = (&v, how.copy_paths) {
        return match co.yield_(Request::ImportPath((**p).clone())).await {
            Response::Value(Value::String(s)) => Ok(s),
            _ => Err(ErrorKind::other("internal error: bad resume of import").into()),
        };
    }
    match run_machine(co, "toString", Box::new(Coercion::new(v, how))).await? {
        Value::String(s) => Ok(s),
        _ => Err(ErrorKind::other("internal error: coercion gave no string").into()),
    }
}

/// Coercion to a string as a machine: the value is forced; a set gives its
/// `__toString f` (called, its answer coerced) or else its `outPath` (coerced); a path
/// its text, or under interpolation the store path it is copied to; under `toString`
/// rules a list gives its elements' strings, in order, joined by spaces.
pub struct Coercion {
    how: Coerce,
    /// The value, until it is taken.
    v: Value,
    /// Lists being joined, innermost last: the list, the index of the next element, the
    /// string so far.
    lists: Vec<(NixList, usize, StringBuilder)>,
}

/// What a forced value leads to.
enum Then {
    Str(NixString),
    /// Coerce this forced value instead.
    Value(Value),
    Step(MachineStep),
}

impl Coercion {
    pub fn new(v: Value, how: Coerce) -> Coercion {
        Coercion {
            how,
            v,
            lists: Vec::new(),
        }
    }

    /// Given the VM's answer (a forced value) to the step asked for last: the string,
    /// or the next step.
    pub fn step(&mut self, last: Option<Value>) -> R<Result<NixString, MachineStep>> {
        let mut then = match last {
            Some(v) => Then::Value(v),
            None => match forced_or_step(std::mem::take(&mut self.v)) {
                Ok(v) => Then::Value(v),
                Err(step) => Then::Step(step),
            },
        };
        loop {
            then = match then {
                Then::Value(v) => match coerce_scalar(&v, self.how) {
                    Some(s) => Then::Str(s),
                    None => self.other(v)?,
                },
                Then::Step(step) => return Ok(Err(step)),
                Then::Str(s) => {
                    let Some((_, i, sb)) = self.lists.last_mut() else {
                        return Ok(Ok(s));
                    };
                    if *i > 1 {
                        sb.push_bytes(b" ");
                    }
                    sb.push(&s);
                    self.next_elem()
                }
            };
        }
    }

    /// A forced value `coerce_scalar` declined.
    fn other(&mut self, v: Value) -> R<Then> {
        Ok(match &v {
            Value::Path(_) if self.how.copy_paths => {
                Then::Step(MachineStep::Call(import_path_fn(), v.clone()))
            }
            Value::Path(p) => Then::Str(NixString::from(p.to_string_lossy().into_owned())),
            Value::Attrs(a) => {
                if let Some(f) = a.get(sym::to_string()) {
                    return Ok(Then::Step(MachineStep::Call(f.clone(), v.clone())));
                }
                match a.get(sym::out_path()) {
                    Some(p) => match forced_or_step(p.clone()) {
                        Ok(p) => Then::Value(p),
                        Err(step) => Then::Step(step),
                    },
                    None => return Err(ErrorKind::other("cannot coerce a set to a string").into()),
                }
            }
            Value::List(l) if self.how.strong => {
                self.lists.push((l.clone(), 0, StringBuilder::default()));
                self.next_elem()
            }
            other => return Err(cannot_coerce(other).into()),
        })
    }

    /// The innermost list's next element, or its joined string once it has none.
    fn next_elem(&mut self) -> Then {
        let Some((l, i, _)) = self.lists.last_mut() else {
            return Then::Str(NixString::from(""));
        };
        match l.get(*i) {
            Some(e) => {
                *i += 1;
                match forced_or_step(e.clone()) {
                    Ok(v) => Then::Value(v),
                    Err(step) => Then::Step(step),
                }
            }
            None => {
                let (_, _, sb) = self.lists.pop().unwrap_or_default();
                Then::Str(sb.finish())
            }
        }
    }
}

impl Machine for Coercion {
    fn resume(&mut self, last: Option<Value>) -> R<MachineStep> {
        Ok(match self.step(last)? {
            Ok(s) => MachineStep::Done(Value::String(s)),
            Err(step) => step,
        })
    }
}

/// A machine cannot reach the evaluator's IO, so it copies a path to the store as a call
/// of this plain builtin (which can); rare enough to be built on each use.
fn import_path_fn() -> Value {
    Value::Builtin(Rc::new(BuiltinApp {
        def: Rc::new(BuiltinDef {
            name: "importPath",
            arity: 1,
            strict: 1,
            imp: BuiltinImpl::Plain(Rc::new(|st: &mut EvalState, a: &mut [Value]| match &a[0] {
                Value::Path(p) => import_path(st, p),
                other => Err(type_error("a path", other)),
            })),
            quick: None,
            check_first: None,
        }),
        args: Default::default(),
    }))
}

/// The store path the file `p` is imported as, as a string with that path as context.
pub fn import_path(st: &EvalState, p: &std::path::Path) -> R<Value> {
    let sp = st.io.import_path(p).map_err(ErrorKind::Io)?;
    Ok(Value::String(NixString::new(
        sp.clone().into_bytes(),
        Some([sp].into()),
    )))
}

fn cannot_coerce(v: &Value) -> ErrorKind {
    let mut msg = format!("cannot coerce {} to a string", v.describe());
    if let Value::Closure(c) = v {
        let loc = crate::errors::Location {
            file: c.proto.file.clone(),
            span: c.proto.span,
        };
        let (l, col) = loc.line_col();
        msg.push_str(&format!(": «lambda @ {}:{}:{}»", c.proto.file.name, l, col));
    }
    ErrorKind::Other(msg)
}

/// The coercions that need no evaluation: a string, and under `toString` rules a number,
/// Boolean or null. Shared by `coerce` and the builtins' quick paths, so both follow
/// one set of rules.
fn coerce_scalar(v: &Value, how: Coerce) -> Option<NixString> {
    Some(match v {
        Value::String(s) => s.clone(),
        Value::Int(i) if how.strong => NixString::of_int(*i),
        Value::Float(f) if how.strong => NixString::from(format!("{f:.6}")),
        Value::Bool(b) if how.strong => NixString::from(if *b { "1" } else { "" }),
        Value::Null if how.strong => NixString::from(""),
        _ => return None,
    })
}

/// String interpolation when some part is not already a string.
pub fn interpolate_gen(parts: Vec<Value>, path_mode: bool) -> Generator {
    crate::generators::start(move |co| {
        Box::pin(async move {
            let mut sb = StringBuilder::default();
            for p in parts {
                let s = coerce(
                    &co,
                    p,
                    Coerce {
                        strong: false,
                        copy_paths: !path_mode,
                    },
                )
                .await?;
                sb.push(&s);
            }
            Ok(Value::String(sb.finish()))
        })
    })
}

const TO_STRING: Coerce = Coerce {
    strong: true,
    copy_paths: false,
};

fn to_string(a: &mut [Value]) -> Box<dyn Machine> {
    Box::new(Coercion::new(std::mem::take(&mut a[0]), TO_STRING))
}

/// `concatStringsSep sep list`: forces `sep` (a string), then the list, then coerces
/// the elements in order as interpolation does.
struct ConcatStringsSep {
    /// The separator, then the list, each until it is forced.
    args: [Value; 2],
    sep: Option<NixString>,
    elems: Option<NixList>,
    i: usize,
    out: StringBuilder,
    /// Coercing element `i - 1`, which is not a plain string.
    coercion: Option<Coercion>,
}

impl ConcatStringsSep {
    fn push(&mut self, s: &NixString) {
        if self.i > 1 {
            if let Some(sep) = &self.sep {
                self.out.push(sep);
            }
        }
        self.out.push(s);
    }

    #[inline(never)]
    fn prelude(&mut self, last: &mut Option<Value>) -> R<Option<MachineStep>> {
        if self.sep.is_none() {
            let v = match arrived_or_force(last, &mut self.args[0]) {
                Ok(v) => v,
                Err(step) => return Ok(Some(step)),
            };
            self.sep = Some(string(&v)?.clone());
        }
        let v = match arrived_or_force(last, &mut self.args[1]) {
            Ok(v) => v,
            Err(step) => return Ok(Some(step)),
        };
        self.elems = Some(list(&v)?.clone());
        Ok(None)
    }
}

impl Machine for ConcatStringsSep {
    fn resume(&mut self, mut last: Option<Value>) -> R<MachineStep> {
        if self.elems.is_none() {
            if let Some(step) = self.prelude(&mut last)? {
                return Ok(step);
            }
        }
        loop {
            if let Some(c) = &mut self.coercion {
                match c.step(last.take())? {
                    Ok(s) => {
                        self.coercion = None;
                        self.push(&s);
                    }
                    Err(step) => return Ok(step),
                }
            }
            let l = self.elems.as_ref().expect("forced above");
            let Some(e) = l.get(self.i) else {
                let out = std::mem::take(&mut self.out);
                return Ok(MachineStep::Done(Value::String(out.finish())));
            };
            self.i += 1;
            match with_whnf(e, |v| coerce_scalar(v, Coerce::INTERPOLATION)) {
                Some(s) => self.push(&s),
                None => self.coercion = Some(Coercion::new(e.clone(), Coerce::INTERPOLATION)),
            }
        }
    }
}

fn concat_strings_sep(a: &mut [Value]) -> Box<dyn Machine> {
    Box::new(ConcatStringsSep {
        args: [std::mem::take(&mut a[0]), std::mem::take(&mut a[1])],
        sep: None,
        elems: None,
        i: 0,
        out: StringBuilder::default(),
        coercion: None,
    })
}

fn replace_strings(co: Co, args: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        // In C++ Nix's order: each list checked as it is forced, their lengths, the
        // patterns, and only then the string.
        let from = list(&force(&co, args[0].clone()).await?)?.clone();
        let to = list(&force(&co, args[1].clone()).await?)?.clone();
        if from.len() != to.len() {
            return Err(ErrorKind::other(
                "'from' and 'to' arguments passed to builtins.replaceStrings have different lengths",
            ).into());
        }
        let mut froms = Vec::new();
        for f in from.iter() {
            froms.push(string(&force(&co, f.clone()).await?)?.clone());
        }
        let mut tos: Vec<Option<NixString>> = vec![None; to.len()];
        let s = string(&force(&co, args[2].clone()).await?)?.clone();
        let bytes = s.as_bytes();
        let mut sb = StringBuilder::default();
        if let Some(c) = s.context() {
            sb.ctx.extend(c.iter().cloned());
        }
        sb.bytes.reserve(bytes.len());
        // Bytes that start no pattern are copied in runs (unless a pattern is empty,
        // which matches everywhere).
        let has_empty = froms.iter().any(|f| f.is_empty());
        let mut starts = [false; 256];
        for f in &froms {
            if let Some(&b) = f.as_bytes().first() {
                starts[b as usize] = true;
            }
        }
        let mut i = 0;
        loop {
            if !has_empty {
                let run = bytes[i..]
                    .iter()
                    .position(|&b| starts[b as usize])
                    .unwrap_or(bytes.len() - i);
                sb.push_bytes(&bytes[i..i + run]);
                i += run;
                if i == bytes.len() {
                    break;
                }
            }
            let mut matched = false;
            for (k, f) in froms.iter().enumerate() {
                if bytes[i..].starts_with(f.as_bytes()) {
                    if tos[k].is_none() {
                        tos[k] = Some(string(&force(&co, to[k].clone()).await?)?.clone());
                    }
                    let t = tos[k].as_ref().unwrap();
                    sb.push(t);
                    if f.is_empty() {
                        if i < bytes.len() {
                            sb.push_bytes(&bytes[i..i + 1]);
                        }
                        i += 1;
                    } else {
                        i += f.len();
                    }
                    matched = true;
                    break;
                }
            }
            if !matched {
                if i < bytes.len() {
                    sb.push_bytes(&bytes[i..i + 1]);
                }
                i += 1;
            }
            if i > bytes.len() || (i == bytes.len() && !has_empty) {
                break;
            }
        }
        Ok(Value::String(sb.finish()))
    })
}

fn coerce_plain(v: &Value) -> R<NixString> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Path(p) => Ok(NixString::from(p.to_string_lossy().into_owned())),
        other => {
            Err(ErrorKind::other(format!("cannot coerce {} to a string", other.describe())).into())
        }
    }
}

fn base_name_of(v: &Value) -> R<Value> {
    let s = coerce_plain(v)?;
    let b = s.as_bytes();
    let b = b.strip_suffix(b"/").unwrap_or(b);
    let start = b.iter().rposition(|c| *c == b'/').map_or(0, |i| i + 1);
    Ok(Value::String(NixString::new(
        &b[start..],
        s.context().cloned(),
    )))
}

fn dir_of(v: &Value) -> R<Value> {
    let s = coerce_plain(v)?;
    let b = s.as_bytes();
    let dir: &[u8] = match b.iter().rposition(|c| *c == b'/') {
        None => b".",
        Some(0) => b"/",
        Some(i) => &b[..i],
    };
    match v {
        Value::Path(_) => Ok(Value::Path(Rc::new(std::path::PathBuf::from(
            String::from_utf8_lossy(dir).into_owned(),
        )))),
        _ => Ok(Value::String(NixString::new(dir, s.context().cloned()))),
    }
}

pub fn register(r: &mut Registry) {
    r.machine_quick("toString", 1, to_string, |a| {
        coerce_scalar(&plain(&a[0])?, TO_STRING).map(Value::String)
    });
    r.machine("concatStringsSep", 2, concat_strings_sep);
    r.gen("replaceStrings", 3, replace_strings);
    r.machine_quick("stringLength", 1, string_length, |a| match plain(&a[0])? {
        Value::String(s) => Some(Value::Int(s.len() as i64)),
        _ => None,
    });
    r.gen_quick("substring", 3, substring, |a| {
        match (plain(&a[0])?, plain(&a[1])?, plain(&a[2])?) {
            (Value::Int(start), Value::Int(len), Value::String(s)) if start >= 0 => {
                Some(substring_of(start, len, &s))
            }
            _ => None,
        }
    });
    r.plain("baseNameOf", 1, |_, a| base_name_of(&a[0]));
    r.plain("dirOf", 1, |_, a| dir_of(&a[0]));
    let _ = type_error;
}

/// `v`, or what it evaluated to if it is a forced thunk; `None` if not yet forced.
fn plain(v: &Value) -> Option<Value> {
    match v {
        Value::Thunk(t) => t.value(),
        v => Some(v.clone()),
    }
}

fn substring_of(start: i64, len: i64, s: &NixString) -> Value {
    let b = s.as_bytes();
    let start = (start as usize).min(b.len());
    let end = if len < 0 {
        b.len()
    } else {
        start.saturating_add(len as usize).min(b.len())
    };
    Value::String(NixString::new(&b[start..end], s.context().cloned()))
}

/// `stringLength s`: the length of `s` coerced as interpolation coerces it.
struct StringLength(Coercion);

impl Machine for StringLength {
    fn resume(&mut self, last: Option<Value>) -> R<MachineStep> {
        Ok(match self.0.step(last)? {
            Ok(s) => MachineStep::Done(Value::Int(s.len() as i64)),
            Err(step) => step,
        })
    }
}

fn string_length(a: &mut [Value]) -> Box<dyn Machine> {
    Box::new(StringLength(Coercion::new(
        std::mem::take(&mut a[0]),
        Coerce::INTERPOLATION,
    )))
}

fn substring(co: Co, a: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        let start = int(&force(&co, a[0].clone()).await?)?;
        let len = int(&force(&co, a[1].clone()).await?)?;
        let s = coerce(&co, a[2].clone(), Coerce::INTERPOLATION).await?;
        if start < 0 {
            return Err(ErrorKind::other("negative start position in 'substring'").into());
        }
        Ok(substring_of(start, len, &s))
    })
}
