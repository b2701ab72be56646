//! Running one cell: the shared initial model, then EM or SVI, and the
//! cell's rows of `results.csv` and `timings.csv` as text.
//!
//! EM rows: one per EM iteration, `step` = iteration (0 is the initial
//! model), `elbo = log_lik` (EM's E-step makes the bound tight).
//! SVI rows: one per logged step of the run, with the summed variance of
//! the `φ`-gradient estimator when the study asks for variance draws, and
//! the evaluations of `f` used so far (`n_evals`). The last row of every cell
//! carries `n_floored`, the number of components whose variance sits at
//! the floor at the end. Every cell also gives its final model's rows of
//! `fits.csv` ([`super::fits`]).

use std::time::Instant;

use crate::gmm::{
    EmSettings, GmmError, Mixture, SviLog, SviSettings, Variational, fit_em, fit_svi,
    floored_components, initial_mixture,
};
use crate::rng::cell_stream;

use super::config::Study;
use super::fits::fit_rows;
use super::format::{fmt_f64, fmt_opt};
use super::grid::{Cell, Method, cell_key, init_key, uses_eta};

/// Header of `results.csv`.
pub const RESULTS_HEADER: &str = "cell,dataset,method,variables,seed,n_components,n_points,\
temperature,learning_rate,eta,n_samples,step,elbo,log_lik,grad_variance,n_evals,n_floored";

/// Header of `timings.csv`.
pub const TIMINGS_HEADER: &str = "cell,dataset,method,seed,n_components,temperature,\
learning_rate,step,wall_seconds";

/// A cell could not be run.
#[derive(Debug, thiserror::Error)]
#[error("cell {key} with seed {seed} failed: {reason}")]
pub struct CellError {
    /// The cell's key.
    pub key: String,
    /// The cell's seed.
    pub seed: u64,
    /// What the library reported.
    pub reason: String,
}

/// The text a finished cell contributes to the output files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellRows {
    /// Lines of `results.csv`, each ending in a newline.
    pub results: String,
    /// Lines of `timings.csv`, each ending in a newline.
    pub timings: String,
    /// Lines of `fits.csv` (SVI-kind studies; empty for other kinds).
    pub fits: String,
}

/// Runs one cell of `study`.
///
/// # Errors
///
/// [`CellError`] naming the cell when the mixture task fails.
pub fn run_cell(study: &Study, cell: &Cell) -> Result<CellRows, CellError> {
    let fail = |reason: &dyn std::fmt::Display| CellError {
        key: cell_key(study, cell),
        seed: cell.seed,
        reason: reason.to_string(),
    };
    let points = &study.datasets[cell.dataset].data.points;
    let mut init_rng = cell_stream(study.master_seed, cell.seed, &init_key(study, cell));
    let init =
        initial_mixture(points, cell.n_components, &mut init_rng).map_err(|err| fail(&err))?;
    match cell.method {
        Method::Em => run_em(study, cell, &init).map_err(|err| fail(&err)),
        Method::Svi {
            estimator,
            temperature,
            learning_rate,
        } => {
            let temperature = temperature.map_or(1.0, |t| study.temperatures[t]);
            let name = &study.estimators[estimator];
            let kind = study
                .estimator_kind(name, temperature)
                .map_err(|err| fail(&err))?;
            let settings = SviSettings {
                estimator: kind,
                n_samples: study.n_samples,
                learning_rate: study.learning_rates[learning_rate],
                n_steps: study.n_steps,
                log_every: study.log_every,
                variance_floor: study.variance_floor,
                variance_draws: study.svi.variance_draws,
                variational: if study.svi.variational == "amortised" {
                    Variational::Amortised
                } else {
                    Variational::Local
                },
                batch_size: study.svi.batch_size,
                ..SviSettings::default()
            };
            run_svi(study, cell, &init, &settings).map_err(|err| fail(&err))
        }
    }
}

