//! List builtins. Lazy ones (`map`, `genList`) build `f x` thunks; the ones that must
//! look at elements (`filter`, `foldl'`, `sort`, ...) are generators.

use super::{attrs, function, int, into_list, list, quick_apply, string, sym, Registry};
use crate::errors::{ErrorKind, R};
use crate::generators::{
    arrived_or_force, call, force, forced_or_step, known, known_or_step, take_forced_or_step,
    type_error, Co, GenFuture, Machine, MachineStep,
};
use crate::symbol::Symbol;
use crate::value::{Attrs, NixList, Thunk, Value};

fn apply(f: &Value, x: Value) -> Value {
    Value::Thunk(Thunk::apply(f.clone(), x))
}

/// An element `f x` of `map` or `genList`: computed at once when that is certain to give
/// what forcing it would (`shape` is `f`'s, see `quick_apply`), else a thunk.
#[inline(always)]
fn lazy_apply(f: &Value, shape: Option<quick_apply::Shape>, x: Value) -> Value {
    match shape.and_then(|s| quick_apply::apply(s, &x)) {
        Some(v) => v,
        None => apply(f, x),
    }
}

async fn forced_list(co: &Co, v: Value) -> R<crate::value::NixList> {
    let v = force(co, v).await?;
    Ok(list(&v)?.clone())
}

async fn forced_bool(co: &Co, f: &Value, x: Value) -> R<bool> {
    match call(co, f.clone(), x).await? {
        Value::Bool(b) => Ok(b),
        other => Err(type_error("a Boolean", &other)),
    }
}

/// Where a list builtin's machine is. Each begins by forcing the function, then the
/// list (the order the generators before them used, and so the order errors surface in).
enum Stage {
    Fun,
    List,
    /// The forced list is the answer just given.
    First,
    Loop,
    /// `Loop` for a `foldl'` that answers its calls itself (see `Foldl::next_quick`).
    Quick,
    /// Forcing the final value (`foldl'` over an empty list forces its start value).
    Last,
}

/// What a `FunList` makes of the answer it is given.
enum Got {
    /// A step of the prelude, to hand to the VM.
    Step(MachineStep),
    /// The list is in hand; with the answer for the last element, if there was one.
    Answer(Option<Value>),
}

/// The arguments `f list` of `filter`, `any`, `all`, `concatMap`: forced one after the
/// other, then the elements handed out one at a time. Each is forced in its own place,
/// so a finished machine holds (and drops) just the function and the list.
struct FunList {
    /// The function: the argument, then its value.
    f: Value,
    /// The list: the argument, then (from `Stage::Loop` on) the forced list.
    list: Value,
    i: usize,
    stage: Stage,
}

impl FunList {
    fn new(a: &mut [Value]) -> FunList {
        FunList {
            f: std::mem::take(&mut a[0]),
            list: std::mem::take(&mut a[1]),
            i: 0,
            stage: Stage::Fun,
        }
    }

    /// The forced list (`None` before).
    fn forced(&self) -> Option<&crate::value::NixList> {
        match &self.list {
            Value::List(l) if matches!(self.stage, Stage::Loop) => Some(l),
            _ => None,
        }
    }

    /// The list's elements (none before it is forced).
    fn elems(&self) -> &[Value] {
        self.forced().map(|l| &l[..]).unwrap_or_default()
    }

    /// Takes the answer to the last step: once the list is in hand, that is the
    /// answer for an element (the common case, kept inline); before, a prelude step.
    #[inline]
    fn feed(&mut self, last: Option<Value>) -> R<Got> {
        match self.stage {
            Stage::Loop | Stage::Quick | Stage::Last => Ok(Got::Answer(last)),
            _ => self.prelude(last),
        }
    }

    /// Before the loop: `f`, then the list, each taken at once when it is already a
    /// value (most calls), else handed to the VM to force.
    #[inline(never)]
    fn prelude(&mut self, last: Option<Value>) -> R<Got> {
        match self.stage {
            Stage::Fun => match take_forced_or_step(&mut self.f) {
                Ok(f) => self.f = f,
                Err(step) => {
                    self.stage = Stage::List;
                    return Ok(Got::Step(step));
                }
            },
            Stage::List => self.f = last.unwrap_or_default(),
            Stage::First => return self.got_list(last.unwrap_or_default()),
            Stage::Loop | Stage::Quick | Stage::Last => return Ok(Got::Answer(last)),
        }
        function(&self.f)?;
        match take_forced_or_step(&mut self.list) {
            Ok(l) => self.got_list(l),
            Err(step) => {
                self.stage = Stage::First;
                Ok(Got::Step(step))
            }
        }
    }

    fn got_list(&mut self, l: Value) -> R<Got> {
        list(&l)?;
        self.list = l;
        self.stage = Stage::Loop;
        Ok(Got::Answer(None))
    }

