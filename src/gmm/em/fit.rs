//! The EM fit: settings, restarts and the choice of the best run.

use ndarray::{Array2, ArrayView2};
use rand::Rng;

use super::covariance::{CovarianceType, Covariances};
use super::init::{Init, data_covariance, distinct_indices, kmeans_plus_plus};
use super::model::GaussianMixture;
use super::report::{ComponentReport, EmWarning, finish};
use super::run::{RunContext, RunOutcome, Start, run_from_start};
use crate::gmm::{GmmError, validate};
/// Settings of an EM fit.
#[derive(Debug, Clone, PartialEq)]
pub struct EmConfig {
    /// Number of components `K` (at least 1).
    pub n_components: usize,
    /// Shape of the covariances.
    pub covariance_type: CovarianceType,
    /// How each restart chooses its starting means.
    pub init: Init,
    /// Restarts (at least 1); the best final log-likelihood wins.
    pub n_init: usize,
    /// Added to every covariance's diagonal (at least 0).
    pub reg_covar: f64,
    /// Also added to the diagonal, times each feature's variance in the
    /// data (at least 0; 0 turns it off).
    pub reg_covar_relative: f64,
    /// Stop when `|Δ Σ_n log p(x_n)| / N < tol` (at least 0; 0 runs to
    /// `max_iter`).
    pub tol: f64,
    /// Iteration limit (at least 1).
    pub max_iter: usize,
}

impl EmConfig {
    /// `n_components` full-covariance components, k-means++ seeding, one
    /// run, `reg_covar = 1e-6`, no relative floor, `tol = 1e-8` per point,
    /// at most 1000 iterations.
    pub fn new(n_components: usize) -> Self {
        Self {
            n_components,
            covariance_type: CovarianceType::Full,
            init: Init::KMeansPlusPlus,
            n_init: 1,
            reg_covar: 1e-6,
            reg_covar_relative: 0.0,
            tol: 1e-8,
            max_iter: 1000,
        }
    }
}

/// The result of an EM fit: everything comes from the best restart.
#[derive(Debug, Clone)]
pub struct EmResult {
    /// The fitted model.
    pub model: GaussianMixture,
    /// `Σ_n log p(x_n)` under `model`.
    pub log_lik: f64,
    /// `Σ_n log p(x_n)` after each iteration (index 0: the start).
    pub log_lik_trace: Vec<f64>,
    /// Iterations run.
    pub n_iter: usize,
    /// Whether the tolerance was met before `max_iter`.
    pub converged: bool,
    /// Per-component findings.
    pub components: Vec<ComponentReport>,
    /// Warnings about the fit (never fatal).
    pub warnings: Vec<EmWarning>,
    /// Which restart won (from 0).
    pub best_restart: usize,
    /// The final log-likelihood of every restart.
    pub restart_log_liks: Vec<f64>,
}

/// Fits a Gaussian mixture by EM with `config.n_init` restarts drawn from
/// `rng`; returns the best run.
///
/// ```text
/// E-step:  r_nk = π_k N(x_n; μ_k, Σ_k) / Σ_j π_j N(x_n; μ_j, Σ_j)
/// M-step:  N_k = Σ_n r_nk,  π_k = N_k / N,  μ_k = Σ_n r_nk x_n / N_k
///          Σ_k = Σ_n r_nk (x_n − μ_k)(x_n − μ_k)ᵀ / N_k + diag(reg)
/// ```
///
/// (diag keeps the diagonal, spherical its mean, tied pools all
/// components and divides by N).
///
/// # Errors
///
/// [`GmmError`] on invalid settings or data (checked before fitting), or
/// a collapse with no regularisation.
pub fn fit_gmm<R: Rng + ?Sized>(
    points: &Array2<f64>,
    config: &EmConfig,
    rng: &mut R,
) -> Result<EmResult, GmmError> {
    check_config(points.view(), config)?;
    let standard = points.as_standard_layout();
    let data = standard.as_slice().expect("standard layout");
    let n_dims = points.ncols();
    let (_, data_cov) = data_covariance(points.view());
    let data_var: Vec<f64> = (0..n_dims).map(|d| data_cov[[d, d]]).collect();
    let reg: Vec<f64> = data_var
        .iter()
        .map(|v| config.reg_covar + config.reg_covar_relative * v)
        .collect();
    let context = RunContext {
        data,
        n_dims,
        reg,
        data_var,
        tol: config.tol,
        max_iter: config.max_iter,
    };
    let mut best: Option<(usize, RunOutcome)> = None;
    let mut restart_log_liks = Vec::with_capacity(config.n_init);
    for restart in 0..config.n_init {
        let means = start_means(points.view(), config, rng);
        let start = data_start(means, &data_cov, &context.reg, config.covariance_type);
        let outcome = run_from_start(&context, start)?;
        let log_lik = final_log_lik(&outcome);
        restart_log_liks.push(log_lik);
        if best
            .as_ref()
            .is_none_or(|(_, b)| log_lik > final_log_lik(b))
        {
            best = Some((restart, outcome));
        }
    }
    let (best_restart, outcome) = best.expect("n_init >= 1");
    Ok(finish(
        points.view(),
        config,
        &context,
        outcome,
        best_restart,
        restart_log_liks,
    ))
}

