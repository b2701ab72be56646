//! The derived tables: `summary.csv` (deterministic statistics),
//! `comparisons.csv` (Welch tests with Holm's correction) and
//! `timing_summary.csv` (wall times, which differ from run to run).
//!
//! Comparisons: at each (data set, `K`, learning rate), every pair of SVI
//! variants (estimator with its temperature) is compared by Welch's t-test
//! on the final log-likelihood per point over seeds; Holm's correction runs
//! across all comparisons of the table.

use std::io::Write;
use std::path::Path;

use serde::Deserialize;

use super::format::{fmt_f64, fmt_opt};
use super::stats::{Interval, holm, mean, welch};
use super::store::{StoreError, io_context, write_streamed};
use super::summary::{GridPoint, PointSummary};

/// Header of `summary.csv`.
pub const SUMMARY_HEADER: &str = "dataset,method,variables,n_components,n_points,temperature,\
learning_rate,eta,n_samples,n_seeds,log_lik_mean,log_lik_sd,log_lik_ci_low,log_lik_ci_high,\
log_lik_best,elbo_mean,elbo_sd,elbo_ci_low,elbo_ci_high,gap_to_em_mean,gap_to_em_sd,\
gap_to_em_ci_low,gap_to_em_ci_high,log10_variance_start_mean,log10_variance_start_sd,\
log10_variance_start_ci_low,log10_variance_start_ci_high,steps_to_epsilon_mean,n_reached,\
n_not_reached,n_runs_floored";

/// Header of `comparisons.csv`.
pub const COMPARISONS_HEADER: &str = "dataset,n_components,learning_rate,first,second,\
first_mean,second_mean,difference,t,dof,p_value,p_holm";

/// Header of `timing_summary.csv`.
pub const TIMING_HEADER: &str = "dataset,method,n_components,temperature,learning_rate,\
n_seeds,wall_seconds_mean,seconds_to_epsilon_mean,n_reached";

/// One row of `summary.csv` as read back (all values per data point).
#[derive(Debug, Clone, Deserialize)]
pub struct SummaryRow {
    /// Data set name.
    pub dataset: String,
    /// `em` or the estimator name.
    pub method: String,
    /// Mixture components `K`.
    pub n_components: usize,
    /// Data points.
    pub n_points: usize,
    /// Temperature `λ`.
    pub temperature: Option<f64>,
    /// Learning rate.
    pub learning_rate: Option<f64>,
    /// Seeds.
    pub n_seeds: usize,
    /// Mean final log-likelihood per point.
    pub log_lik_mean: f64,
    /// Its 95 % interval, lower end.
    pub log_lik_ci_low: Option<f64>,
    /// Its 95 % interval, upper end.
    pub log_lik_ci_high: Option<f64>,
    /// Best final log-likelihood per point over seeds.
    pub log_lik_best: f64,
    /// Mean final ELBO per point.
    pub elbo_mean: f64,
    /// Mean gap to EM per point.
    pub gap_to_em_mean: Option<f64>,
    /// Its 95 % interval, lower end.
    pub gap_to_em_ci_low: Option<f64>,
    /// Its 95 % interval, upper end.
    pub gap_to_em_ci_high: Option<f64>,
    /// Mean `log10` summed gradient variance at the first logged step.
    pub log10_variance_start_mean: Option<f64>,
    /// Mean steps to epsilon over the runs that reached it.
    pub steps_to_epsilon_mean: Option<f64>,
    /// Runs that came within epsilon of EM (SVI only).
    pub n_reached: Option<usize>,
    /// Runs that did not (SVI only).
    pub n_not_reached: Option<usize>,
    /// Runs with a component at the variance floor.
    pub n_runs_floored: usize,
}

/// One Welch comparison.
#[derive(Debug, Clone, Deserialize)]
pub struct Comparison {
    /// Data set name.
    pub dataset: String,
    /// Mixture components `K`.
    pub n_components: usize,
    /// Learning rate.
    pub learning_rate: f64,
    /// First variant.
    pub first: String,
    /// Second variant.
    pub second: String,
    /// Mean final log-likelihood per point of the first.
    pub first_mean: f64,
    /// Mean final log-likelihood per point of the second.
    pub second_mean: f64,
    /// `first_mean - second_mean`.
    pub difference: f64,
    /// Welch's `t`.
    pub t: f64,
    /// Welch's degrees of freedom.
    pub dof: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Holm-adjusted p-value.
    pub p_holm: f64,
}

fn interval_cells(ci: Option<&Interval>) -> String {
    match ci {
        Some(ci) => format!(
            "{},{},{},{}",
            fmt_f64(ci.mean),
            fmt_opt(ci.sd),
            fmt_opt(ci.low),
            fmt_opt(ci.high)
        ),
        None => ",,,".to_string(),
    }
}

fn point_cells(point: &GridPoint) -> String {
    format!(
        "{},{},{},{},{},{},{},{},{}",
        point.dataset,
        point.method,
        point.variables,
        point.n_components,
        point.n_points,
        fmt_opt(point.temperature),
        fmt_opt(point.learning_rate),
        fmt_opt(point.eta),
        point.n_samples.map(|n| n.to_string()).unwrap_or_default()
    )
}

