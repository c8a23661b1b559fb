//! The layout rules of the official Nix style: each construct of the formatter's tree
//! becomes a layout document (`doc`). Which groups break is decided later.

use crate::ast::*;
use crate::cat;
use crate::doc::*;

// ------------------------------------------------------------------ trivia

fn to_line_comment(c: &str) -> Trivium {
    Trivium::LineComment(format!(" {c}"))
}

/// Move a token's trailing comment in front of it.
fn move_trailing_up(mut a: Leaf) -> Leaf {
    if let Some(c) = a.trail.take() {
        a.pre.push(to_line_comment(&c));
    }
    a
}

fn trail_doc(t: &Option<String>) -> Doc {
    match t {
        None => vec![],
        Some(c) => cat![hardspace(), trailing_comment(format!("# {c}")), hardline()],
    }
}

fn trivium(t: &Trivium) -> Doc {
    match t {
        Trivium::EmptyLine => emptyline().into(),
        Trivium::LineComment(c) => cat![comment(format!("#{c}")), hardline()],
        Trivium::BlockComment(is_doc, lines) => {
            let mut body = Vec::new();
            for l in lines {
                if l.is_empty() {
                    body.extend(emptyline());
                } else {
                    body.extend(comment(l.clone()));
                    body.extend(hardline());
                }
            }
            cat![
                comment(if *is_doc { "/**" } else { "/*" }),
                hardline(),
                offset(2, body),
                comment("*/"),
                hardline()
            ]
        }
        Trivium::LanguageAnnotation(c) => cat![comment(format!("/* {c} */")), hardspace()],
        Trivium::Directive(d) => cat![comment(crate::directives::marker(*d)), hardline()],
    }
}

fn trivia(ts: &[Trivium]) -> Doc {
    if ts.is_empty() {
        return vec![];
    }
    let mut d: Doc = hardline().into();
    for t in ts {
        d.extend(trivium(t));
    }
    d
}

/// Leading trivia, the token, its trailing comment.
fn ann_doc<T>(a: &Ann<T>, value: Doc) -> Doc {
    cat![trivia(&a.pre), value, trail_doc(&a.trail)]
}

/// A string: a language annotation right before it stays on its line, like part of it.
fn string_doc<T>(a: &Ann<T>, value: Doc) -> Doc {
    let (langs, others): (Vec<Trivium>, Vec<Trivium>) = a
        .pre
        .iter()
        .cloned()
        .partition(|t| matches!(t, Trivium::LanguageAnnotation(_)));
    let mut d = trivia(&others);
    for l in langs {
        if let Trivium::LanguageAnnotation(c) = l {
            d.extend(comment(format!("/* {c} */")));
            d.extend(hardspace());
        }
    }
    cat![d, value, trail_doc(&a.trail)]
}

fn leaf(l: &Leaf) -> Doc {
    ann_doc(l, text(l.value.clone()))
}

fn opt_leaf(l: &Option<Leaf>) -> Doc {
    l.as_ref().map(leaf).unwrap_or_default()
}

// ------------------------------------------------------------------ items

fn item_binder(i: &Item<Binder>) -> Doc {
    match i {
        Item::Comments(t) => trivia(t),
        Item::Item(b) => group(binder(b)),
    }
}

fn item_term(i: &Item<Term>) -> Doc {
    match i {
        Item::Comments(t) => trivia(t),
        Item::Item(t) => group(term_doc(t)),
    }
}

fn items_binders(items: &[Item<Binder>]) -> Doc {
    sep_by(&hardline(), items.iter().map(item_binder).collect())
}

// ------------------------------------------------------------------ selectors

fn simple_sel(s: &SimpleSel) -> Doc {
    match s {
        SimpleSel::Id(l) => leaf(l),
        SimpleSel::Interp(a) => ann_doc(a, interp_selector(&a.value)),
        SimpleSel::Str(a) => ann_doc(a, simple_string(&a.value)),
    }
}

/// `${...}` as an attribute name: kept on one line when it can be.
fn interp_selector(p: &StrPart) -> Doc {
    if let StrPart::Interp(w) = p {
        if w.trivia.is_empty() {
            let d = expr(&w.expr);
            if let Some(u) = unexpand(None, &d) {
                return cat![text("${"), u, text("}")];
            }
        }
    }
    str_part(p)
}

fn selector(s: &Selector) -> Doc {
    cat![opt_leaf(&s.dot), simple_sel(&s.sel)]
}

fn selectors(ss: &[Selector]) -> Doc {
    ss.iter().flat_map(selector).collect()
}

// ------------------------------------------------------------------ binders