    /// `f e` for the next element `e`.
    fn next_call(&mut self) -> Option<MachineStep> {
        // Only asked for once `feed` has the list in hand (`Stage::Loop`).
        let Value::List(l) = &self.list else {
            return None;
        };
        let e = l.get(self.i)?;
        self.i += 1;
        // The function is nearly always a lambda: its count is taken without the
        // general clone's look at the kind.
        let f = match &self.f {
            Value::Closure(c) => Value::Closure(c.clone()),
            f => f.clone(),
        };
        Some(MachineStep::Call(f, known(e)))
    }
}

/// Feeds the answer to a `FunList`: returns its prelude step from the caller, or gives
/// the answer for the last element.
macro_rules! feed {
    ($m:expr, $last:expr) => {
        match $m.feed($last)? {
            Got::Step(step) => return Ok(step),
            Got::Answer(a) => a,
        }
    };
}

fn want_bool(v: Value) -> R<bool> {
    match v {
        Value::Bool(b) => Ok(b),
        other => Err(type_error("a Boolean", &other)),
    }
}

struct Filter {
    m: FunList,
    out: Vec<Value>,
}

impl Machine for Filter {
    fn resume(&mut self, last: Option<Value>) -> R<MachineStep> {
        if let Some(keep) = feed!(self.m, last) {
            if want_bool(keep)? {
                self.out.push(self.m.elems()[self.m.i - 1].clone());
            }
        }
        if let Some(step) = self.m.next_call() {
            return Ok(step);
        }
        if let Some(l) = self.m.forced().filter(|l| l.len() == self.out.len()) {
            return Ok(MachineStep::Done(Value::List(l.clone())));
        }
        Ok(MachineStep::Done(Value::list(std::mem::take(
            &mut self.out,
        ))))
    }
}

fn filter(a: &mut [Value]) -> Box<dyn Machine> {
    Box::new(Filter {
        m: FunList::new(a),
        out: Vec::new(),
    })
}

/// `any` (`want` true) and `all` (`want` false): stop at the first element whose answer
/// is `want`.
struct AnyAll {
    m: FunList,
    want: bool,
}

impl Machine for AnyAll {
    fn resume(&mut self, last: Option<Value>) -> R<MachineStep> {
        if let Some(b) = feed!(self.m, last) {
            if want_bool(b)? == self.want {
                return Ok(MachineStep::Done(Value::Bool(self.want)));
            }
        }
        match self.m.next_call() {
            Some(step) => Ok(step),
            None => Ok(MachineStep::Done(Value::Bool(!self.want))),
        }
    }
}

fn any_all(a: &mut [Value], want: bool) -> Box<dyn Machine> {
    Box::new(AnyAll {
        m: FunList::new(a),
        want,
    })
}

/// The lists `concatMap` and `concatLists` join, kept as they come (only the non-empty
/// ones) and joined once at the end into a list of the exact size. A lone non-empty
/// list is the answer itself, with no vector allocated for it (the common case).
#[derive(Default)]
struct Parts {
    first: Option<NixList>,
    /// From the second non-empty list on, all of them.
    all: Vec<NixList>,
    /// How many lists are expected (0 if unknown): sizes `all`.
    hint: usize,
}