/// The columns every row of a cell shares, from `cell` to `n_samples`
/// (`variables` given by the caller).
fn row_prefix(study: &Study, cell: &Cell, variables: &str) -> (String, String) {
    let dataset = &study.datasets[cell.dataset];
    let n_points = dataset.data.points.nrows();
    let (method, temperature, learning_rate, eta, n_samples) = match cell.method {
        Method::Em => (
            "em".to_string(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ),
        Method::Svi {
            estimator,
            temperature,
            learning_rate,
        } => {
            let name = &study.estimators[estimator];
            (
                name.clone(),
                temperature
                    .map(|t| fmt_f64(study.temperatures[t]))
                    .unwrap_or_default(),
                fmt_f64(study.learning_rates[learning_rate]),
                if uses_eta(name) {
                    fmt_f64(study.eta)
                } else {
                    String::new()
                },
                study.n_samples.to_string(),
            )
        }
    };
    let results = format!(
        "{},{},{method},{variables},{},{},{n_points},\
         {temperature},{learning_rate},{eta},{n_samples}",
        cell.index, dataset.name, cell.seed, cell.n_components
    );
    let timings = format!(
        "{},{},{method},{},{},{temperature},{learning_rate}",
        cell.index, dataset.name, cell.seed, cell.n_components
    );
    (results, timings)
}

fn run_em(study: &Study, cell: &Cell, init: &Mixture) -> Result<CellRows, GmmError> {
    let started = Instant::now();
    let points = &study.datasets[cell.dataset].data.points;
    let settings = EmSettings {
        max_iter: study.em.max_iter,
        tol: study.em.tol,
        variance_floor: study.variance_floor,
    };
    let fit = fit_em(points, init, &settings)?;
    let seconds = started.elapsed().as_secs_f64();
    let n_floored = floored_components(&fit.mixture, study.variance_floor).len();
    let (prefix, timing_prefix) = row_prefix(study, cell, "");
    let mut rows = CellRows::default();
    let last = fit.log_lik_trace.len().saturating_sub(1);
    for (iteration, &log_lik) in fit.log_lik_trace.iter().enumerate() {
        let floored = if iteration == last {
            n_floored.to_string()
        } else {
            String::new()
        };
        let value = fmt_f64(log_lik);
        rows.results.push_str(&format!(
            "{prefix},{iteration},{value},{value},,,{floored}\n"
        ));
    }
    rows.timings
        .push_str(&format!("{timing_prefix},{last},{}\n", fmt_f64(seconds)));
    let final_log_lik = fit.log_lik_trace.last().copied().unwrap_or(f64::NAN);
    rows.fits = fit_rows(
        &timing_prefix,
        &fit.mixture,
        final_log_lik / points.nrows() as f64,
    );
    Ok(rows)
}

fn run_svi(
    study: &Study,
    cell: &Cell,
    init: &Mixture,
    settings: &SviSettings,
) -> Result<CellRows, GmmError> {
    let points = &study.datasets[cell.dataset].data.points;
    let mut rng = cell_stream(study.master_seed, cell.seed, &cell_key(study, cell));
    let started = Instant::now();
    let mut logs: Vec<(SviLog, f64)> = Vec::new();
    let outcome = fit_svi(points, init, settings, &mut rng, &mut |log| {
        logs.push((*log, started.elapsed().as_secs_f64()));
    })?;
    let n_floored = floored_components(&outcome.mixture, study.variance_floor).len();
    let (prefix, timing_prefix) = row_prefix(study, cell, outcome.variables.name());
    let mut rows = CellRows::default();
    for (position, (log, seconds)) in logs.iter().enumerate() {
        let floored = if position + 1 == logs.len() {
            n_floored.to_string()
        } else {
            String::new()
        };
        rows.results.push_str(&format!(
            "{prefix},{},{},{},{},{},{floored}\n",
            log.step,
            fmt_f64(log.elbo),
            fmt_f64(log.log_lik),
            fmt_opt(log.grad_variance),
            log.n_evals
        ));
        rows.timings.push_str(&format!(
            "{timing_prefix},{},{}\n",
            log.step,
            fmt_f64(*seconds)
        ));
    }
    let final_log_lik = logs.last().map_or(f64::NAN, |(log, _)| log.log_lik);
    rows.fits = fit_rows(
        &timing_prefix,
        &outcome.mixture,
        final_log_lik / points.nrows() as f64,
    );
    Ok(rows)
}
