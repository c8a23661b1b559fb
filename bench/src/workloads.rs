//! The workloads and the results they must print, read from the workloads folder itself:
//! every `bench/*.nix` with its expected result from the README's table, and the three
//! nixpkgs-lib tests.

use std::path::{Path, PathBuf};

pub struct Workload {
    pub name: String,
    pub path: PathBuf,
    pub expected: String,
}

/// The nixpkgs-lib tests the README names, with the results it gives for them.
const LIB_TESTS: [(&str, &str); 3] = [
    ("nixpkgs-lib/lib/tests/misc.nix", "[ ]"),
    ("nixpkgs-lib/lib/tests/systems.nix", "[ ]"),
    ("nixpkgs-lib/lib/tests/check-eval.nix", "null"),
];

pub fn discover(dir: &Path, filter: Option<&str>) -> anyhow::Result<Vec<Workload>> {
    let readme = std::fs::read_to_string(dir.join("README.md"))
        .map_err(|e| anyhow::anyhow!("cannot read {}/README.md: {e}", dir.display()))?;
    let mut workloads: Vec<Workload> = expected_from_readme(&readme)
        .into_iter()
        .chain(
            LIB_TESTS
                .iter()
                .map(|(f, e)| (f.to_string(), e.to_string())),
        )
        .map(|(file, expected)| Workload {
            name: file
                .trim_end_matches(".nix")
                .rsplit('/')
                .next()
                .unwrap_or(&file)
                .to_string(),
            path: dir.join(&file),
            expected,
        })
        .filter(|w| filter.is_none_or(|f| w.name.contains(f)))
        .collect();
    workloads.sort_by(|a, b| a.name.cmp(&b.name));
    for w in &workloads {
        anyhow::ensure!(w.path.is_file(), "workload {} is missing", w.path.display());
    }
    Ok(workloads)
}

/// Rows of the form ``| `bench/fib.nix` | `832040` |``.
fn expected_from_readme(readme: &str) -> Vec<(String, String)> {
    readme
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let file = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let result = cells.get(2)?.strip_prefix('`')?.strip_suffix('`')?;
            file.ends_with(".nix")
                .then(|| (file.to_string(), result.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_expected_results_from_the_table() {
        let readme = "| file | expected |\n| --- | --- |\n| `bench/fib.nix` | `832040` |\n| `bench/a.nix` | `{ x = 1; }` |\n";
        assert_eq!(
            expected_from_readme(readme),
            vec![
                ("bench/fib.nix".to_string(), "832040".to_string()),
                ("bench/a.nix".to_string(), "{ x = 1; }".to_string())
            ]
        );
    }
}