fn binder(b: &Binder) -> Doc {
    match b {
        Binder::Inherit(kw, from, ids, semi) => {
            let one_line = kw.line == semi.line && ids.len() < 4;
            let (sep, nosep) = if one_line {
                (line(), line_())
            } else {
                (hardline(), hardline())
            };
            let ids_doc = sep_by(&sep, ids.iter().map(simple_sel).collect());
            match from {
                None => {
                    let inner = cat![ids_doc, nosep, leaf(semi)];
                    group(cat![leaf(kw), sep.clone(), nest(inner)])
                }
                Some(src) => group(cat![
                    leaf(kw),
                    nest(cat![
                        group_k(GroupKind::Regular, cat![line(), term_doc(src)]),
                        sep.clone(),
                        ids_doc,
                        nosep,
                        leaf(semi)
                    ])
                ]),
            }
        }
        // An operator chain after `= # comment` starts at the level of the `=`.
        Binder::Assignment(sels, eq, e, semi) if eq.trail.is_some() && absorbs_chain(e) => {
            group(cat![
                selectors(sels),
                nest(cat![hardspace(), leaf(eq), absorb_rhs(e, false)]),
                leaf(semi)
            ])
        }
        Binder::Assignment(sels, eq, e, semi) => group(cat![
            selectors(sels),
            nest(cat![
                hardspace(),
                leaf(eq),
                nest(absorb_rhs(e, eq.trail.is_none()))
            ]),
            leaf(semi)
        ]),
    }
}

// ------------------------------------------------------------------ terms

fn pretty_set(
    wide: bool,
    krec: &Option<Leaf>,
    open: &Leaf,
    items: &[Item<Binder>],
    close: &Leaf,
) -> Doc {
    let rec = krec
        .as_ref()
        .map(|k| cat![leaf(k), hardspace()])
        .unwrap_or_default();
    if items.is_empty() && open.lone() && close.pre.is_empty() {
        let sep: Doc = if open.line != close.line {
            hardline().into()
        } else {
            hardspace().into()
        };
        return cat![rec, leaf(open), sep, leaf(close)];
    }
    let sep: Doc = if (wide && !items.is_empty()) || open.line != close.line {
        hardline().into()
    } else {
        line().into()
    };
    let mut open2 = open.clone();
    let post = open2.trail.take();
    cat![
        rec,
        leaf(&open2),
        surround(sep, nest(cat![trail_doc(&post), items_binders(items)])),
        leaf(close)
    ]
}

fn term_wide(t: &Term) -> Doc {
    match t {
        Term::Set(k, o, i, c) => pretty_set(true, k, o, i, c),
        t => pretty_term(t),
    }
}

fn pretty_list(sep: Doc, open: &Leaf, items: &[Item<Term>], close: &Leaf) -> Doc {
    let mut open2 = open.clone();
    let post = open2.trail.take();
    let sur: Doc = if open.line != close.line {
        hardline().into()
    } else {
        line().into()
    };
    cat![
        leaf(&open2),
        surround(
            sur,
            nest(cat![
                trail_doc(&post),
                sep_by(&sep, items.iter().map(item_term).collect())
            ])
        ),
        leaf(close)
    ]
}

/// A term without a group around it.
fn pretty_term(t: &Term) -> Doc {
    match t {
        Term::Token(l) => leaf(l),
        Term::SimpleString(a) => string_doc(a, simple_string(&a.value)),
        Term::IndentedString(a) => string_doc(a, indented_string(&a.value)),
        Term::Path(a) => ann_doc(a, str_line(&a.value)),
        Term::Other(e) => expr(e),
        Term::Selection(base, sels, def) => {
            let sep: Doc = match &**base {
                // `1 .a` must keep its space: `1.a` would lex as a float
                Term::Token(l)
                    if l.value
                        .starts_with(|c: char| c.is_ascii_digit() || c == '.') =>
                {
                    hardspace().into()
                }
                Term::Token(_) => vec![],
                Term::Parenthesized(..) => softline_().into(),
                _ => line_().into(),
            };
            let d = def
                .as_ref()
                .map(|(kw, d)| cat![softline(), nest(cat![leaf(kw), hardspace(), term_doc(d)])])
                .unwrap_or_default();
            cat![term_doc(base), sep, selectors(sels), d]
        }
        Term::List(open, items, close)
            if items.is_empty() && open.trail.is_none() && close.pre.is_empty() =>
        {
            let sep: Doc = if open.line != close.line {
                hardline().into()
            } else {
                hardspace().into()
            };
            cat![leaf(open), sep, leaf(close)]
        }
        Term::List(open, items, close) => pretty_list(hardline().into(), open, items, close),
        Term::Set(k, o, i, c) => pretty_set(false, k, o, i, c),
        Term::Parenthesized(open, e, close) => {
            let inner = match &**e {
                e if is_absorbable_expr(e) => group(absorb_expr(false, e)),
                Expr::Abstraction(p @ Param::Set(..), colon, body)
                    if matches!(&**body, Expr::Term(t) if is_absorbable(t))
                        && compact_params(p)
                        && matches!(p, Param::Set(o, ..) if o.lone())
                        && first_line(body) == colon.line =>
                {
                    let Expr::Term(t) = &**body else {
                        unreachable!()
                    };
                    group(cat![param(p), leaf(colon), hardspace(), pretty_term(t)])
                }
                Expr::Application(f, a) => pretty_app(true, vec![], true, f, a),
                Expr::Term(Term::Selection(t, ..)) if is_absorbable(t) => {
                    cat![line_(), group(expr(e)), line_()]
                }
                Expr::Term(Term::Selection(..)) => cat![group(expr(e)), line_()],
                _ => cat![line_(), group(expr(e)), line_()],
            };
            let mut close2 = close.clone();
            let close_pre = std::mem::take(&mut close2.pre);
            group(cat![
                leaf(&move_trailing_up(open.clone())),
                nest(cat![inner, trivia(&close_pre)]),
                leaf(&close2)
            ])
        }
    }
}

