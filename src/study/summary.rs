//! From `results.csv` and `timings.csv` to per-grid-point statistics, read
//! in one streaming pass so that memory grows with the number of grid
//! points, not with the number of rows.
//!
//! A *grid point* is every column of a cell except the seed. Per grid point
//! over seeds (all values per data point, `log_lik / n_points`):
//!
//! ```text
//! final log-likelihood, final ELBO    mean, sd, Student-t 95 % interval
//! gap to EM                           final log_lik(seed) - EM's final log_lik(seed)
//! steps to epsilon                    first logged step with
//!                                     log_lik(step) >= EM's final - epsilon
//! log10 variance at start             log10 of the summed φ-gradient variance
//!                                     at the first logged step (same model
//!                                     for every cell of a data set and K)
//! ```
//!
//! EM is paired by seed with the EM cell of the same data set and `K`
//! (which starts from the same initial model).

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::format::fmt_f64;
use super::stats::{Interval, interval};

/// Why the result tables could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// A file could not be opened.
    #[error("cannot read {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A row could not be parsed.
    #[error("{path}: bad row: {reason}")]
    Row {
        /// The file.
        path: String,
        /// The parser's message (it names the line and field).
        reason: String,
    },
    /// The two tables list different cells.
    #[error("timings.csv does not match results.csv: {reason}")]
    Mismatch {
        /// Which cell differs.
        reason: String,
    },
}

/// One row of `results.csv`.
#[derive(Debug, Clone, Deserialize)]
pub struct ResultRow {
    /// Cell index in grid order.
    pub cell: usize,
    /// Data set name.
    pub dataset: String,
    /// `em` or the estimator name.
    pub method: String,
    /// `binary`, `categorical`, or empty for EM.
    pub variables: String,
    /// Replicate seed.
    pub seed: u64,
    /// Mixture components `K`.
    pub n_components: usize,
    /// Data points `N`.
    pub n_points: usize,
    /// Temperature `λ`, when the estimator uses one.
    pub temperature: Option<f64>,
    /// Learning rate (SVI).
    pub learning_rate: Option<f64>,
    /// `η`, when the estimator uses it.
    pub eta: Option<f64>,
    /// Samples per estimate (SVI).
    pub n_samples: Option<usize>,
    /// Step (SVI) or iteration (EM).
    pub step: usize,
    /// Total ELBO.
    pub elbo: f64,
    /// Total log-likelihood.
    pub log_lik: f64,
    /// Summed variance of the `φ`-gradient estimator, when measured.
    pub grad_variance: Option<f64>,
    /// Evaluations of `f` so far (SVI).
    pub n_evals: Option<u64>,
    /// Floored components at the end (last row of a cell only).
    pub n_floored: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
struct TimingRow {
    cell: usize,
    step: usize,
    wall_seconds: f64,
}

/// The coordinates of a grid point (a cell without its seed).
#[derive(Debug, Clone, PartialEq)]
pub struct GridPoint {
    /// Data set name.
    pub dataset: String,
    /// `em` or the estimator name.
    pub method: String,
    /// `binary`, `categorical` or empty.
    pub variables: String,
    /// Mixture components `K`.
    pub n_components: usize,
    /// Data points `N`.
    pub n_points: usize,
    /// Temperature `λ`.
    pub temperature: Option<f64>,
    /// Learning rate.
    pub learning_rate: Option<f64>,
    /// `η`.
    pub eta: Option<f64>,
    /// Samples per estimate.
    pub n_samples: Option<usize>,
}

impl GridPoint {
    fn of(row: &ResultRow) -> Self {
        Self {
            dataset: row.dataset.clone(),
            method: row.method.clone(),
            variables: row.variables.clone(),
            n_components: row.n_components,
            n_points: row.n_points,
            temperature: row.temperature,
            learning_rate: row.learning_rate,
            eta: row.eta,
            n_samples: row.n_samples,
        }
    }

    /// Whether this is an EM grid point.
    pub fn is_em(&self) -> bool {
        self.method == "em"
    }

