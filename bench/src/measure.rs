//! Runs one command and reads its CPU time and peak memory from the kernel (wait4's
//! rusage), so the figures cover the whole process, start-up included.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Clone, Debug)]
pub struct Measurement {
    /// User plus system CPU time, in seconds.
    pub cpu_secs: f64,
    /// Peak resident set size, in bytes.
    pub max_rss: u64,
    pub exit_code: Option<i32>,
    pub stdout: String,
}

pub fn run(program: &Path, args: &[&str], file: &Path) -> anyhow::Result<Measurement> {
    let child = Command::new(program)
        .args(args)
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", program.display()))?;
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.expect("piped");
    // Read output before reaping, so a large result cannot block the child on a full pipe.
    let reader = std::thread::spawn(move || {
        let mut buf = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut buf).ok();
        buf
    });
    let mut status = 0;
    // SAFETY: plain FFI call; `usage` is a valid out-pointer for the duration of the call.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    anyhow::ensure!(
        reaped == pid,
        "wait4 failed: {}",
        std::io::Error::last_os_error()
    );
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Measurement {
        cpu_secs: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        max_rss: usage.ru_maxrss as u64 * 1024,
        exit_code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout: reader.join().unwrap_or_default(),
    })
}

/// The fastest of `runs` runs: the least disturbed by whatever else the machine does.
pub fn best_of(
    runs: usize,
    mut once: impl FnMut() -> anyhow::Result<Measurement>,
) -> anyhow::Result<Measurement> {
    let mut best: Option<Measurement> = None;
    for _ in 0..runs.max(1) {
        let m = once()?;
        if best.as_ref().is_none_or(|b| m.cpu_secs < b.cpu_secs) {
            best = Some(m);
        }
    }
    Ok(best.expect("at least one run"))
}

pub fn find_in_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}