impl Parts {
    fn push(&mut self, l: Value) -> R<()> {
        let l = into_list(l)?;
        if l.is_empty() {
            return Ok(());
        }
        match self.first.take() {
            None if self.all.is_empty() => self.first = Some(l),
            None => self.all.push(l),
            Some(first) => {
                self.all.reserve(self.hint.max(4));
                self.all.push(first);
                self.all.push(l);
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Value {
        Value::List(match self.first.take() {
            Some(l) => l,
            None => NixList::join(std::mem::take(&mut self.all)),
        })
    }
}

struct ConcatMap {
    m: FunList,
    out: Parts,
}

impl Machine for ConcatMap {
    fn resume(&mut self, last: Option<Value>) -> R<MachineStep> {
        match feed!(self.m, last) {
            Some(r) => self.out.push(r)?,
            // The list has just been forced.
            None => self.out.hint = self.m.elems().len(),
        }
        match self.m.next_call() {
            Some(step) => Ok(step),
            None => Ok(MachineStep::Done(self.out.finish())),
        }
    }
}

fn concat_map(a: &mut [Value]) -> Box<dyn Machine> {
    Box::new(ConcatMap {
        m: FunList::new(a),
        out: Parts::default(),
    })
}

/// `foldl' f nul list`: forces `f`, then the list, then calls `f acc e` for each element
/// in turn, forcing each result; over an empty list it forces `nul`. The accumulator
/// is not kept here while a call runs: the call has it.
struct Foldl {
    args: [Value; 3],
    f: Value,
    /// `None` until the list is forced.
    l: Option<crate::value::NixList>,
    i: usize,
    stage: Stage,
    /// Calls `quick2_answer` settles may be made here, not handed to the VM (stage
    /// `Quick` when `f` is such a function).
    quick: bool,
    /// The accumulator, held while the steps of those calls are reported.
    held: Option<Value>,
}

impl Machine for Foldl {
    fn answer_quick_calls(&mut self) {
        self.quick = true;
    }

    #[inline]
    fn resume(&mut self, last: Option<Value>) -> R<MachineStep> {
        match (&self.stage, last) {
            (Stage::Loop, Some(acc)) => Ok(self.next(acc)),
            (_, last) => self.prelude(last),
        }
    }
}

impl Foldl {
    /// The call for the next element, or the end.
    #[inline(always)]
    fn next(&mut self, acc: Value) -> MachineStep {
        if let Some(e) = self.l.as_deref().and_then(|l| l.get(self.i)) {
            self.i += 1;
            return MachineStep::Call2(self.f.clone(), acc, known(e));
        }
        self.end(acc)
    }

    /// `next` with the calls `quick2_answer` settles (`acc: e: acc + e` on integers)
    /// made here, a batch at a time; their steps are reported (`Tick`, the accumulator
    /// held meanwhile) before anything else is asked for.
    #[inline(never)]
    fn next_quick(&mut self, mut acc: Value) -> MachineStep {
        let mut n = 0;
        while let Some(e) = self.l.as_deref().and_then(|l| l.get(self.i)) {
            if n < QUICK_BATCH {
                if let Some(v) = crate::vm::quick2_answer(&self.f, &acc, e) {
                    acc = v;
                    self.i += 1;
                    n += 1;
                    continue;
                }
            }
            if n > 0 {
                break;
            }
            self.i += 1;
            return MachineStep::Call2(self.f.clone(), acc, known(e));
        }
        if n > 0 {
            self.held = Some(acc);
            return MachineStep::Tick(n * crate::vm::QUICK2_STEPS);
        }
        self.end(acc)
    }

    /// The list is done: the accumulator, forced.
    fn end(&mut self, acc: Value) -> MachineStep {
        match acc.shallow() {
            acc @ Value::Thunk(_) => {
                self.stage = Stage::Last;
                MachineStep::Force(acc)
            }
            acc => MachineStep::Done(acc),
        }
    }

    /// Before the loop: `f`, then the list, each taken at once when it is already a
    /// value, else handed to the VM to force; then the first call.
    #[inline(never)]
    fn prelude(&mut self, last: Option<Value>) -> R<MachineStep> {
        match self.stage {
            Stage::Fun => match take_forced_or_step(&mut self.args[0]) {
                Ok(f) => self.f = f,
                Err(step) => {
                    self.stage = Stage::List;
                    return Ok(step);
                }
            },
            Stage::List => self.f = last.unwrap_or_default(),
            Stage::First => return self.got_list(last.unwrap_or_default()),
            Stage::Loop => return Ok(self.next(last.unwrap_or_default())),
            // With nothing after a `Tick`: the accumulator held meanwhile.
            Stage::Quick => {
                let acc = last.or_else(|| self.held.take());
                return Ok(self.next_quick(acc.unwrap_or_default()));
            }
            Stage::Last => return Ok(MachineStep::Done(last.unwrap_or_default())),
        }
        function(&self.f)?;
        match take_forced_or_step(&mut self.args[2]) {
            Ok(l) => self.got_list(l),
            Err(step) => {
                self.stage = Stage::First;
                Ok(step)
            }
        }
    }

    fn got_list(&mut self, l: Value) -> R<MachineStep> {
        self.l = Some(into_list(l)?);
        let acc = std::mem::take(&mut self.args[1]);
        if self.quick && crate::vm::answers_quick2(&self.f) {
            self.stage = Stage::Quick;
            return Ok(self.next_quick(acc));
        }
        self.stage = Stage::Loop;
        Ok(self.next(acc))
    }
}

fn foldl_strict(a: &mut [Value]) -> Box<dyn Machine> {
    Box::new(Foldl {
        args: [
            std::mem::take(&mut a[0]),
            std::mem::take(&mut a[1]),
            std::mem::take(&mut a[2]),
        ],
        f: Value::Null,
        l: None,
        i: 0,
        stage: Stage::Fun,
        quick: false,
        held: None,
    })
}

/// A list argument whose elements a machine looks at one by one, each forced: the list
/// is forced first, then the elements in order. Elements already evaluated are taken at
/// once; only thunks go back to the VM.
pub(crate) struct ForcedElems {
    arg: Value,
    /// `None` until the list is forced.
    l: Option<crate::value::NixList>,
    i: usize,
}

impl ForcedElems {
    pub(crate) fn new(arg: Value) -> ForcedElems {
        ForcedElems { arg, l: None, i: 0 }
    }

    /// Hand each forced element to `each`, given the answer to the step asked for last;
    /// a step to ask the VM for, or `None` once every element has been seen.
    pub(crate) fn step(
        &mut self,
        last: Option<Value>,
        mut each: impl FnMut(Value) -> R<()>,
    ) -> R<Option<MachineStep>> {
        self.step_at(last, |e, _, _| each(e))
    }

    /// As `step`, also telling `each` where the element is and how long the list is.
    pub(crate) fn step_at(
        &mut self,
        last: Option<Value>,
        mut each: impl FnMut(Value, usize, usize) -> R<()>,
    ) -> R<Option<MachineStep>> {
        let l = match (&self.l, last) {
            (None, None) => match forced_or_step(std::mem::take(&mut self.arg)) {
                Ok(v) => self.l.insert(into_list(v)?),
                Err(step) => return Ok(Some(step)),
            },
            (None, Some(v)) => self.l.insert(into_list(v)?),
            (Some(l), last) => {
                if let Some(e) = last {
                    // The element asked for last, at `i - 1`.
                    each(e, self.i.saturating_sub(1), l.len())?;
                }
                l
            }
        };
        while let Some(e) = l.get(self.i) {
            self.i += 1;
            match known_or_step(e) {
                Ok(e) => each(e, self.i - 1, l.len())?,
                Err(step) => return Ok(Some(step)),
            }
        }
        Ok(None)
    }
}

/// `concatLists xs`.
struct ConcatLists {
    xs: ForcedElems,
    out: Parts,
}

impl Machine for ConcatLists {
    fn resume(&mut self, last: Option<Value>) -> R<MachineStep> {
        let out = &mut self.out;
        let step = self.xs.step(last, |e| out.push(e))?;
        Ok(step.unwrap_or_else(|| MachineStep::Done(out.finish())))
    }
}

fn concat_lists(a: &mut [Value]) -> Box<dyn Machine> {
    Box::new(ConcatLists {
        xs: ForcedElems::new(std::mem::take(&mut a[0])),
        out: Parts::default(),
    })
}

/// `elem x list`: forces the list, then compares `x` with each element in turn, as
/// `==` does (`quick_eq` when nothing needs forcing, else a `DeepEq` run in place).
struct Elem {
    x: Value,
    /// The list, until it is forced.
    arg: Value,
    l: Option<crate::value::NixList>,
    i: usize,
    /// Comparing `x` with element `i - 1`; kept for its work list between elements.
    eq: super::compare::DeepEq,
    comparing: bool,
}

impl Machine for Elem {
    fn resume(&mut self, mut last: Option<Value>) -> R<MachineStep> {
        if self.l.is_none() {
            let v = match arrived_or_force(&mut last, &mut self.arg) {
                Ok(v) => v,
                Err(step) => return Ok(step),
            };
            self.l = Some(list(&v)?.clone());
        }
        loop {
            if self.comparing {
                match self.eq.resume(last.take())? {
                    MachineStep::Done(Value::Bool(true)) => {
                        return Ok(MachineStep::Done(Value::Bool(true)))
                    }
                    MachineStep::Done(_) => self.comparing = false,
                    step => return Ok(step),
                }
            }
            let l = self.l.as_ref().expect("forced above");
            let Some(e) = l.get(self.i) else {
                return Ok(MachineStep::Done(Value::Bool(false)));
            };
            self.i += 1;
            match super::compare::quick_eq(&self.x, e) {
                Some(true) => return Ok(MachineStep::Done(Value::Bool(true))),
                Some(false) => {}
                None => {
                    self.eq.restart(self.x.clone(), e.clone());
                    self.comparing = true;
                }
            }
        }
    }
}

/// `elemAt l i`: the index is forced before the list, as C++ Nix does, so that when
/// both fail the error is the index's.
struct ElemAt {
    l: Value,
    i: Value,
    /// The index, once forced.
    at: Option<i64>,
}

impl Machine for ElemAt {
    fn resume(&mut self, mut last: Option<Value>) -> R<MachineStep> {
        let i = match self.at {
            Some(i) => i,
            None => {
                let v = match arrived_or_force(&mut last, &mut self.i) {
                    Ok(v) => v,
                    Err(step) => return Ok(step),
                };
                *self.at.insert(int(&v)?)
            }
        };
        let v = match arrived_or_force(&mut last, &mut self.l) {
            Ok(v) => v,
            Err(step) => return Ok(step),
        };
        let l = list(&v)?;
        match usize::try_from(i).ok().and_then(|i| l.get(i)) {
            Some(e) => Ok(MachineStep::Done(e.clone())),
            None => Err(ErrorKind::other(format!("list index {i} is out of bounds")).into()),
        }
    }
}

fn elem_at(a: &mut [Value]) -> Box<dyn Machine> {
    Box::new(ElemAt {
        l: std::mem::take(&mut a[0]),
        i: std::mem::take(&mut a[1]),
        at: None,
    })
}

fn elem(a: &mut [Value]) -> Box<dyn Machine> {
    Box::new(Elem {
        x: std::mem::take(&mut a[0]),
        arg: std::mem::take(&mut a[1]),
        l: None,
        i: 0,
        eq: super::compare::DeepEq::new(Value::Null, Value::Null, false),
        comparing: false,
    })
}

/// `elem x list` when the list is evaluated and every comparison settles without
/// forcing (strings, numbers, records of them): no generator.
fn elem_quick(a: &[Value]) -> Option<Value> {
    let Value::List(l) = a[1].clone().shallow() else {
        return None;
    };
    for e in l.iter() {
        if super::compare::quick_eq(&a[0], e)? {
            return Some(Value::Bool(true));
        }
    }
    Some(Value::Bool(false))
}

/// `sort f list`: forces `f` (which must be a function), then the list, then every
/// element in order, as C++ Nix does before its first comparison (so a list of one, or
/// a comparator that ignores its arguments, still fails on a failing element). The
/// comparator is then given the forced values, never their thunks.
struct Sort {
    args: [Value; 2],
    stage: SortStage,
    /// The sort may answer `quick2_answer` comparisons itself (see `Machine::answer_quick_calls`).
    quick: bool,
}

enum SortStage {
    /// Nothing forced yet.
    Fun,
    /// The function is being forced.
    AwaitFun,
    /// The list is being forced; the function.
    AwaitList(Value),
    /// Forcing element `v.len()` of `l`.
    Elems {
        f: Value,
        l: crate::value::NixList,
        v: Vec<Value>,
    },
    Merge(MergeSort),
}

impl Sort {
    /// The stage after forcing: the first unevaluated element's force, or the sort.
    fn force_elems(
        &mut self,
        f: Value,
        l: crate::value::NixList,
        mut v: Vec<Value>,
    ) -> MachineStep {
        while let Some(e) = l.get(v.len()) {
            match known_or_step(e) {
                Ok(e) => v.push(e),
                Err(step) => {
                    self.stage = SortStage::Elems { f, l, v };
                    return step;
                }
            }
        }
        if v.len() < 2 {
            return MachineStep::Done(Value::list(v));
        }
        let quick = self.quick && crate::vm::answers_quick2(&f);
        let mut m = MergeSort::new(f, v, quick);
        let step = m.next(None);
        self.stage = SortStage::Merge(m);
        step
    }
}

impl Machine for Sort {
    fn answer_quick_calls(&mut self) {
        self.quick = true;
    }

    fn resume(&mut self, last: Option<Value>) -> R<MachineStep> {
        // The sort itself is stepped in place: it is too big to move twice per call.
        if let SortStage::Merge(m) = &mut self.stage {
            return m.resume_with(last);
        }
        match std::mem::replace(&mut self.stage, SortStage::Fun) {
            SortStage::Fun => match take_forced_or_step(&mut self.args[0]) {
                Ok(f) => self.got_fun(f),
                Err(step) => {
                    self.stage = SortStage::AwaitFun;
                    Ok(step)
                }
            },
            SortStage::AwaitFun => self.got_fun(last.unwrap_or_default()),
            SortStage::AwaitList(f) => self.got_list(f, last.unwrap_or_default()),
            SortStage::Elems { f, l, mut v } => {
                v.push(last.unwrap_or_default());
                Ok(self.force_elems(f, l, v))
            }
            // Stepped in place above; put back and stepped the same way.
            merge @ SortStage::Merge(_) => {
                self.stage = merge;
                self.resume(last)
            }
        }
    }
}

impl Sort {
    fn got_fun(&mut self, f: Value) -> R<MachineStep> {
        if !f.is_function() {
            return Err(type_error("a function", &f));
        }
        match take_forced_or_step(&mut self.args[1]) {
            Ok(l) => self.got_list(f, l),
            Err(step) => {
                self.stage = SortStage::AwaitList(f);
                Ok(step)
            }
        }
    }

    fn got_list(&mut self, f: Value, l: Value) -> R<MachineStep> {
        let l = list(&l)?.clone();
        if l.is_empty() {
            return Ok(MachineStep::Done(Value::List(l)));
        }
        let v = Vec::with_capacity(l.len());
        Ok(self.force_elems(f, l, v))
    }
}

fn sort(a: &mut [Value]) -> Box<dyn Machine> {
    Box::new(Sort {
        args: [std::mem::take(&mut a[0]), std::mem::take(&mut a[1])],
        stage: SortStage::Fun,
        quick: false,
    })
}

/// Bottom-up merge sort, stopped at every comparison to let the VM call the comparator.
struct MergeSort {
    f: Value,
    v: Vec<Value>,
    buf: Vec<Value>,
    width: usize,
    /// The run being merged: `v[l..mid]` with `v[r..hi]` onto `buf`.
    start: usize,
    mid: usize,
    hi: usize,
    l: usize,
    r: usize,
    /// Comparisons `quick2_answer` settles are made here, not handed to the VM.
    quick: bool,
    /// The sorted list, held back while the steps of the last comparisons are reported.
    finished: Option<Value>,
}

/// Comparisons made here between two reports of their steps: about as many steps as
/// the VM takes between two checks of its budget.
const QUICK_BATCH: u64 = 200;

impl MergeSort {
    fn new(f: Value, v: Vec<Value>, quick: bool) -> MergeSort {
        let mut m = MergeSort {
            quick,
            finished: None,
            f,
            // Each pass moves every element from `v` onto `buf` (then they swap).
            buf: Vec::with_capacity(v.len()),
            v,
            width: 1,
            start: 0,
            mid: 0,
            hi: 0,
            l: 0,
            r: 0,
        };
        m.begin_run(0);
        m
    }

    fn begin_run(&mut self, start: usize) {
        let n = self.v.len();
        self.start = start;
        self.mid = (start + self.width).min(n);
        self.hi = (start + 2 * self.width).min(n);
        (self.l, self.r) = (start, self.mid);
    }

    #[inline(always)]
    fn take(&mut self, right: bool) {
        let i = if right { &mut self.r } else { &mut self.l };
        // `v[i]` is a valid index (`i` < `mid` or `hi`, both at most `v.len()`).
        let e = std::mem::take(&mut self.v[*i]);
        *i += 1;
        // Within the capacity reserved for all of `v`: no reallocation.
        self.buf.push(e);
    }
}

impl MergeSort {
    /// Continue with the comparator's answer.
    #[inline(always)]
    fn resume_with(&mut self, last: Option<Value>) -> R<MachineStep> {
        match last {
            // Take from the right only if right < left (keeps equal elements stable).
            Some(Value::Bool(right_first)) => {
                // A Boolean needs no drop (the general one would be a call).
                std::mem::forget(last);
                Ok(self.next(Some(right_first)))
            }
            // After a `Tick`.
            None if self.quick => Ok(self.next(None)),
            other => Err(type_error("a Boolean", &other.unwrap_or_default())),
        }
    }

    /// Take the element the last comparison chose (if any), then the next comparison
    /// or the sorted list.
    #[inline(always)]
    fn next(&mut self, right_first: Option<bool>) -> MachineStep {
        if let Some(right) = right_first {
            self.take(right);
        }
        if self.quick {
            return self.next_quick();
        }
        match self.comparison() {
            Some(step) => step,
            None => self.next_run(),
        }
    }

    /// `next` with the comparisons `quick2_answer` settles made here, a batch at a time;
    /// their steps are reported (`Tick`) before anything else is asked for.
    #[inline(never)]
    fn next_quick(&mut self) -> MachineStep {
        if let Some(v) = self.finished.take() {
            return MachineStep::Done(v);
        }
        let mut n = 0;
        loop {
            if self.l < self.mid && self.r < self.hi {
                if n < QUICK_BATCH {
                    let (x, y) = (&self.v[self.r], &self.v[self.l]);
                    if let Some(Value::Bool(right)) = crate::vm::quick2_answer(&self.f, x, y) {
                        self.take(right);
                        n += 1;
                        continue;
                    }
                }
                if n > 0 {
                    return MachineStep::Tick(n * crate::vm::QUICK2_STEPS);
                }
                let (x, y) = (self.v[self.r].clone(), self.v[self.l].clone());
                return MachineStep::Call2(self.f.clone(), x, y);
            }
            if let Some(v) = self.end_run() {
                if n == 0 {
                    return MachineStep::Done(v);
                }
                self.finished = Some(v);
                return MachineStep::Tick(n * crate::vm::QUICK2_STEPS);
            }
        }
    }

    /// The call comparing the heads of the two halves of the run, while both have one.
    #[inline(always)]
    fn comparison(&self) -> Option<MachineStep> {
        (self.l < self.mid && self.r < self.hi).then(|| {
            let (x, y) = (self.v[self.r].clone(), self.v[self.l].clone());
            MachineStep::Call2(self.f.clone(), x, y)
        })
    }

    /// One run is used up: the next comparison, in the next run (or pass), or the
    /// sorted list.
    #[inline(never)]
    fn next_run(&mut self) -> MachineStep {
        loop {
            if let Some(v) = self.end_run() {
                return MachineStep::Done(v);
            }
            if let Some(step) = self.comparison() {
                return step;
            }
        }
    }

    /// One run is used up: the rest of the other goes over and the next run (or pass)
    /// begins; the sorted list when there is none.
    fn end_run(&mut self) -> Option<Value> {
        let n = self.v.len();
        while self.l < self.mid {
            self.take(false);
        }
        while self.r < self.hi {
            self.take(true);
        }
        let next = self.start + 2 * self.width;
        if next < n {
            self.begin_run(next);
            return None;
        }
        std::mem::swap(&mut self.v, &mut self.buf);
        // What `buf` holds now is the `null`s taken elements left behind.
        self.buf.clear();
        self.width *= 2;
        if self.width >= n {
            return Some(Value::list(std::mem::take(&mut self.v)));
        }
        self.begin_run(0);
        None
    }
}

fn partition(co: Co, a: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        let f = force(&co, a[0].clone()).await?;
        function(&f)?;
        let l = forced_list(&co, a[1].clone()).await?;
        let (mut right, mut wrong) = (Vec::new(), Vec::new());
        for e in l.iter() {
            if forced_bool(&co, &f, e.clone()).await? {
                right.push(e.clone());
            } else {
                wrong.push(e.clone());
            }
        }
        Ok(Value::attrs(Attrs::from_sorted(vec![
            (sym::right(), Value::list(right)),
            (sym::wrong(), Value::list(wrong)),
        ])))
    })
}

fn group_by(co: Co, a: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        let f = force(&co, a[0].clone()).await?;
        function(&f)?;
        let l = forced_list(&co, a[1].clone()).await?;
        let mut groups: Vec<(Symbol, Vec<Value>)> = Vec::new();
        let mut index: rustc_hash::FxHashMap<Symbol, usize> = Default::default();
        for e in l.iter() {
            let k = call(&co, f.clone(), e.clone()).await?;
            let k = string(&k)?.to_symbol();
            match index.get(&k) {
                Some(&i) => groups[i].1.push(e.clone()),
                None => {
                    index.insert(k, groups.len());
                    groups.push((k, vec![e.clone()]));
                }
            }
        }
        Ok(Value::attrs(Attrs::from_unsorted(
            groups
                .into_iter()
                .map(|(k, v)| (k, Value::list(v)))
                .collect(),
        )))
    })
}

