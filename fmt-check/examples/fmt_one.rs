//! Development helper: `cargo run -p tvix-fmt --example fmt_one -- FILE [WIDTH] [strict]`.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let src = std::fs::read_to_string(&args[1]).expect("read");
    let width = args.get(2).map(|w| w.parse().expect("width")).unwrap_or(80);
    let strict = args.get(3).is_some_and(|s| s == "strict");
    let opts = tvix_fmt::Options {
        width,
        indent: std::env::var("IND")
            .map(|s| s.parse().unwrap())
            .unwrap_or(2),
        strict,
    };
    match tvix_fmt::format(&src, &opts) {
        Ok(s) if std::env::var("TWICE").is_ok() => {
            let t = tvix_fmt::format(&s, &opts).unwrap();
            for (i, (a, b)) in s.lines().zip(t.lines()).enumerate() {
                if a != b {
                    println!("line {}:\n- {a}\n+ {b}", i + 1);
                }
            }
        }
        Ok(s) => print!("{s}"),
        Err(e) => eprintln!("{e}"),
    }
}