    /// The estimator with its temperature, e.g. `rebar λ=0.1` or `em`.
    pub fn variant(&self) -> String {
        match self.temperature {
            Some(t) => format!("{} λ={}", self.method, fmt_f64(t)),
            None => self.method.clone(),
        }
    }
}

/// One finished run, reduced to what the statistics need.
#[derive(Debug, Clone)]
struct CellRun {
    point: GridPoint,
    seed: u64,
    steps: Vec<usize>,
    log_lik_pp: Vec<f64>,
    elbo_pp: Vec<f64>,
    seconds: Vec<Option<f64>>,
    grad_variance_start: Option<f64>,
    n_floored: usize,
}

/// Statistics of one grid point over its seeds.
#[derive(Debug, Clone)]
pub struct PointSummary {
    /// The grid point.
    pub point: GridPoint,
    /// Seeds, in file order.
    pub seeds: Vec<u64>,
    /// Final log-likelihood per point, per seed.
    pub final_log_lik: Vec<f64>,
    /// Interval of the final log-likelihood per point.
    pub log_lik: Interval,
    /// Interval of the final ELBO per point.
    pub elbo: Interval,
    /// Interval of `log10` of the summed `φ`-gradient variance at the first
    /// logged step (the shared initial model), when measured.
    pub log10_variance_start: Option<Interval>,
    /// Interval of the per-point gap to EM (seeds with an EM run only).
    pub gap: Option<Interval>,
    /// Steps to come within epsilon of EM, per seed (`None`: not reached).
    pub steps_to_epsilon: Vec<Option<usize>>,
    /// Seconds to come within epsilon of EM, per seed.
    pub seconds_to_epsilon: Vec<Option<f64>>,
    /// Final wall time per seed (seconds).
    pub wall_seconds: Vec<f64>,
    /// Runs whose final model has a component at the variance floor.
    pub n_runs_floored: usize,
    /// Logged steps of the first seed.
    pub steps: Vec<usize>,
    /// Per logged step: interval of the log-likelihood per point.
    pub curve: Vec<Interval>,
    /// Per logged step: mean wall time (seconds) over seeds.
    pub curve_seconds: Vec<Option<f64>>,
}

/// Reads `results.csv` and `timings.csv` of `dir` and summarises every
/// grid point, in file order.
///
/// # Errors
///
/// [`TableError`] naming the file when a table is unreadable or the two
/// tables disagree.
pub fn summarise(dir: &Path, epsilon: f64) -> Result<Vec<PointSummary>, TableError> {
    let results_path = dir.join("results.csv");
    let timings_path = dir.join("timings.csv");
    let mut results = open_csv(&results_path)?;
    let mut timings = open_csv(&timings_path)?;
    let mut result_rows = results.deserialize::<ResultRow>();
    let mut timing_rows = timings.deserialize::<TimingRow>();
    let mut next_result: Option<ResultRow> = None;
    let mut next_timing: Option<TimingRow> = None;
    let mut em_final: HashMap<(String, usize, u64), f64> = HashMap::new();
    let mut summaries = Vec::new();
    let mut group: Vec<CellRun> = Vec::new();
    loop {
        let first = match next_result.take() {
            Some(row) => row,
            None => match result_rows.next() {
                None => break,
                Some(row) => row.map_err(|err| row_error(&results_path, &err))?,
            },
        };
        let cell = first.cell;
        let mut rows = vec![first];
        for row in result_rows.by_ref() {
            let row = row.map_err(|err| row_error(&results_path, &err))?;
            if row.cell != cell {
                next_result = Some(row);
                break;
            }
            rows.push(row);
        }
        let mut cell_timings = Vec::new();
        loop {
            let row = match next_timing.take() {
                Some(row) => row,
                None => match timing_rows.next() {
                    None => break,
                    Some(row) => row.map_err(|err| row_error(&timings_path, &err))?,
                },
            };
            if row.cell != cell {
                next_timing = Some(row);
                break;
            }
            cell_timings.push((row.step, row.wall_seconds));
        }
        let run = cell_run(&rows, &cell_timings);
        if run.point.is_em() {
            let key = (run.point.dataset.clone(), run.point.n_components, run.seed);
            em_final.insert(key, *run.log_lik_pp.last().unwrap_or(&f64::NAN));
        }
        if group.first().is_some_and(|head| head.point != run.point) {
            summaries.push(summarise_point(&group, &em_final, epsilon));
            group.clear();
        }
        group.push(run);
    }
    if !group.is_empty() {
        summaries.push(summarise_point(&group, &em_final, epsilon));
    }
    if let Some(extra) = next_timing {
        let reason = format!("cell {} has timings but no results", extra.cell);
        return Err(TableError::Mismatch { reason });
    }
    Ok(summaries)
}

fn open_csv(path: &Path) -> Result<csv::Reader<std::fs::File>, TableError> {
    csv::Reader::from_path(path).map_err(|err| TableError::Io {
        path: path.display().to_string(),
        reason: err.to_string(),
    })
}

fn row_error(path: &Path, err: &csv::Error) -> TableError {
    TableError::Row {
        path: path.display().to_string(),
        reason: err.to_string(),
    }
}

/// Reduces the rows (and timings) of one cell.
fn cell_run(rows: &[ResultRow], timings: &[(usize, f64)]) -> CellRun {
    let n_points = rows[0].n_points.max(1) as f64;
    let seconds = rows
        .iter()
        .map(|row| {
            timings
                .iter()
                .find(|(step, _)| *step == row.step)
                .map(|t| t.1)
        })
        .collect();
    CellRun {
        point: GridPoint::of(&rows[0]),
        seed: rows[0].seed,
        steps: rows.iter().map(|row| row.step).collect(),
        log_lik_pp: rows.iter().map(|row| row.log_lik / n_points).collect(),
        elbo_pp: rows.iter().map(|row| row.elbo / n_points).collect(),
        seconds,
        grad_variance_start: rows[0].grad_variance,
        n_floored: rows.last().and_then(|row| row.n_floored).unwrap_or(0),
    }
}

fn summarise_point(
    runs: &[CellRun],
    em_final: &HashMap<(String, usize, u64), f64>,
    epsilon: f64,
) -> PointSummary {
    let point = runs[0].point.clone();
    let last = |values: &Vec<f64>| *values.last().unwrap_or(&f64::NAN);
    let final_log_lik: Vec<f64> = runs.iter().map(|run| last(&run.log_lik_pp)).collect();
    let final_elbo: Vec<f64> = runs.iter().map(|run| last(&run.elbo_pp)).collect();
    let em_of = |run: &CellRun| {
        let key = (point.dataset.clone(), point.n_components, run.seed);
        em_final.get(&key).copied().filter(|_| !point.is_em())
    };
    let gaps: Vec<f64> = runs
        .iter()
        .filter_map(|run| em_of(run).map(|em| last(&run.log_lik_pp) - em))
        .collect();
    let mut steps_to_epsilon = Vec::new();
    let mut seconds_to_epsilon = Vec::new();
    for run in runs {
        let reached = em_of(run).and_then(|em| {
            run.log_lik_pp
                .iter()
                .position(|&value| value >= em - epsilon)
        });
        steps_to_epsilon.push(reached.map(|at| run.steps[at]));
        seconds_to_epsilon.push(reached.and_then(|at| run.seconds[at]));
    }
    let steps = runs[0].steps.clone();
    let (curve, curve_seconds) = curve_of(runs, steps.len());
    let log10_variances: Vec<f64> = runs
        .iter()
        .filter_map(|run| run.grad_variance_start)
        .filter(|v| *v > 0.0)
        .map(f64::log10)
        .collect();
    PointSummary {
        log10_variance_start: (!log10_variances.is_empty()).then(|| interval(&log10_variances)),
        seeds: runs.iter().map(|run| run.seed).collect(),
        log_lik: interval(&final_log_lik),
        elbo: interval(&final_elbo),
        gap: (!gaps.is_empty()).then(|| interval(&gaps)),
        final_log_lik,
        steps_to_epsilon,
        seconds_to_epsilon,
        wall_seconds: runs
            .iter()
            .map(|run| {
                run.seconds
                    .iter()
                    .rev()
                    .find_map(|s| *s)
                    .unwrap_or(f64::NAN)
            })
            .collect(),
        n_runs_floored: runs.iter().filter(|run| run.n_floored > 0).count(),
        steps,
        curve,
        curve_seconds,
        point,
    }
}

/// Per logged step, the interval of the log-likelihood per point over the
/// runs that logged that step, and the mean wall time.
fn curve_of(runs: &[CellRun], n_steps: usize) -> (Vec<Interval>, Vec<Option<f64>>) {
    let mut curve = Vec::with_capacity(n_steps);
    let mut seconds = Vec::with_capacity(n_steps);
    for position in 0..n_steps {
        let values: Vec<f64> = runs
            .iter()
            .filter_map(|run| run.log_lik_pp.get(position).copied())
            .collect();
        curve.push(interval(&values));
        let times: Vec<f64> = runs
            .iter()
            .filter_map(|run| run.seconds.get(position).copied().flatten())
            .collect();
        seconds.push((!times.is_empty()).then(|| super::stats::mean(&times)));
    }
    (curve, seconds)
}
