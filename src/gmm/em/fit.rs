//! The EM fit: settings, restarts, the iteration loop and the M-step.

use std::fmt;

use ndarray::{Array2, ArrayView2};
use rand::Rng;

use super::covariance::{CovarianceType, Covariances, NotPositiveDefinite, Precision};
use super::init::{Init, data_covariance, distinct_indices, kmeans_plus_plus};
use super::model::GaussianMixture;
use super::passes::{Kernel, Moments, e_step, scatter};
use super::{COLLAPSE_RATIO, EMPTY_COUNT};
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

/// What the fit found out about one component of the returned model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ComponentReport {
    /// `N_k = Σ_n r_nk` under the returned model.
    pub effective_count: f64,
    /// `N_k <= EMPTY_COUNT`: kept where it was, weight `N_k / N`.
    pub empty: bool,
    /// `N_k <= 1`: at most one effective point.
    pub at_most_one_point: bool,
    /// Some variance is within 1 % of the regularisation added to it.
    pub floored: bool,
    /// The mean lies outside the data's bounding box.
    pub outside_data_box: bool,
}

/// Something the caller should know about a returned fit.
#[derive(Debug, Clone, PartialEq)]
pub enum EmWarning {
    /// `max_iter` was reached before the tolerance.
    NotConverged {
        /// The iteration limit.
        max_iter: usize,
        /// The last per-point change of the log-likelihood.
        last_change: f64,
    },
    /// The absolute `reg_covar` exceeds 1 % of a feature's variance, so it
    /// may merge clusters.
    FloorAboveVariance {
        /// The feature (column, from 0).
        column: usize,
        /// The absolute floor.
        reg_covar: f64,
        /// The feature's variance in the data.
        variance: f64,
    },
    /// A component ended empty (see the module's policy).
    EmptyComponent {
        /// The component.
        component: usize,
    },
    /// A component's variance sits at the floor.
    FlooredComponent {
        /// The component.
        component: usize,
    },
    /// A component's mean lies outside the data's bounding box.
    OutsideDataBox {
        /// The component.
        component: usize,
    },
}

impl fmt::Display for EmWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotConverged {
                max_iter,
                last_change,
            } => write!(
                f,
                "not converged after max_iter = {max_iter} iterations (last change \
                 {last_change:e} per point); raise max_iter or tol"
            ),
            Self::FloorAboveVariance {
                column,
                reg_covar,
                variance,
            } => write!(
                f,
                "reg_covar = {reg_covar:e} exceeds 1% of column {column}'s variance \
                 {variance:e}; lower reg_covar or use reg_covar_relative"
            ),
            Self::EmptyComponent { component } => {
                write!(
                    f,
                    "component {component} is empty; kept in place with weight ~0"
                )
            }
            Self::FlooredComponent { component } => {
                write!(
                    f,
                    "component {component} has a variance at the floor (collapsed)"
                )
            }
            Self::OutsideDataBox { component } => {
                write!(
                    f,
                    "component {component}'s mean lies outside the data's bounding box"
                )
            }
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

/// A starting model for one run.
#[derive(Debug, Clone)]
pub(crate) struct Start {
    pub(crate) weights: Vec<f64>,
    pub(crate) means: Array2<f64>,
    pub(crate) covariances: Covariances,
}

/// The data-derived quantities every run shares.
pub(crate) struct RunContext<'a> {
    pub(crate) data: &'a [f64],
    pub(crate) n_dims: usize,
    /// Regularisation added to each feature's diagonal.
    pub(crate) reg: Vec<f64>,
    /// Each feature's variance in the data.
    pub(crate) data_var: Vec<f64>,
    pub(crate) tol: f64,
    pub(crate) max_iter: usize,
}