/// `listToAttrs list`: the list is forced, then each element in turn and its `name`;
/// values stay as they are. The first occurrence of a name wins.
struct ListToAttrs {
    arg: Value,
    /// `None` until the list is forced.
    l: Option<crate::value::NixList>,
    i: usize,
    /// The element whose `name` is being forced.
    pending: Option<Attrs>,
    out: Vec<(Symbol, Value)>,
}

fn missing(name: &str) -> ErrorKind {
    ErrorKind::AttributeMissing {
        name: name.into(),
        suggestion: None,
    }
}

impl ListToAttrs {
    fn add(&mut self, e: &Attrs, name: Value) -> R<()> {
        let name = string(&name)?.to_symbol();
        match e.get(sym::value()) {
            Some(value) => self.out.push((name, value.clone())),
            // As in C++ Nix, only the occurrence that wins needs a `value`.
            None if self.out.iter().any(|(n, _)| *n == name) => {}
            None => return Err(missing("value").into()),
        }
        Ok(())
    }
}

impl Machine for ListToAttrs {
    fn resume(&mut self, mut last: Option<Value>) -> R<MachineStep> {
        if self.l.is_none() {
            let v = match arrived_or_force(&mut last, &mut self.arg) {
                Ok(v) => v,
                Err(step) => return Ok(step),
            };
            let l = list(&v)?;
            self.out.reserve(l.len());
            self.l = Some(l.clone());
        }
        loop {
            if let Some(e) = self.pending.take() {
                self.add(&e, last.take().unwrap_or_default())?;
            } else if let Some(v) = last.take() {
                let e = attrs(&v)?.clone();
                let name = e.get(sym::name()).ok_or_else(|| missing("name"))?;
                match forced_or_step(name.clone()) {
                    Ok(name) => self.add(&e, name)?,
                    Err(step) => {
                        self.pending = Some(e);
                        return Ok(step);
                    }
                }
            }
            let l = self.l.as_ref().expect("forced above");
            let Some(e) = l.get(self.i) else {
                // A stable sort keeps equal names in list order; the first one wins.
                let mut out = std::mem::take(&mut self.out);
                out.sort_by(|a, b| a.0.cmp_name(b.0));
                out.dedup_by(|later, first| later.0 == first.0);
                return Ok(MachineStep::Done(Value::attrs(Attrs::from_sorted(out))));
            };
            self.i += 1;
            match known_or_step(e) {
                Ok(v) => last = Some(v),
                Err(step) => return Ok(step),
            }
        }
    }
}

