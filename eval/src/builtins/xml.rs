//! toXML and the `--xml` output format (the same writer; values arrive deeply forced).

use super::Registry;
use crate::generators::{deep_force, Co, GenFuture};
use crate::print::format_float;
use crate::value::{NixString, Value};

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            '\t' => out.push_str("&#x9;"),
            c => out.push(c),
        }
    }
}

fn attr(name: &str, value: &str) -> String {
    let mut s = format!(" {name}=\"");
    escape(value, &mut s);
    s.push('"');
    s
}

fn write(v: &Value, indent: usize, loc: bool, out: &mut String) {
    let pad = "  ".repeat(indent);
    match v {
        Value::Null => out.push_str(&format!("{pad}<null />\n")),
        Value::Bool(b) => out.push_str(&format!(
            "{pad}<bool{} />\n",
            attr("value", if *b { "true" } else { "false" })
        )),
        Value::Int(i) => out.push_str(&format!("{pad}<int{} />\n", attr("value", &i.to_string()))),
        Value::Float(f) => out.push_str(&format!(
            "{pad}<float{} />\n",
            attr("value", &format_float(*f))
        )),
        Value::String(s) => out.push_str(&format!(
            "{pad}<string{} />\n",
            attr("value", &s.to_str_lossy())
        )),
        Value::Path(p) => out.push_str(&format!(
            "{pad}<path{} />\n",
            attr("value", &p.to_string_lossy())
        )),
        Value::List(l) => {
            if l.is_empty() {
                out.push_str(&format!("{pad}<list />\n"));
                return;
            }
            out.push_str(&format!("{pad}<list>\n"));
            for e in l.iter() {
                write(&e.clone().shallow(), indent + 1, loc, out);
            }
            out.push_str(&format!("{pad}</list>\n"));
        }
        Value::Attrs(a) => {
            let is_drv = matches!(a.get(super::sym::type_()).map(|v| v.clone().shallow()), Some(Value::String(s)) if s.as_bytes() == b"derivation");
            if is_drv {
                let mut extra = String::new();
                if let Some(Value::String(p)) =
                    a.get(super::sym::drv_path()).map(|v| v.clone().shallow())
                {
                    extra.push_str(&attr("drvPath", &p.to_str_lossy()));
                }
                if let Some(Value::String(p)) =
                    a.get(super::sym::out_path()).map(|v| v.clone().shallow())
                {
                    extra.push_str(&attr("outPath", &p.to_str_lossy()));
                }
                out.push_str(&format!("{pad}<derivation{extra}>\n"));
            } else if a.is_empty() {
                out.push_str(&format!("{pad}<attrs />\n"));
                return;
            } else {
                out.push_str(&format!("{pad}<attrs>\n"));
            }
            for (k, e) in a.iter() {
                out.push_str(&format!("{pad}  <attr{}>\n", attr("name", k.as_str())));
                write(&e.clone().shallow(), indent + 2, loc, out);
                out.push_str(&format!("{pad}  </attr>\n"));
            }
            out.push_str(&format!(
                "{pad}</{}>\n",
                if is_drv { "derivation" } else { "attrs" }
            ));
        }
        Value::Closure(c) => {
            let mut pos = String::new();
            if loc {
                let l = crate::errors::Location {
                    file: c.proto.file.clone(),
                    span: c.proto.span,
                };
                let (line, col) = l.line_col();
                pos = format!(
                    "{}{}{}",
                    attr("column", &col.to_string()),
                    attr("line", &line.to_string()),
                    attr("path", &c.proto.file.name)
                );
            }
            out.push_str(&format!("{pad}<function{pos}>\n"));
            if let Some(l) = c.proto.lambda.as_ref() {
                match &l.formals {
                    Some(f) => {
                        let mut a = String::new();
                        if f.ellipsis {
                            a.push_str(&attr("ellipsis", "1"));
                        }
                        if let Some(b) = f.bind {
                            a.push_str(&attr("name", b.as_str()));
                        }
                        out.push_str(&format!("{pad}  <attrspat{a}>\n"));
                        let mut names: Vec<&str> =
                            f.entries.iter().map(|(s, _)| s.as_str()).collect();
                        names.sort_unstable();
                        for s in names {
                            out.push_str(&format!("{pad}    <attr{} />\n", attr("name", s)));
                        }
                        out.push_str(&format!("{pad}  </attrspat>\n"));
                    }
                    None => {
                        let name = l.arg.map(|s| s.as_str()).unwrap_or("");
                        out.push_str(&format!("{pad}  <varpat{} />\n", attr("name", name)));
                    }
                }
            }
            out.push_str(&format!("{pad}</function>\n"));
        }
        Value::Builtin(_) => out.push_str(&format!("{pad}<unevaluated />\n")),
        Value::Thunk(_) => out.push_str(&format!("{pad}<unevaluated />\n")),
    }
}

/// The XML document for a deeply forced value.
pub fn to_xml(v: &Value, locations: bool) -> String {
    let mut out = String::from("<?xml version='1.0' encoding='utf-8'?>\n<expr>\n");
    write(v, 1, locations, &mut out);
    out.push_str("</expr>\n");
    out
}

fn to_xml_builtin(co: Co, a: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        let v = deep_force(&co, a[0].clone()).await?;
        Ok(Value::String(NixString::from(to_xml(&v, true))))
    })
}

pub fn register(r: &mut Registry) {
    r.gen("toXML", 1, to_xml_builtin);
}