/// A term as it appears on its own (lists get their own group).
fn term_doc(t: &Term) -> Doc {
    match t {
        Term::List(..) => group(pretty_term(t)),
        t => pretty_term(t),
    }
}

// ------------------------------------------------------------------ parameters

fn param_attr(p: &ParamAttr) -> Doc {
    match p {
        ParamAttr::Attr(name, None, comma) => cat![leaf(name), opt_leaf(comma)],
        ParamAttr::Attr(name, Some(qd), comma) => {
            let (q, def) = &**qd;
            group(cat![
                leaf(name),
                hardspace(),
                nest(cat![leaf(q), nest(absorb_rhs(def, q.trail.is_none()))]),
                opt_leaf(comma)
            ])
        }
        ParamAttr::Ellipsis(l) => leaf(l),
    }
}

fn move_param_attr_comment(p: ParamAttr) -> ParamAttr {
    match p {
        ParamAttr::Attr(mut name, None, Some(mut comma))
            if name.trail.is_some() && comma.lone() =>
        {
            comma.trail = name.trail.take();
            ParamAttr::Attr(name, None, Some(comma))
        }
        ParamAttr::Attr(name, Some(mut qd), Some(mut comma)) if comma.lone() => {
            let c = map_last_expr(&mut qd.1, &mut |l: &mut Leaf| l.trail.take()).flatten();
            comma.trail = c;
            ParamAttr::Attr(name, Some(qd), Some(comma))
        }
        p => p,
    }
}

fn move_params_comments(mut attrs: Vec<ParamAttr>) -> Vec<ParamAttr> {
    let n = attrs.len();
    for i in 0..n {
        if i + 1 < n {
            let moved = match &mut attrs[i] {
                // A formatting directive stays where it was written.
                ParamAttr::Attr(_, _, Some(comma))
                    if comma.trail.is_none()
                        && !comma.pre.iter().any(|t| matches!(t, Trivium::Directive(_))) =>
                {
                    std::mem::take(&mut comma.pre)
                }
                _ => continue,
            };
            match &mut attrs[i + 1] {
                ParamAttr::Attr(name, _, _) => {
                    let mut pre = moved;
                    pre.append(&mut name.pre);
                    name.pre = pre;
                }
                ParamAttr::Ellipsis(e) if i + 2 == n => {
                    let mut pre = moved;
                    pre.append(&mut e.pre);
                    e.pre = pre;
                }
                _ => {
                    // put them back: the pattern did not match
                    if let ParamAttr::Attr(_, _, Some(comma)) = &mut attrs[i] {
                        comma.pre = moved;
                    }
                }
            }
        } else if let ParamAttr::Attr(name, _, comma @ None) = &mut attrs[i] {
            *comma = Some(Leaf {
                pre: vec![],
                value: ",".into(),
                line: name.line,
                trail: None,
            });
        }
    }
    attrs
}

/// A parameter set that may stay on one line (see `param`).
fn compact_params(p: &Param) -> bool {
    let Param::Set(open, attrs, close) = p else {
        return false;
    };
    use ParamAttr::*;
    let quiet = attrs.iter().all(|a| match a {
        Attr(n, None, c) => n.lone() && c.as_ref().is_none_or(|c| c.lone()),
        Attr(..) => false,
        Ellipsis(e) => e.lone(),
    });
    open.line == close.line
        && close.pre.is_empty()
        && quiet
        && matches!(
            attrs.as_slice(),
            [] | [Ellipsis(_)]
                | [Attr(_, None, _)]
                | [Attr(_, None, _), Ellipsis(_)]
                | [Attr(_, None, _), Attr(_, None, _)]
                | [Attr(_, None, _), Attr(_, None, _), Ellipsis(_)]
        )
}

fn param(p: &Param) -> Doc {
    match p {
        Param::Id(l) => leaf(l),
        Param::Set(open, attrs, close) if attrs.is_empty() => {
            let sep: Doc = if open.line != close.line {
                hardline().into()
            } else {
                hardspace().into()
            };
            group(cat![
                leaf(&move_trailing_up(open.clone())),
                sep,
                leaf(close)
            ])
        }
        Param::Set(open, attrs, close) => {
            let sep: Doc = if open.line != close.line {
                hardline().into()
            } else {
                use ParamAttr::*;
                match attrs.as_slice() {
                    [Ellipsis(_)]
                    | [Attr(_, None, _)]
                    | [Attr(_, None, _), Ellipsis(_)]
                    | [Attr(_, None, _), Attr(_, None, _)]
                    | [Attr(_, None, _), Attr(_, None, _), Ellipsis(_)] => line().into(),
                    _ => hardline().into(),
                }
            };
            let moved: Vec<ParamAttr> = move_params_comments(attrs.clone())
                .into_iter()
                .map(move_param_attr_comment)
                .collect();
            let n = moved.len();
            let docs: Vec<Doc> = moved
                .into_iter()
                .enumerate()
                .map(|(i, a)| match a {
                    ParamAttr::Attr(name, def, Some(comma))
                        if i + 1 == n && comma.lone() && comma.value == "," =>
                    {
                        cat![param_attr(&ParamAttr::Attr(name, def, None)), trailing(",")]
                    }
                    a => param_attr(&a),
                })
                .collect();
            let mut close2 = close.clone();
            let close_pre = std::mem::take(&mut close2.pre);
            group(cat![
                leaf(&move_trailing_up(open.clone())),
                surround(
                    sep.clone(),
                    nest(cat![sep_by(&sep, docs), trivia(&close_pre)])
                ),
                leaf(&close2)
            ])
        }
        Param::Context(a, at, b) => cat![param(a), leaf(at), param(b)],
    }
}