fn list_to_attrs(a: &mut [Value]) -> Box<dyn Machine> {
    Box::new(ListToAttrs {
        arg: std::mem::take(&mut a[0]),
        l: None,
        i: 0,
        pending: None,
        out: Vec::new(),
    })
}

/// `genericClosure { startSet, operator }`: forces the set, then `startSet`; then takes
/// elements first in, first out: each is forced, its `key` forced deeply and looked up
/// among the keys seen (see `ClosureKeys`); a new one is kept and `operator` called on it.
struct GenericClosure {
    /// The argument set, until it is forced.
    arg: Value,
    stage: ClosureStage,
    op: Value,
    work: std::collections::VecDeque<Value>,
    out: Vec<Value>,
    keys: super::closure_keys::ClosureKeys,
}

enum ClosureStage {
    Args,
    /// `startSet` is being forced.
    Start,
    /// Take the next element.
    Next,
    /// The element is being forced.
    Elem,
    /// The element's key is being forced deeply; the element.
    Key(Box<crate::generators::DeepForce>, Value),
    /// `operator` is being called on the element just kept.
    Op,
}

impl GenericClosure {
    /// Given the forced element: its key, or the step forcing it.
    fn elem(&mut self, e: Value) -> R<Option<MachineStep>> {
        let key = attrs(&e)?.get(sym::key()).ok_or_else(|| missing("key"))?;
        // A key of a plain kind is its own deep force.
        let key = match known_or_step(key) {
            Ok(k) if !matches!(k, Value::List(_) | Value::Attrs(_)) => k,
            _ => {
                let mut df = Box::new(crate::generators::DeepForce::new(key.clone()));
                return match df.resume(None)? {
                    MachineStep::Done(k) => self.keyed(e, k),
                    step => {
                        self.stage = ClosureStage::Key(df, e);
                        Ok(Some(step))
                    }
                };
            }
        };
        self.keyed(e, key)
    }

