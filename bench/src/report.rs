//! The table a run prints: each workload's CPU time and peak memory for tvix and C++ Nix,
//! and tvix's figures as ratios of the reference's (below 1.0 means tvix is better).

use crate::measure::Measurement;
use crate::simulate::Counts;
use crate::workloads::Workload;

pub struct Row {
    pub name: String,
    pub tvix: Measurement,
    pub tvix_correct: bool,
    pub reference: Option<Measurement>,
}

impl Row {
    pub fn new(workload: &Workload, tvix: Measurement, reference: Option<Measurement>) -> Row {
        let tvix_correct = tvix.exit_code == Some(0) && tvix.stdout.trim() == workload.expected;
        Row {
            name: workload.name.clone(),
            tvix,
            tvix_correct,
            reference,
        }
    }

    /// Ratios only mean something when tvix computed the right answer.
    fn compared(&self) -> Option<&Measurement> {
        self.reference.as_ref().filter(|_| self.tvix_correct)
    }

    pub fn time_ratio(&self) -> Option<f64> {
        self.compared().map(|r| self.tvix.cpu_secs / r.cpu_secs)
    }

    pub fn memory_ratio(&self) -> Option<f64> {
        self.compared()
            .map(|r| self.tvix.max_rss as f64 / r.max_rss as f64)
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

fn ratio(r: Option<f64>) -> String {
    r.map_or("-".into(), |r| format!("{r:.2}"))
}

pub fn print_table(rows: &[Row]) {
    println!(
        "{:<12} {:>9} {:>9} {:>6} {:>9} {:>9} {:>6}  result",
        "workload", "tvix s", "nix s", "time", "tvix MiB", "nix MiB", "mem"
    );
    for row in rows {
        let (nix_s, nix_mib) = match &row.reference {
            Some(r) => (format!("{:.3}", r.cpu_secs), mib(r.max_rss)),
            None => ("-".into(), "-".into()),
        };
        let result = if row.tvix_correct {
            "ok".to_string()
        } else {
            format!(
                "WRONG (exit {:?}): {}",
                row.tvix.exit_code,
                row.tvix.stdout.trim()
            )
        };
        println!(
            "{:<12} {:>9.3} {:>9} {:>6} {:>9} {:>9} {:>6}  {}",
            row.name,
            row.tvix.cpu_secs,
            nix_s,
            ratio(row.time_ratio()),
            mib(row.tvix.max_rss),
            nix_mib,
            ratio(row.memory_ratio()),
            result
        );
    }
}

/// The simulated counts, in millions, one line per command and workload.
pub fn print_simulated(rows: &[(String, Counts, Option<Counts>)]) {
    println!(
        "{:<12} {:<5} {:>10} {:>10} {:>10} {:>10}",
        "workload", "", "instr M", "I1 miss M", "D1 miss M", "mispred M"
    );
    for (name, tvix, reference) in rows {
        for (who, c) in [("tvix", Some(tvix)), ("nix", reference.as_ref())] {
            let Some(c) = c else { continue };
            println!(
                "{:<12} {:<5} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
                name, who, c.instructions, c.i1_misses, c.d1_misses, c.mispredicts
            );
        }
    }
}