/// One run's outcome (before flags and warnings).
pub(crate) struct RunOutcome {
    pub(crate) model: GaussianMixture,
    pub(crate) trace: Vec<f64>,
    pub(crate) n_iter: usize,
    pub(crate) converged: bool,
    pub(crate) counts: Vec<f64>,
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
    let (n_points, n_dims) = points.dim();
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
    let mut resp = vec![0.0; n_points * config.n_components];
    let mut best: Option<(usize, RunOutcome)> = None;
    let mut restart_log_liks = Vec::with_capacity(config.n_init);
    for restart in 0..config.n_init {
        let means = start_means(points.view(), config, rng);
        let start = data_start(means, &data_cov, &context.reg, config.covariance_type);
        let outcome = run_from_start(&context, start, &mut resp)?;
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

fn final_log_lik(outcome: &RunOutcome) -> f64 {
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

fn not_positive_definite(error: NotPositiveDefinite) -> GmmError {
    GmmError::NotPositiveDefinite {
        component: error.component,
    }
}

/// Runs EM from `start` until the tolerance or `max_iter`.
pub(crate) fn run_from_start(
    context: &RunContext,
    start: Start,
    resp: &mut [f64],
) -> Result<RunOutcome, GmmError> {
    let n_points = context.data.len() / context.n_dims;
    let n_components = start.weights.len();
    let mut state = start;
    let mut moments = expectation(context, &state, resp)?;
    let mut trace = vec![moments.log_lik];
    let (mut n_iter, mut converged) = (0, false);
    for iteration in 1..=context.max_iter {
        maximisation(context, &mut state, &moments, resp)?;
        let next = expectation(context, &state, resp)?;
        let change = (next.log_lik - moments.log_lik).abs() / n_points as f64;
        trace.push(next.log_lik);
        n_iter = iteration;
        moments = next;
        if change < context.tol {
            converged = true;
            break;
        }
    }
    let model = GaussianMixture::from_parts(state.weights, state.means, state.covariances)
        .map_err(not_positive_definite)?;
    debug_assert_eq!(model.n_components(), n_components);
    Ok(RunOutcome {
        model,
        trace,
        n_iter,
        converged,
        counts: moments.counts,
    })
}

fn expectation(context: &RunContext, state: &Start, resp: &mut [f64]) -> Result<Moments, GmmError> {
    let (n_components, n_dims) = state.means.dim();
    let precision =
        Precision::new(&state.covariances, n_components, n_dims).map_err(not_positive_definite)?;
    let log_weights: Vec<f64> = state.weights.iter().map(|w| w.ln()).collect();
    let means = state
        .means
        .as_slice()
        .expect("owned means are standard layout");
    let kernel = Kernel::new(&log_weights, means, &precision);
    Ok(e_step(context.data, &kernel, resp))
}

/// The M-step (see [`fit_gmm`]), with the empty-component policy.
fn maximisation(
    context: &RunContext,
    state: &mut Start,
    moments: &Moments,
    resp: &[f64],
) -> Result<(), GmmError> {
    let (n_components, n_dims) = state.means.dim();
    let total: f64 = moments.counts.iter().sum();
    let empty: Vec<bool> = moments.counts.iter().map(|&c| c <= EMPTY_COUNT).collect();
    let sums = moments.sums.chunks(n_dims);
    for (k, (&count, sums)) in moments.counts.iter().zip(sums).enumerate() {
        state.weights[k] = count / total;
        if count > EMPTY_COUNT {
            for (m, &s) in state.means.row_mut(k).iter_mut().zip(sums) {
                *m = s / count;
            }
        }
    }
    let weight_sum: f64 = state.weights.iter().sum();
    state.weights.iter_mut().for_each(|w| *w /= weight_sum);

    let covariance_type = state.covariances.covariance_type();
    let full = matches!(covariance_type, CovarianceType::Full | CovarianceType::Tied);
    let means = state
        .means
        .as_slice()
        .expect("owned means are standard layout");
    let scatters = scatter(context.data, resp, means, n_components, full);
    let unregularised = context.reg.iter().all(|&r| r == 0.0);
    let counts = &moments.counts;
    let n_points = context.data.len() / n_dims;
    match &mut state.covariances {
        Covariances::Full(matrices) => {
            let block = n_dims * n_dims;
            for (k, matrix) in matrices.iter_mut().enumerate() {
                if empty[k] {
                    continue;
                }
                if unregularised && counts[k] < (n_dims + 1) as f64 {
                    return Err(GmmError::DegenerateCovariance {
                        component: k,
                        effective_count: counts[k],
                        needed: n_dims + 1,
                    });
                }
                let s = &scatters[k * block..(k + 1) * block];
                fill_matrix(matrix, s, counts[k], &context.reg);
            }
        }
        Covariances::Tied(matrix) => {
            let block = n_dims * n_dims;
            let mut pooled = vec![0.0; block];
            for s in scatters.chunks(block) {
                pooled.iter_mut().zip(s).for_each(|(p, v)| *p += v);
            }
            fill_matrix(matrix, &pooled, n_points as f64, &context.reg);
        }
        Covariances::Diag(variances) => {
            for k in (0..n_components).filter(|&k| !empty[k]) {
                for d in 0..n_dims {
                    variances[[k, d]] = scatters[k * n_dims + d] / counts[k] + context.reg[d];
                }
            }
        }
        Covariances::Spherical(variances) => {
            for k in (0..n_components).filter(|&k| !empty[k]) {
                let sum: f64 = (0..n_dims)
                    .map(|d| scatters[k * n_dims + d] / counts[k] + context.reg[d])
                    .sum();
                variances[k] = sum / n_dims as f64;
            }
        }
    }
    if unregularised {
        check_collapse(context, &state.covariances, &empty)?;
    }
    Ok(())
}

fn fill_matrix(matrix: &mut Array2<f64>, scatter: &[f64], count: f64, reg: &[f64]) {
    let n_dims = reg.len();
    for i in 0..n_dims {
        for j in 0..n_dims {
            matrix[[i, j]] = scatter[i * n_dims + j] / count;
        }
        matrix[[i, i]] += reg[i];
    }
}

/// With no regularisation: a variance at or below `COLLAPSE_RATIO` times
/// the feature's variance is a collapse.
fn check_collapse(
    context: &RunContext,
    covariances: &Covariances,
    empty: &[bool],
) -> Result<(), GmmError> {
    for (k, _) in empty.iter().enumerate().filter(|(_, e)| !**e) {
        for (d, &data_var) in context.data_var.iter().enumerate() {
            let variance = covariances.variance(k, d);
            let above = variance > COLLAPSE_RATIO * data_var;
            if !above {
                return Err(GmmError::Collapsed {
                    component: k,
                    dim: d,
                    variance,
                });
            }
        }
    }
    Ok(())
}

/// Flags and warnings for the winning run.
fn finish(
    points: ArrayView2<f64>,
    config: &EmConfig,
    context: &RunContext,
    outcome: RunOutcome,
    best_restart: usize,
    restart_log_liks: Vec<f64>,
) -> EmResult {
    let mut warnings = Vec::new();
    for (column, &variance) in context.data_var.iter().enumerate() {
        if config.reg_covar > 0.01 * variance {
            warnings.push(EmWarning::FloorAboveVariance {
                column,
                reg_covar: config.reg_covar,
                variance,
            });
        }
    }
    if !outcome.converged {
        let n = outcome.trace.len();
        let last_change = if n >= 2 {
            (outcome.trace[n - 1] - outcome.trace[n - 2]).abs() / points.nrows() as f64
        } else {
            f64::NAN
        };
        warnings.push(EmWarning::NotConverged {
            max_iter: config.max_iter,
            last_change,
        });
    }
    let components = component_reports(points, &outcome.model, &outcome.counts, &context.reg);
    for (component, report) in components.iter().enumerate() {
        if report.empty {
            warnings.push(EmWarning::EmptyComponent { component });
        } else if report.floored {
            warnings.push(EmWarning::FlooredComponent { component });
        }
        if report.outside_data_box {
            warnings.push(EmWarning::OutsideDataBox { component });
        }
    }
    EmResult {
        log_lik: final_log_lik(&outcome),
        log_lik_trace: outcome.trace,
        n_iter: outcome.n_iter,
        converged: outcome.converged,
        model: outcome.model,
        components,
        warnings,
        best_restart,
        restart_log_liks,
    }
}

/// The per-component findings of a model with effective `counts`.
pub(crate) fn component_reports(
    points: ArrayView2<f64>,
    model: &GaussianMixture,
    counts: &[f64],
    reg: &[f64],
) -> Vec<ComponentReport> {
    let n_dims = points.ncols();
    let lows: Vec<f64> = points
        .columns()
        .into_iter()
        .map(|c| c.fold(f64::INFINITY, |a, &b| a.min(b)))
        .collect();
    let highs: Vec<f64> = points
        .columns()
        .into_iter()
        .map(|c| c.fold(f64::NEG_INFINITY, |a, &b| a.max(b)))
        .collect();
    counts
        .iter()
        .enumerate()
        .map(|(k, &count)| {
            let mean = model.means().row(k);
            ComponentReport {
                effective_count: count,
                empty: count <= EMPTY_COUNT,
                at_most_one_point: count <= 1.0 + 1e-9,
                floored: (0..n_dims)
                    .any(|d| reg[d] > 0.0 && model.covariances().variance(k, d) <= 1.01 * reg[d]),
                outside_data_box: (0..n_dims).any(|d| mean[d] < lows[d] || mean[d] > highs[d]),
            }
        })
        .collect()
}