    /// Given the element and its key: the call of `operator` if the key is new.
    fn keyed(&mut self, e: Value, key: Value) -> R<Option<MachineStep>> {
        if !self.keys.insert(key)? {
            self.stage = ClosureStage::Next;
            return Ok(None);
        }
        self.out.push(e.clone());
        self.stage = ClosureStage::Op;
        Ok(Some(MachineStep::Call(self.op.clone(), e)))
    }
}

impl Machine for GenericClosure {
    fn resume(&mut self, mut last: Option<Value>) -> R<MachineStep> {
        loop {
            let step = match &mut self.stage {
                ClosureStage::Args => {
                    let v = match arrived_or_force(&mut last, &mut self.arg) {
                        Ok(v) => v,
                        Err(step) => return Ok(step),
                    };
                    let args = attrs(&v)?;
                    let start = args
                        .get(Symbol::intern("startSet"))
                        .ok_or_else(|| missing("startSet"))?;
                    self.op = args
                        .get(Symbol::intern("operator"))
                        .ok_or_else(|| missing("operator"))?
                        .clone();
                    self.stage = ClosureStage::Start;
                    match known_or_step(start) {
                        Ok(v) => last = Some(v),
                        Err(step) => return Ok(step),
                    }
                    None
                }
                ClosureStage::Start => {
                    self.work = list(&last.take().unwrap_or_default())?
                        .iter()
                        .cloned()
                        .collect();
                    self.stage = ClosureStage::Next;
                    None
                }
                ClosureStage::Next => {
                    let Some(e) = self.work.pop_front() else {
                        return Ok(MachineStep::Done(Value::list(std::mem::take(
                            &mut self.out,
                        ))));
                    };
                    match forced_or_step(e) {
                        Ok(e) => self.elem(e)?,
                        Err(step) => {
                            self.stage = ClosureStage::Elem;
                            return Ok(step);
                        }
                    }
                }
                ClosureStage::Elem => self.elem(last.take().unwrap_or_default())?,
                ClosureStage::Key(df, e) => match df.resume(last.take())? {
                    MachineStep::Done(k) => {
                        let e = std::mem::take(e);
                        self.keyed(e, k)?
                    }
                    step => return Ok(step),
                },
                ClosureStage::Op => {
                    let next = last.take().unwrap_or_default();
                    self.work.extend(list(&next)?.iter().cloned());
                    self.stage = ClosureStage::Next;
                    None
                }
            };
            if let Some(step) = step {
                return Ok(step);
            }
        }
    }
}

