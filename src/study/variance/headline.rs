//! Two extra sections of the variance report, computed from files in the
//! output folder: REBAR against plain REINFORCE per problem and
//! temperature (from `summary.csv`), and the throughput against the NumPy
//! peer (from `throughput.csv`, written by `benches/peers/throughput.py`
//! after the run; the section is left out when the file is missing).
//!
//! ```text
//! summed variance = 10^(mean over seeds of log10 Σ_j Var(ĝ_j))
//! factor          = REINFORCE's summed variance / REBAR's
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

use super::super::format::fmt_f64;

#[derive(Debug, Deserialize)]
struct SummaryRow {
    problem: String,
    method: String,
    temperature: Option<f64>,
    log10_variance_mean: f64,
    #[serde(default)]
    n_seeds_biased: usize,
}

#[derive(Debug, Deserialize)]
struct ThroughputRow {
    estimator: String,
    numpy_batch: String,
    numpy_estimates_per_sec: f64,
    rust_estimates_per_sec: f64,
    ratio: f64,
    repeats: usize,
    load_average_1min: String,
}

fn read_rows<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<Vec<T>> {
    let mut reader = csv::Reader::from_path(path).ok()?;
    reader.deserialize().collect::<Result<Vec<T>, _>>().ok()
}

/// The section "REBAR against REINFORCE": per problem (in file order) and
/// temperature, both summed variances and the factor, with a sentence
/// saying where REBAR's is lower and where not (cells where REBAR fails
/// the bias check are listed apart, not compared). Empty when the summary
/// has no REBAR or REINFORCE rows.
pub fn rebar_section(dir: &Path) -> String {
    let Some(rows) = read_rows::<SummaryRow>(&dir.join("summary.csv")) else {
        return String::new();
    };
    let mut order: Vec<&str> = Vec::new();
    let mut reinforce: BTreeMap<&str, f64> = BTreeMap::new();
    for row in &rows {
        if !order.contains(&row.problem.as_str()) {
            order.push(&row.problem);
        }
        if row.method == "reinforce" {
            reinforce.insert(&row.problem, 10f64.powf(row.log10_variance_mean));
        }
    }
    let mut out = String::from(
        "## REBAR against REINFORCE\n\nSummed variance over coordinates (geometric mean over \
         seeds) of plain REINFORCE and of REBAR (η = 1) at each temperature λ; factor = \
         REINFORCE's / REBAR's (above 1: REBAR has the lower variance).\n\n\
         | problem | REINFORCE | λ | REBAR | factor |\n| --- | --- | --- | --- | --- |\n",
    );
    let mut wins: Vec<String> = Vec::new();
    let mut losses: Vec<String> = Vec::new();
    let mut flagged: Vec<String> = Vec::new();
    let mut any = false;
    for problem in order {
        let Some(&base) = reinforce.get(problem) else {
            continue;
        };
        for row in rows
            .iter()
            .filter(|r| r.problem == problem && r.method == "rebar")
        {
            let variance = 10f64.powf(row.log10_variance_mean);
            let factor = base / variance;
            let lambda = row.temperature.map_or_else(String::new, fmt_f64);
            let flag = if row.n_seeds_biased > 0 {
                " (fails the bias check)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "| {problem} | {base:.4e} | {lambda} | {variance:.4e} | {factor:.3}{flag} |"
            );
            let label = format!("{problem} at λ = {lambda} ({factor:.3}×)");
            if row.n_seeds_biased > 0 {
                flagged.push(format!("{problem} at λ = {lambda}"));
            } else if factor > 1.0 {
                wins.push(label);
            } else {
                losses.push(label);
            }
            any = true;
        }
    }
    if !any {
        return String::new();
    }
    let _ = writeln!(
        out,
        "\nREBAR's summed variance is lower than REINFORCE's on: {}.\n\nIt is not lower on: \
         {}.\n\nPer-cell intervals and the paired test are in the per-problem tables above.\n",
        list_or_none(&wins),
        list_or_none(&losses)
    );
    if !flagged.is_empty() {
        let _ = writeln!(
            out,
            "Not compared, because REBAR fails the bias check there (see the tables \
             above): {}.\n",
            flagged.join("; ")
        );
    }
    out
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join("; ")
    }
}

/// The section "Throughput against NumPy" from `throughput.csv`; empty
/// when the file is missing or unreadable.
pub fn throughput_section(dir: &Path) -> String {
    let Some(rows) = read_rows::<ThroughputRow>(&dir.join("throughput.csv")) else {
        return String::new();
    };
    let Some(first) = rows.first() else {
        return String::new();
    };
    let mut out = format!(
        "## Throughput against NumPy (100 bits, λ = 0.5, one thread)\n\n\
         Read from `throughput.csv` (written by `benches/peers/throughput.py`): estimates \
         per second of our criterion bench and of the vectorised NumPy peer \
         (`peer_bench.py estimators`), run back to back, median of {} repeats; 1-minute \
         load average at the start of each repeat: {} (the machine is shared).\n\n\
         | estimator | NumPy batch | NumPy estimates/s | ours estimates/s | ours / NumPy |\n\
         | --- | --- | --- | --- | --- |\n",
        first.repeats, first.load_average_1min
    );
    for row in &rows {
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {:.0} | {:.2} |",
            row.estimator,
            row.numpy_batch,
            row.numpy_estimates_per_sec,
            row.rust_estimates_per_sec,
            row.ratio
        );
    }
    let verdicts: Vec<String> = [
        ("rebar", "one estimate per call"),
        (
            "rebar-batch",
            "64 estimates per call (`Estimator::estimate_batch`)",
        ),
    ]
    .iter()
    .filter_map(|(name, how)| {
        let best = rows
            .iter()
            .find(|r| r.estimator == *name && r.numpy_batch.starts_with("best"))?;
        let verdict = if best.ratio >= THROUGHPUT_GOAL {
            "met"
        } else {
            "not met"
        };
        Some(format!("{how}: **{verdict}** ({:.2}×)", best.ratio))
    })
    .collect();
    if !verdicts.is_empty() {
        let _ = writeln!(
            out,
            "\nGoal: REBAR at least {THROUGHPUT_GOAL}× NumPy at NumPy's best batch size. \
             Here, {}. The ratio moves with the machine's load and from run to run; rerun \
             `benches/peers/throughput.py` on a quiet machine to judge it.",
            verdicts.join("; ")
        );
    }
    out.push('\n');
    out
}

/// The throughput ratio to NumPy's best batch that REBAR aims for.
const THROUGHPUT_GOAL: f64 = 8.0;
