//! Results recorded per commit, and the comparison of a run with a recorded one.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::report::Row;

/// Slower or bigger than the baseline by more than this fraction is a regression.
const TOLERANCE: f64 = 0.10;

#[derive(Serialize, Deserialize)]
pub struct Run {
    pub commit: String,
    pub results: Vec<Result>,
}

#[derive(Serialize, Deserialize)]
pub struct Result {
    pub workload: String,
    pub correct: bool,
    pub tvix_cpu_secs: f64,
    pub tvix_max_rss: u64,
    pub nix_cpu_secs: Option<f64>,
    pub nix_max_rss: Option<u64>,
}

impl Run {
    pub fn new(rows: &[Row]) -> Run {
        let commit = std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let results = rows
            .iter()
            .map(|r| Result {
                workload: r.name.clone(),
                correct: r.tvix_correct,
                tvix_cpu_secs: r.tvix.cpu_secs,
                tvix_max_rss: r.tvix.max_rss,
                nix_cpu_secs: r.reference.as_ref().map(|m| m.cpu_secs),
                nix_max_rss: r.reference.as_ref().map(|m| m.max_rss),
            })
            .collect();
        Run { commit, results }
    }

    pub fn load(path: &Path) -> anyhow::Result<Run> {
        Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        Ok(std::fs::write(path, serde_json::to_string_pretty(self)?)?)
    }
}

/// One line per workload that got slower, bigger or wrong since `baseline`.
pub fn compare(baseline: &Run, current: &Run) -> Vec<String> {
    let mut lines = Vec::new();
    for now in &current.results {
        let Some(before) = baseline.results.iter().find(|b| b.workload == now.workload) else {
            continue;
        };
        if before.correct && !now.correct {
            lines.push(format!("REGRESSION {}: result is now wrong", now.workload));
        }
        let time = now.tvix_cpu_secs / before.tvix_cpu_secs;
        if time > 1.0 + TOLERANCE {
            lines.push(format!("REGRESSION {}: CPU time x{time:.2}", now.workload));
        }
        let mem = now.tvix_max_rss as f64 / before.tvix_max_rss as f64;
        if mem > 1.0 + TOLERANCE {
            lines.push(format!(
                "REGRESSION {}: peak memory x{mem:.2}",
                now.workload
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(workload: &str, correct: bool, cpu: f64, rss: u64) -> Result {
        Result {
            workload: workload.into(),
            correct,
            tvix_cpu_secs: cpu,
            tvix_max_rss: rss,
            nix_cpu_secs: None,
            nix_max_rss: None,
        }
    }

    #[test]
    fn flags_slower_bigger_and_wrong_results_only() {
        let before = Run {
            commit: "a".into(),
            results: vec![
                result("fib", true, 1.0, 100),
                result("sort", true, 1.0, 100),
            ],
        };
        let after = Run {
            commit: "b".into(),
            results: vec![
                result("fib", true, 1.05, 200),
                result("sort", false, 2.0, 100),
            ],
        };
        let lines = compare(&before, &after);
        assert_eq!(
            lines,
            vec![
                "REGRESSION fib: peak memory x2.00",
                "REGRESSION sort: result is now wrong",
                "REGRESSION sort: CPU time x2.00",
            ]
        );
    }
}