fn generic_closure(a: &mut [Value]) -> Box<dyn Machine> {
    Box::new(GenericClosure {
        arg: std::mem::take(&mut a[0]),
        stage: ClosureStage::Args,
        op: Value::Null,
        work: Default::default(),
        out: Vec::new(),
        keys: Default::default(),
    })
}

fn length(a: &[Value]) -> R<Value> {
    Ok(Value::Int(list(&a[0])?.len() as i64))
}

pub fn register(r: &mut Registry) {
    r.plain_quick("length", 1, |_, a| length(a), |a| length(a).ok());
    r.plain("head", 1, |_, a| {
        list(&a[0])?
            .first()
            .cloned()
            .ok_or_else(|| ErrorKind::other("'builtins.head' called on an empty list").into())
    });
    r.plain("tail", 1, |_, a| {
        let l = list(&a[0])?;
        if l.is_empty() {
            return Err(ErrorKind::other("'builtins.tail' called on an empty list").into());
        }
        Ok(Value::List(l[1..].iter().cloned().collect()))
    });
    r.machine_quick("elemAt", 2, elem_at, |a| match (&a[0], &a[1]) {
        // The element as it is: a thunk of `elemAt l i` would give it forced, which
        // forcing the element itself does as well.
        (Value::List(l), Value::Int(i)) => usize::try_from(*i).ok().and_then(|i| l.get(i)).cloned(),
        _ => None,
    });
    r.plain_mask("map", 2, 0b10, |st, a| {
        let l = list(&a[1])?;
        let shape = quick_apply::shape(st, &a[0]);
        Ok(Value::List(
            l.iter()
                .map(|x| lazy_apply(&a[0], shape, x.clone()))
                .collect(),
        ))
    });
    r.plain_mask("genList", 2, 0b10, |st, a| {
        let n = int(&a[1])?;
        if n < 0 {
            return Err(ErrorKind::other(format!("cannot create list of size {n}")).into());
        }
        let f = &a[0];
        let elems = match quick_apply::shape(st, f) {
            Some(s) => (0..n)
                .map(|i| quick_apply::apply_int(s, i).unwrap_or_else(|| apply(f, Value::Int(i))))
                .collect(),
            None => (0..n).map(|i| apply(f, Value::Int(i))).collect(),
        };
        Ok(Value::List(elems))
    });
    r.machine("filter", 2, filter);
    r.machine("foldl'", 3, foldl_strict);
    r.machine("any", 2, |a| any_all(a, true));
    r.machine("all", 2, |a| any_all(a, false));
    r.machine("concatLists", 1, concat_lists);
    r.machine("concatMap", 2, concat_map);
    r.machine_quick("elem", 2, elem, elem_quick);
    r.machine("sort", 2, sort);
    r.gen("partition", 2, partition);
    r.gen("groupBy", 2, group_by);
    r.machine("listToAttrs", 1, list_to_attrs);
    r.machine("genericClosure", 1, generic_closure);
}