pub(crate) fn final_log_lik(outcome: &RunOutcome) -> f64 {
    *outcome
        .trace
        .last()
        .expect("trace starts with the start's value")
}

fn check_config(points: ArrayView2<f64>, config: &EmConfig) -> Result<(), GmmError> {
    validate::check_points(points, config.n_components)?;
    validate::check_non_negative("reg_covar", config.reg_covar)?;
    validate::check_non_negative("reg_covar_relative", config.reg_covar_relative)?;
    validate::check_non_negative("tol", config.tol)?;
    for (field, value) in [("n_init", config.n_init), ("max_iter", config.max_iter)] {
        if value == 0 {
            return Err(GmmError::InvalidSetting {
                field,
                value: "0".to_string(),
                rule: "at least 1",
            });
        }
    }
    let n_distinct = validate::count_distinct(points, config.n_components);
    if n_distinct < config.n_components {
        return Err(GmmError::TooFewDistinct {
            n_distinct,
            n_components: config.n_components,
        });
    }
    if let Init::Means(means) = &config.init {
        if means.dim() != (config.n_components, points.ncols()) {
            return Err(GmmError::InitMeansShape {
                expected: (config.n_components, points.ncols()),
                found: means.dim(),
            });
        }
        if let Some(((row, column), &value)) = means.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(GmmError::InitMeansNonFinite { row, column, value });
        }
    }
    Ok(())
}

fn start_means<R: Rng + ?Sized>(
    points: ArrayView2<f64>,
    config: &EmConfig,
    rng: &mut R,
) -> Array2<f64> {
    let indices = match &config.init {
        Init::Means(means) => return means.clone(),
        Init::KMeansPlusPlus => kmeans_plus_plus(points, config.n_components, rng),
        Init::RandomFromData => distinct_indices(points, config.n_components, rng),
    };
    let mut means = Array2::zeros((indices.len(), points.ncols()));
    for (k, &n) in indices.iter().enumerate() {
        means.row_mut(k).assign(&points.row(n));
    }
    means
}

/// Equal weights and the data's covariance (of the given type) plus the
/// regularisation for every component.
fn data_start(
    means: Array2<f64>,
    data_cov: &Array2<f64>,
    reg: &[f64],
    covariance_type: CovarianceType,
) -> Start {
    let (n_components, n_dims) = means.dim();
    let mut regularised = data_cov.clone();
    for (d, r) in reg.iter().enumerate() {
        regularised[[d, d]] += r;
    }
    let diagonal: Vec<f64> = (0..n_dims).map(|d| regularised[[d, d]]).collect();
    let covariances = match covariance_type {
        CovarianceType::Full => Covariances::Full(vec![regularised; n_components]),
        CovarianceType::Tied => Covariances::Tied(regularised),
        CovarianceType::Diag => {
            Covariances::Diag(Array2::from_shape_fn((n_components, n_dims), |(_, d)| {
                diagonal[d]
            }))
        }
        CovarianceType::Spherical => {
            let mean = diagonal.iter().sum::<f64>() / n_dims as f64;
            Covariances::Spherical(vec![mean; n_components])
        }
    };
    Start {
        weights: vec![1.0 / n_components as f64; n_components],
        means,
        covariances,
    }
}