// ------------------------------------------------------------------ application

fn is_simple_term(t: &Term) -> bool {
    match t {
        Term::SimpleString(a) | Term::IndentedString(a) => a.lone(),
        Term::Path(a) => a.lone(),
        Term::Token(l) => l.lone(),
        Term::Selection(t, sels, def) => {
            def.is_none()
                && sels.iter().all(|s| matches!(s.sel, SimpleSel::Id(_)))
                && is_simple_term(t)
        }
        Term::Parenthesized(o, e, c) => o.lone() && c.lone() && is_simple(e),
        _ => false,
    }
}

fn is_simple(e: &Expr) -> bool {
    match e {
        Expr::Term(t) => is_simple_term(t),
        Expr::Application(f, a) => is_simple_app(f, a),
        _ => false,
    }
}

/// Calls of simple terms are simple up to two arguments.
fn is_simple_app(f: &Expr, a: &Expr) -> bool {
    if let Expr::Application(f2, _) = f {
        if let Expr::Application(..) = &**f2 {
            return false;
        }
    }
    is_simple(f) && is_simple(a)
}

fn is_list(e: &Expr) -> bool {
    matches!(e, Expr::Term(Term::List(..)))
}

fn is_identifier(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

fn pretty_app(indent_function: bool, pre: Doc, has_post: bool, f: &Expr, a: &Expr) -> Doc {
    // Only copy the function expression when its first token has comments to move.
    let (first_pre, first_trail) = first_trivia_expr(f);
    let needs_move = first_trail
        || first_pre
            .iter()
            .any(|t| !matches!(t, Trivium::LanguageAnnotation(_)));
    let mut f_owned = None;
    let comment = if needs_move {
        let mut f2 = f.clone();
        let c = map_first_expr(&mut f2, &mut |l: &mut Leaf| {
            if let Some(c) = l.trail.take() {
                l.pre.push(to_line_comment(&c));
            }
            let (langs, others): (Vec<Trivium>, Vec<Trivium>) = std::mem::take(&mut l.pre)
                .into_iter()
                .partition(|t| matches!(t, Trivium::LanguageAnnotation(_)));
            l.pre = langs;
            others
        })
        .unwrap_or_default();
        f_owned = Some(f2);
        c
    } else {
        Vec::new()
    };
    let f_wo: &Expr = f_owned.as_ref().unwrap_or(f);

    // With several list arguments, lists of simple items stay on one line (unless
    // written over several lines), and the call breaks between its arguments instead.
    let many_lists = {
        let mut n = usize::from(is_list(a));
        let mut cur = f;
        while let Expr::Application(f2, a2) = cur {
            n += usize::from(is_list(a2));
            cur = f2;
        }
        n >= 2
    };

    fn simple_items(items: &[Item<Term>]) -> bool {
        items.iter().all(|i| match i {
            Item::Item(t) => is_simple_term(t),
            Item::Comments(_) => true,
        })
    }

    fn absorb_inner(e: &Expr, many_lists: bool) -> Doc {
        if let Expr::Term(Term::List(open, items, close)) = e {
            if !items.is_empty() && (many_lists || items.len() <= 4) && simple_items(items) {
                return pretty_list(line().into(), open, items, close);
            }
        }
        expr(e)
    }

    fn absorb_app(e: &Expr, indent_function: bool, no_comment: bool, many_lists: bool) -> Doc {
        match e {
            Expr::Application(f2, a2) => {
                let kind = if matches!(**a2, Expr::Term(Term::Selection(..)))
                    || (many_lists && is_list(a2))
                {
                    GroupKind::Regular
                } else {
                    GroupKind::Priority
                };
                cat![
                    group_k(
                        GroupKind::Transparent,
                        absorb_app(f2, indent_function, no_comment, many_lists)
                    ),
                    line(),
                    nest(group_k(kind, absorb_inner(a2, many_lists)))
                ]
            }
            e if indent_function && no_comment => {
                nest(group_k(GroupKind::Regular, cat![line_(), expr(e)]))
            }
            e => expr(e),
        }
    }

    fn absorb_last(a: &Expr, many_lists: bool) -> Doc {
        if let (true, Expr::Term(Term::List(open, items, close))) = (many_lists, a) {
            if !items.is_empty() && simple_items(items) {
                return group_k(
                    GroupKind::Regular,
                    nest(pretty_list(line().into(), open, items, close)),
                );
            }
        }
        match a {
            Expr::Term(t) if is_absorbable(t) => group_k(GroupKind::Priority, nest(pretty_term(t))),
            Expr::Term(Term::Parenthesized(open, inner, close)) => {
                if let Expr::Abstraction(Param::Id(name), colon, body) = &**inner {
                    if let Expr::Term(body) = &**body {
                        if is_absorbable(body)
                            && !open.has_trivia()
                            && !name.has_trivia()
                            && !colon.has_trivia()
                        {
                            return group_k(
                                GroupKind::Priority,
                                nest(cat![
                                    leaf(open),
                                    leaf(name),
                                    leaf(colon),
                                    hardspace(),
                                    term_wide(body),
                                    leaf(close)
                                ]),
                            );
                        }
                    }
                }
                if let Expr::Application(fun, body) = &**inner {
                    if let (Expr::Term(Term::Token(ident)), Expr::Term(body)) = (&**fun, &**body) {
                        if is_identifier(&ident.value)
                            && is_absorbable(body)
                            && !open.has_trivia()
                            && !ident.has_trivia()
                            && !close.has_trivia()
                        {
                            return group_k(
                                GroupKind::Priority,
                                nest(cat![
                                    leaf(open),
                                    text(ident.value.clone()),
                                    hardspace(),
                                    term_wide(body),
                                    leaf(close)
                                ]),
                            );
                        }
                    }
                }
                absorb_paren(open, inner, close)
            }
            a => group_k(GroupKind::Regular, nest(expr(a))),
        }
    }

    let rendered_f = cat![
        pre.clone(),
        group_k(
            GroupKind::Transparent,
            absorb_app(f_wo, indent_function, comment.is_empty(), many_lists)
        )
    ];
    let unexpanded = unexpand(None, &rendered_f);
    let post = if has_post { line_().into() } else { vec![] };
    let simple = is_simple_app(f, a);
    let body = match (simple, unexpanded) {
        (true, Some(u)) => group_k(
            GroupKind::Regular,
            cat![u, hardspace(), absorb_last(a, many_lists)],
        ),
        _ if many_lists => {
            // The function with the arguments before the first list stays together;
            // from the first list on, arguments break together.
            let mut args: Vec<&Expr> = Vec::new();
            let mut fun = f_wo;
            while let Expr::Application(f2, a2) = fun {
                args.push(a2);
                fun = f2;
            }
            args.reverse();
            let first_list = args.iter().position(|x| is_list(x)).unwrap_or(args.len());
            let mut head = expr(fun);
            for x in &args[..first_list] {
                head.extend(cat![line(), nest(group(absorb_inner(x, true)))]);
            }
            let mut tail = Vec::new();
            for x in &args[first_list..] {
                tail.extend(cat![line(), nest(group(absorb_inner(x, true)))]);
            }
            if is_list(a) {
                group_k(
                    GroupKind::Regular,
                    cat![pre, group(head), tail, line(), absorb_last(a, true), post],
                )
            } else {
                group_k(
                    GroupKind::Regular,
                    cat![
                        pre,
                        group(cat![head, tail]),
                        line(),
                        absorb_last(a, true),
                        post
                    ],
                )
            }
        }
        _ => group_k(
            GroupKind::Regular,
            cat![rendered_f, line(), absorb_last(a, many_lists), post],
        ),
    };
    let tail = if has_post && !comment.is_empty() {
        hardline().into()
    } else {
        vec![]
    };
    cat![trivia(&comment), body, tail]
}

// ------------------------------------------------------------------ absorption

fn is_absorbable(t: &Term) -> bool {
    match t {
        Term::IndentedString(a) => a.value.len() >= 2,
        Term::Path(_) => true,
        Term::Set(_, o, items, c) => !items.is_empty() || o.line != c.line,
        Term::List(o, items, c) => !items.is_empty() || o.line != c.line,
        Term::Parenthesized(o, e, _) if o.lone() => match &**e {
            Expr::Term(t) => is_absorbable(t) && !starts_with_comment(t),
            _ => false,
        },
        _ => false,
    }
}

fn is_absorbable_expr(e: &Expr) -> bool {
    match e {
        Expr::Term(t) => is_absorbable(t),
        Expr::With(_, _, _, b) => matches!(&**b, Expr::Term(t) if is_absorbable(t)),
        Expr::Abstraction(p @ Param::Set(..), colon, b) => {
            compact_params(p)
                && first_line(b) == colon.line
                && matches!(&**b, Expr::Abstraction(..))
                && is_absorbable_expr(b)
        }
        Expr::Abstraction(Param::Id(_), _, b) => match &**b {
            Expr::Term(t) => is_absorbable(t),
            b @ Expr::Abstraction(..) => is_absorbable_expr(b),
            _ => false,
        },
        _ => false,
    }
}

fn absorb_paren(open: &Leaf, e: &Expr, close: &Leaf) -> Doc {
    let mut open2 = open.clone();
    let post = open2.trail.take();
    let mut close2 = close.clone();
    let close_pre = std::mem::take(&mut close2.pre);
    // Copy the body only when a comment has to move into it.
    let e2 = post.map(|c| {
        let mut e2 = e.clone();
        map_first_expr(&mut e2, &mut |l: &mut Leaf| {
            l.pre.insert(0, to_line_comment(&c))
        });
        e2
    });
    let e2 = e2.as_ref().unwrap_or(e);
    group_k(
        GroupKind::Priority,
        nest(cat![
            leaf(&open2),
            surround(
                line_().into(),
                group_k(GroupKind::Regular, nest(cat![expr(e2), trivia(&close_pre)]))
            ),
            leaf(&close2)
        ]),
    )
}

fn absorb_expr(wide: bool, e: &Expr) -> Doc {
    match e {
        Expr::Term(t) if is_absorbable(t) => {
            if wide {
                term_wide(t)
            } else {
                pretty_term(t)
            }
        }
        Expr::With(_, _, _, b) if matches!(&**b, Expr::Term(t) if is_absorbable(t)) => {
            pretty_with(true, e)
        }
        e => expr(e),
    }
}

/// An operator chain whose first operand is a multi-line term: it starts right after
/// the `=`.
fn absorbs_chain(e: &Expr) -> bool {
    matches!(e, Expr::Operation(_, op, _) if !is_comparison(&op.value))
        && matches!(first_operand(e), Expr::Term(t)
            if is_absorbable(t) && !matches!(t, Term::Path(_)) && !starts_with_comment(t))
}

/// The leftmost operand of a chain of the same operator.
fn first_operand(e: &Expr) -> &Expr {
    let mut cur = e;
    let Expr::Operation(_, op, _) = e else {
        return e;
    };
    while let Expr::Operation(l, o, _) = cur {
        if o.value != op.value {
            break;
        }
        cur = l;
    }
    cur
}

fn is_update_or_concat(op: &Leaf) -> bool {
    op.lone() && (op.value == "//" || op.value == "++")
}

/// The value after `=` (or `?`); `may_move` is false when a comment follows the `=`.
fn absorb_rhs(e: &Expr, may_move: bool) -> Doc {
    match e {
        Expr::Term(Term::Set(_, _, items, _))
            if matches!(items.as_slice(), [Item::Item(Binder::Inherit(..))]) =>
        {
            cat![hardspace(), group(absorb_expr(false, e))]
        }
        // A multi-line term starts after the `=` if its first line fits there, else on
        // the next line.
        Expr::Term(t @ (Term::Set(..) | Term::List(..) | Term::IndentedString(_)))
            if may_move && is_absorbable(t) && !starts_with_comment(t) =>
        {
            group_k(
                GroupKind::Regular,
                cat![
                    line(),
                    group_k(GroupKind::Priority, group(absorb_expr(true, e)))
                ],
            )
        }
        e if is_absorbable_expr(e) => cat![hardspace(), group(absorb_expr(true, e))],
        Expr::Term(Term::Parenthesized(o, inner, c)) => {
            cat![hardspace(), absorb_paren(o, inner, c)]
        }
        Expr::Term(Term::IndentedString(_)) if may_move => group_k(
            GroupKind::Regular,
            cat![line(), group_k(GroupKind::Priority, group(expr(e)))],
        ),
        Expr::Term(Term::IndentedString(_)) => cat![hardspace(), group(expr(e))],
        Expr::Term(Term::SimpleString(_)) | Expr::Term(Term::Path(_)) => {
            cat![hardspace(), group(expr(e))]
        }
        Expr::Term(_) => group_k(GroupKind::Regular, cat![line(), expr(e)]),
        Expr::Application(f, a) => pretty_app(false, line().into(), false, f, a),
        Expr::With(..) => group_k(GroupKind::Regular, cat![line(), expr(e)]),
        // A chain starting with a multi-line term starts right after the `=`.
        e if absorbs_chain(e) => {
            cat![hardspace(), group(operation(e, true))]
        }
        Expr::Operation(l, op, r) if is_update_or_concat(op) => match (&**l, &**r) {
            (Expr::Term(t), b) if is_absorbable(t) => group_k(
                GroupKind::Regular,
                cat![
                    line(),
                    group_k(GroupKind::Priority, term_wide(t)),
                    line(),
                    leaf(op),
                    hardspace(),
                    expr(b)
                ],
            ),
            (l, Expr::Term(t)) if is_absorbable(t) => group_k(
                GroupKind::Regular,
                cat![
                    line(),
                    expr(l),
                    line(),
                    group_k(
                        GroupKind::Transparent,
                        cat![
                            leaf(op),
                            hardspace(),
                            group_k(GroupKind::Priority, term_wide(t))
                        ]
                    )
                ],
            ),
            (l, Expr::Application(f, a)) => {
                cat![
                    line(),
                    group(expr(l)),
                    line(),
                    pretty_app(false, cat![leaf(op), hardspace()], false, f, a)
                ]
            }
            _ => cat![line(), group(expr(e))],
        },
        _ => cat![line(), group(expr(e))],
    }
}

fn pretty_with(absorb: bool, e: &Expr) -> Doc {
    let Expr::With(w, e0, semi, e1) = e else {
        return expr(e);
    };
    if absorb {
        if let Expr::Term(t) = &**e1 {
            return group_k(
                GroupKind::Regular,
                cat![
                    line_(),
                    leaf(w),
                    hardspace(),
                    nest(group(expr(e0))),
                    leaf(semi),
                    hardspace(),
                    group_k(GroupKind::Priority, term_wide(t))
                ],
            );
        }
    }
    cat![
        group(cat![
            leaf(w),
            hardspace(),
            nest(group(expr(e0))),
            leaf(semi)
        ]),
        line(),
        expr(e1)
    ]
}

// ------------------------------------------------------------------ expressions

fn is_comparison(op: &str) -> bool {
    matches!(op, "<" | ">" | "<=" | ">=" | "==" | "!=")
}

pub fn expr(e: &Expr) -> Doc {
    match e {
        Expr::Term(t) => term_doc(t),
        Expr::With(..) => pretty_with(false, e),
        Expr::Let(let_, binders, in_, body) => {
            let let_part = group(cat![leaf(let_), hardline(), nest(items_binders(binders))]);
            // Comments around the `in` move to the first token of the body.
            let mut moved: Trivia = in_.pre.clone();
            if let Some(c) = &in_.trail {
                moved.push(to_line_comment(c));
            }
            let body2 = (!moved.is_empty()).then(|| {
                let mut b = (**body).clone();
                map_first_expr(&mut b, &mut |l: &mut Leaf| {
                    let mut pre = moved.clone();
                    pre.append(&mut l.pre);
                    l.pre = pre;
                });
                b
            });
            let body2 = body2.as_ref().unwrap_or(body);
            let in_part = group(cat![text(in_.value.clone()), hardline(), expr(body2)]);
            cat![let_part, hardline(), in_part]
        }
        Expr::Assert(kw, cond, semi, body) => {
            fn insert(kw: &Leaf, e: &Expr) -> (Expr, Expr) {
                match e {
                    Expr::Application(f, a) => {
                        let (f2, a2) = insert(kw, f);
                        (Expr::Application(Box::new(f2), Box::new(a2)), (**a).clone())
                    }
                    other => (Expr::Term(Term::Token(kw.clone())), other.clone()),
                }
            }
            let (f, a) = insert(kw, cond);
            group(cat![
                pretty_app(false, vec![], false, &f, &a),
                leaf(semi),
                hardline(),
                expr(body)
            ])
        }
        Expr::If(i, ..) => {
            // A comment after the first `if` moves in front of it.
            let e2 = i.trail.is_some().then(|| {
                let mut e2 = e.clone();
                if let Expr::If(i, ..) = &mut e2 {
                    *i = move_trailing_up(i.clone());
                }
                e2
            });
            group_k(
                GroupKind::Regular,
                pretty_if(line().into(), e2.as_ref().unwrap_or(e)),
            )
        }
        Expr::Abstraction(Param::Id(p), colon, body) => {
            fn absorb_abs(depth: u32, e: &Expr) -> Doc {
                match e {
                    Expr::Abstraction(Param::Id(p), c, b) => {
                        cat![hardspace(), leaf(p), leaf(c), absorb_abs(depth + 1, b)]
                    }
                    e if is_absorbable_expr(e) => {
                        cat![
                            hardspace(),
                            group_k(GroupKind::Priority, absorb_expr(false, e))
                        ]
                    }
                    e => cat![if depth <= 2 { line() } else { hardline() }, expr(e)],
                }
            }
            group_k(
                GroupKind::Regular,
                cat![line_(), leaf(p), leaf(colon), absorb_abs(1, body)],
            )
        }
        Expr::Abstraction(p, colon, body) => {
            // The body stays on the colon's line only if it was written there.
            let same_line = first_line(body) == colon.line;
            match &**body {
                Expr::Term(t) if is_absorbable(t) && same_line && compact_params(p) => {
                    cat![param(p), leaf(colon), hardspace(), group(pretty_term(t))]
                }
                Expr::Term(t) if is_absorbable(t) => {
                    cat![param(p), leaf(colon), line(), group(term_wide(t))]
                }
                b if same_line && compact_params(p) && is_absorbable_expr(b) => {
                    cat![param(p), leaf(colon), hardspace(), expr(b)]
                }
                b => cat![
                    param(p),
                    leaf(colon),
                    if same_line { line() } else { hardline() },
                    expr(b)
                ],
            }
        }
        Expr::Application(f, a) => pretty_app(false, vec![], false, f, a),
        Expr::Operation(a, op, b) if is_comparison(&op.value) => {
            cat![expr(a), softline(), leaf(op), hardspace(), expr(b)]
        }
        Expr::Operation(..) => operation(e, false),
        Expr::MemberCheck(e, q, sels) => {
            cat![expr(e), softline(), leaf(q), hardspace(), selectors(sels)]
        }
        Expr::Negation(m, e) | Expr::Inversion(m, e) => cat![leaf(m), expr(e)],
    }
}

/// An operator chain, flattened over the same operator. With `bare_first`, the first
/// operand is not grouped on its own, so it expands together with the chain.
fn operation(e: &Expr, bare_first: bool) -> Doc {
    let Expr::Operation(_, op, _) = e else {
        return expr(e);
    };

    fn flatten(op: &str, opl: Option<&Leaf>, e: &Expr, out: &mut Vec<(Option<Leaf>, Expr)>) {
        match e {
            Expr::Operation(a, op_r, b) if op_r.value == op => {
                flatten(op, opl, a, out);
                flatten(op, Some(op_r), b, out);
            }
            x => out.push((opl.cloned(), x.clone())),
        }
    }
    let mut parts = Vec::new();
    flatten(&op.value, None, e, &mut parts);
    // Long pipelines always put each stage on its own line.
    let is_pipe = matches!(op.value.as_str(), "|>" | "<|");
    let sep: Doc = if is_pipe && parts.len() > 3 {
        hardline().into()
    } else {
        line().into()
    };
    let mut d = Vec::new();
    for (o, x) in parts {
        match o {
            None => match &x {
                Expr::Term(t) if bare_first => d.extend(pretty_term(t)),
                x => d.extend(expr(x)),
            },
            Some(o) => {
                let absorbed = match &x {
                    Expr::Term(t) if is_absorbable(t) => cat![hardspace(), term_doc(t)],
                    Expr::Operation(..) => group_k(GroupKind::Regular, cat![line(), expr(&x)]),
                    Expr::Application(f, a) => group(pretty_app(false, line().into(), false, f, a)),
                    x => cat![hardspace(), expr(x)],
                };
                d.extend(cat![
                    sep.clone(),
                    leaf(&move_trailing_up(o)),
                    nest(absorbed)
                ]);
            }
        }
    }
    group_k(GroupKind::Regular, d)
}

fn pretty_if(sep: Doc, e: &Expr) -> Doc {
    match e {
        Expr::If(i, c, t, e0, el, e1) => cat![
            group(cat![leaf(i), line(), nest(expr(c)), line(), leaf(t)]),
            surround(sep, nest(group(expr(e0)))),
            leaf(&move_trailing_up(el.clone())),
            hardspace(),
            pretty_if(hardline().into(), e1)
        ],
        x => cat![line(), nest(group(expr(x)))],
    }
}

pub fn whole(w: &Whole) -> Doc {
    group(cat![expr(&w.expr), trivia(&w.trivia)])
}

// ------------------------------------------------------------------ strings

fn str_part(p: &StrPart) -> Doc {
    match p {
        StrPart::Text(t) => text(t.clone()),
        StrPart::Interp(w) => {
            if w.trivia.is_empty() {
                if let Expr::Term(t) = &w.expr {
                    if is_absorbable(t) {
                        return group(cat![text("${"), pretty_term(t), text("}")]);
                    }
                }
                if is_simple(&w.expr) {
                    let d = expr(&w.expr);
                    let inner = unexpand(None, &d).unwrap_or(d);
                    return cat![text("${"), inner, text("}")];
                }
            }
            let wd = whole(w);
            let inner = match unexpand(Some(30), &wd) {
                Some(u) => u,
                None => surround(line_().into(), nest(wd)),
            };
            group(cat![text("${"), inner, text("}")])
        }
    }
}

fn str_line(parts: &[StrPart]) -> Doc {
    match parts {
        [StrPart::Text(t), i @ StrPart::Interp(w)]
            if w.trivia.is_empty() && t.chars().all(|c| c == ' ') =>
        {
            let ind = t.chars().count() as u32;
            cat![
                text(t.clone()),
                offset(ind, str_line(std::slice::from_ref(i)))
            ]
        }
        [StrPart::Interp(w)] if w.trivia.is_empty() => {
            let e = &w.expr;
            let inner = match e {
                e if is_absorbable_expr(e) => group(absorb_expr(false, e)),
                Expr::Application(f, a) => pretty_app(true, vec![], true, f, a),
                Expr::Term(Term::Selection(t, ..)) if is_absorbable(t) => {
                    cat![line_(), group(expr(e)), line_()]
                }
                Expr::Term(Term::Selection(..)) => cat![group(expr(e)), line_()],
                _ => cat![line_(), group(expr(e)), line_()],
            };
            group(cat![text("${"), nest(inner), text("}")])
        }
        [StrPart::Interp(w)] => group(cat![
            text("${"),
            surround(line_().into(), nest(whole(w))),
            text("}")
        ]),
        [StrPart::Text(t), rest @ ..] => {
            let ind = t.chars().take_while(|c| c.is_whitespace()).count() as u32;
            cat![
                text(t.clone()),
                offset(ind, rest.iter().flat_map(str_part).collect())
            ]
        }
        parts => parts.iter().flat_map(str_part).collect(),
    }
}

fn simple_string(lines: &StrLines) -> Doc {
    let ls: Vec<Doc> = lines.iter().map(|l| str_line(l)).collect();
    group(cat![text("\""), sep_by(&text("\n"), ls), text("\"")])
}

fn indented_string(lines: &StrLines) -> Doc {
    let ls: Vec<Doc> = lines.iter().map(|l| str_line(l)).collect();
    group(cat![
        text("''"),
        if lines.len() >= 2 {
            line_().into()
        } else {
            vec![]
        },
        nest(sep_by(&newline(), ls)),
        text("''")
    ])
}

/// Whether comments precede the first token of a term.
fn starts_with_comment(t: &Term) -> bool {
    first_trivia_term(t)
        .0
        .iter()
        .any(|t| !matches!(t, Trivium::LanguageAnnotation(_)))
}
