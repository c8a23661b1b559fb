//! `tvix repl`: the terminal around tvix-eval's `Repl` (line editing and history).

use std::path::PathBuf;
use std::rc::Rc;

use rustyline::error::ReadlineError;
use tvix_eval::repl::{Repl, ReplOutput};

#[derive(clap::Args)]
#[command(args_override_self = true)]
pub struct Args {
    /// Files to load into scope at start, as `:l FILE` does.
    files: Vec<String>,
    /// The evaluator flags of `tvix eval`; `--arg`/`--argstr` are what `:l` calls a
    /// file's function with.
    #[command(flatten)]
    setup: crate::eval_cmd::SetupArgs,
}

fn history_file() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("tvix/repl-history"))
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let cwd = std::env::current_dir()?;
    let evaluator = args
        .setup
        .setup()
        .evaluator(Rc::new(tvix_eval::io::StdIO), &cwd, |_| {});
    let auto = tvix_eval::entry::auto_args(&evaluator, &args.setup.auto_args(), &cwd);
    let mut repl = Repl::new(evaluator, cwd);
    repl.set_show_trace(args.setup.show_trace);
    match auto {
        Ok(auto) => repl.set_auto_args(auto),
        Err(e) => {
            eprint!("{}", e.render(args.setup.show_trace));
            return Ok(1);
        }
    }
    for file in &args.files {
        show(repl.handle(&format!(":l {file}")));
    }

    let mut editor = rustyline::DefaultEditor::new()?;
    let history = history_file();
    if let Some(path) = &history {
        // No history yet is the normal first run.
        let _ = editor.load_history(path);
    }
    eprintln!("Welcome to tvix repl. Type :? for help.");
    loop {
        match editor.readline("tvix-repl> ") {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                if !show(repl.handle(&line)) {
                    break;
                }
            }
            // Ctrl-C abandons the line, as in a shell.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        editor.save_history(path)?;
    }
    Ok(0)
}

/// Prints an outcome; false when the session should end.
fn show(output: ReplOutput) -> bool {
    match output {
        ReplOutput::Print(text) => println!("{text}\n"),
        ReplOutput::Error(text) => eprintln!("{}", text.trim_end()),
        ReplOutput::Nothing => {}
        ReplOutput::Quit => return false,
    }
    true
}
