//! Runs one command under valgrind's cachegrind, with its cache and branch simulation,
//! and reads the totals it prints. The counts do not depend on the machine's load, so
//! they compare two builds (or tvix and C++ Nix) where timings are too noisy, and they
//! show why two runs of the same instruction count take different times: modules.nix
//! executes ~1.3x C++ Nix's instructions but takes ~1.6x its user time, and misses the
//! simulated instruction cache ~10x as often.

use std::path::Path;
use std::process::{Command, Stdio};

/// Millions of events in one run.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    pub instructions: f64,
    /// Instruction fetches that miss the first-level instruction cache.
    pub i1_misses: f64,
    /// Data reads and writes that miss the first-level data cache.
    pub d1_misses: f64,
    /// Mispredicted branches (conditional and indirect).
    pub mispredicts: f64,
}

pub fn run(program: &Path, args: &[&str], file: &Path) -> anyhow::Result<Counts> {
    let out_file =
        std::env::temp_dir().join(format!("tvix-bench-{}.cachegrind", std::process::id()));
    let out = Command::new("valgrind")
        .args(["--tool=cachegrind", "--cache-sim=yes", "--branch-sim=yes"])
        .arg(format!("--cachegrind-out-file={}", out_file.display()))
        .arg(program)
        .args(args)
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .map_err(|e| anyhow::anyhow!("cannot start valgrind: {e}"))?;
    let _ = std::fs::remove_file(&out_file);
    parse_summary(&String::from_utf8_lossy(&out.stderr)).ok_or_else(|| {
        anyhow::anyhow!(
            "no cachegrind summary for {} {}",
            program.display(),
            file.display()
        )
    })
}

/// The totals from cachegrind's summary lines, e.g. `==1== I1  misses:  36,183,669`.
fn parse_summary(log: &str) -> Option<Counts> {
    let total = |label: &str| -> Option<f64> {
        let line = log.lines().find(|l| l.contains(label))?;
        let after = line.split_once(label)?.1;
        let first = after.split_whitespace().next()?;
        Some(first.replace(',', "").parse::<f64>().ok()? / 1e6)
    };
    Some(Counts {
        instructions: total("I   refs:")?,
        i1_misses: total("I1  misses:")?,
        d1_misses: total("D1  misses:")?,
        mispredicts: total("Mispredicts:")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_totals_of_a_summary() {
        let log = "\
==2612== I   refs:      2,769,973,869
==2612== I1  misses:       36,183,669
==2612== LLi misses:           12,508
==2612== D   refs:      1,368,131,528  (913,781,500 rd   + 454,350,028 wr)
==2612== D1  misses:       33,480,497  ( 27,859,718 rd   +   5,620,779 wr)
==2612== Branches:        454,336,504  (385,185,737 cond +  69,150,767 ind)
==2612== Mispredicts:      60,977,417  ( 27,911,830 cond +  33,065,587 ind)
";
        let c = parse_summary(log).unwrap();
        assert_eq!(c.instructions, 2769.973869);
        assert_eq!(c.i1_misses, 36.183669);
        assert_eq!(c.d1_misses, 33.480497);
        assert_eq!(c.mispredicts, 60.977417);
    }

    #[test]
    fn a_log_without_a_summary_is_none() {
        assert!(parse_summary("valgrind: command not found").is_none());
    }
}