/// Writes `summary.csv`.
///
/// # Errors
///
/// [`StoreError`] naming the file.
pub fn write_summary(path: &Path, summaries: &[PointSummary]) -> Result<(), StoreError> {
    write_streamed(path, |out| {
        let mut text = format!("{SUMMARY_HEADER}\n");
        for summary in summaries {
            let reached: Vec<f64> = summary
                .steps_to_epsilon
                .iter()
                .flatten()
                .map(|&s| s as f64)
                .collect();
            let is_svi = !summary.point.is_em();
            let n_reached = reached.len();
            let best = summary
                .final_log_lik
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max);
            text.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{}\n",
                point_cells(&summary.point),
                summary.seeds.len(),
                interval_cells(Some(&summary.log_lik)),
                fmt_f64(best),
                interval_cells(Some(&summary.elbo)),
                interval_cells(summary.gap.as_ref()),
                interval_cells(summary.log10_variance_start.as_ref()),
                if n_reached > 0 {
                    fmt_f64(mean(&reached))
                } else {
                    String::new()
                },
                if is_svi {
                    n_reached.to_string()
                } else {
                    String::new()
                },
                if is_svi {
                    (summary.seeds.len() - n_reached).to_string()
                } else {
                    String::new()
                },
                summary.n_runs_floored
            ));
        }
        io_context(out.write_all(text.as_bytes()), "cannot write", path)
    })
}

/// Every Welch comparison of the table (see the module docs), with Holm's
/// adjustment.
pub fn comparisons(summaries: &[PointSummary]) -> Vec<Comparison> {
    let mut found = Vec::new();
    let svi: Vec<&PointSummary> = summaries.iter().filter(|s| !s.point.is_em()).collect();
    for (i, first) in svi.iter().enumerate() {
        for second in &svi[i + 1..] {
            let (a, b) = (&first.point, &second.point);
            let same_cell = a.dataset == b.dataset
                && a.n_components == b.n_components
                && a.learning_rate == b.learning_rate
                && a.n_samples == b.n_samples;
            if !same_cell {
                continue;
            }
            if let Some(test) = welch(&first.final_log_lik, &second.final_log_lik) {
                found.push(Comparison {
                    dataset: a.dataset.clone(),
                    n_components: a.n_components,
                    learning_rate: a.learning_rate.unwrap_or(f64::NAN),
                    first: a.variant(),
                    second: b.variant(),
                    first_mean: first.log_lik.mean,
                    second_mean: second.log_lik.mean,
                    difference: first.log_lik.mean - second.log_lik.mean,
                    t: test.t,
                    dof: test.dof,
                    p_value: test.p_value,
                    p_holm: f64::NAN,
                });
            }
        }
    }
    let adjusted = holm(&found.iter().map(|c| c.p_value).collect::<Vec<_>>());
    for (comparison, p_holm) in found.iter_mut().zip(adjusted) {
        comparison.p_holm = p_holm;
    }
    found
}

/// Writes `comparisons.csv`.
///
/// # Errors
///
/// [`StoreError`] naming the file.
pub fn write_comparisons(path: &Path, found: &[Comparison]) -> Result<(), StoreError> {
    let mut text = format!("{COMPARISONS_HEADER}\n");
    for c in found {
        text.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}\n",
            c.dataset,
            c.n_components,
            fmt_f64(c.learning_rate),
            c.first,
            c.second,
            fmt_f64(c.first_mean),
            fmt_f64(c.second_mean),
            fmt_f64(c.difference),
            fmt_f64(c.t),
            fmt_f64(c.dof),
            fmt_f64(c.p_value),
            fmt_f64(c.p_holm)
        ));
    }
    super::store::write_atomic(path, text.as_bytes())
}

/// Writes `timing_summary.csv`.
///
/// # Errors
///
/// [`StoreError`] naming the file.
pub fn write_timing_summary(path: &Path, summaries: &[PointSummary]) -> Result<(), StoreError> {
    let mut text = format!("{TIMING_HEADER}\n");
    for s in summaries {
        let reached: Vec<f64> = s.seconds_to_epsilon.iter().flatten().copied().collect();
        text.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            s.point.dataset,
            s.point.method,
            s.point.n_components,
            fmt_opt(s.point.temperature),
            fmt_opt(s.point.learning_rate),
            s.seeds.len(),
            fmt_f64(mean(&s.wall_seconds)),
            if reached.is_empty() {
                String::new()
            } else {
                fmt_f64(mean(&reached))
            },
            if s.point.is_em() {
                String::new()
            } else {
                reached.len().to_string()
            }
        ));
    }
    super::store::write_atomic(path, text.as_bytes())
}

/// Reads a CSV table of `T` rows.
///
/// # Errors
///
/// A message naming the file and the bad row.
pub fn read_table<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>, String> {
    let mut reader = csv::Reader::from_path(path)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    reader
        .deserialize()
        .collect::<Result<Vec<T>, _>>()
        .map_err(|err| format!("{}: bad row: {err}", path.display()))
}
