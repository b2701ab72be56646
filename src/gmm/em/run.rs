//! One EM run from a given start: the iteration loop, the M-step with
//! the empty-component policy, and a public stepper for timing single
//! iterations.

use ndarray::Array2;

use super::covariance::{CovarianceType, Covariances, NotPositiveDefinite, Precision};
use super::model::GaussianMixture;
use super::passes::{Kernel, Moments, SecondMoments, e_step};
use super::{COLLAPSE_RATIO, EMPTY_COUNT};
use crate::gmm::GmmError;

/// A starting model for one run.
#[derive(Debug, Clone)]
pub(crate) struct Start {
    pub(crate) weights: Vec<f64>,
    pub(crate) means: Array2<f64>,
    pub(crate) covariances: Covariances,
}

/// The data-derived quantities every run shares.
#[derive(Debug)]
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

fn not_positive_definite(error: NotPositiveDefinite) -> GmmError {
    GmmError::NotPositiveDefinite {
        component: error.component,
    }
}

/// Runs EM from `start` until the tolerance or `max_iter`.
pub(crate) fn run_from_start(context: &RunContext, start: Start) -> Result<RunOutcome, GmmError> {
    let n_points = context.data.len() / context.n_dims;
    let n_components = start.weights.len();
    let mut state = start;
    let mut moments = expectation(context, &state)?;
    let mut trace = vec![moments.log_lik];
    let (mut n_iter, mut converged) = (0, false);
    for iteration in 1..=context.max_iter {
        maximisation(context, &mut state, &moments)?;
        let next = expectation(context, &state)?;
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

fn expectation(context: &RunContext, state: &Start) -> Result<Moments, GmmError> {
    let (n_components, n_dims) = state.means.dim();
    let precision =
        Precision::new(&state.covariances, n_components, n_dims).map_err(not_positive_definite)?;
    let log_weights: Vec<f64> = state.weights.iter().map(|w| w.ln()).collect();
    let means = state
        .means
        .as_slice()
        .expect("owned means are standard layout");
    let kernel = Kernel::new(&log_weights, means, &precision);
    let second = match state.covariances.covariance_type() {
        CovarianceType::Full | CovarianceType::Tied => SecondMoments::Full,
        CovarianceType::Diag | CovarianceType::Spherical => SecondMoments::Diagonal,
    };
    Ok(e_step(context.data, &kernel, second, None))
}

/// The M-step (see [`super::fit_gmm`]), with the empty-component policy.
fn maximisation(
    context: &RunContext,
    state: &mut Start,
    moments: &Moments,
) -> Result<(), GmmError> {
    let (n_components, n_dims) = state.means.dim();
    let old_means = state.means.clone();
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

    let scatters = recentre(moments, &old_means, &state.means);
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
                    let spread = (scatters[k * n_dims + d] / counts[k]).max(0.0);
                    variances[[k, d]] = spread + context.reg[d];
                }
            }
        }
        Covariances::Spherical(variances) => {
            for k in (0..n_components).filter(|&k| !empty[k]) {
                let sum: f64 = (0..n_dims)
                    .map(|d| (scatters[k * n_dims + d] / counts[k]).max(0.0) + context.reg[d])
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

/// The second moments about the new means, from those about the old
/// ones: `S_k − N_k δ_k δ_kᵀ` with `δ_k = μ_k' − μ_k` (the diagonal only
/// when the moments are diagonal).
fn recentre(moments: &Moments, old_means: &Array2<f64>, new_means: &Array2<f64>) -> Vec<f64> {
    let (n_components, n_dims) = old_means.dim();
    let block = moments.second.len() / n_components;
    let full = block == n_dims * n_dims;
    let mut centred = moments.second.clone();
    for k in 0..n_components {
        let count = moments.counts[k];
        let delta: Vec<f64> = (0..n_dims)
            .map(|d| new_means[[k, d]] - old_means[[k, d]])
            .collect();
        let out = &mut centred[k * block..(k + 1) * block];
        for i in 0..n_dims {
            if full {
                for j in 0..n_dims {
                    out[i * n_dims + j] -= count * delta[i] * delta[j];
                }
            } else {
                out[i] -= count * delta[i] * delta[i];
            }
        }
    }
    centred
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

/// EM one iteration at a time from a given model: for timing single
/// iterations and for callers that watch every step. Uses the same
/// E-step and M-step as [`super::fit_gmm`].
///
/// ```
/// use ndarray::array;
/// use rebar_optimizer::gmm::{Covariances, EmStepper, GaussianMixture};
///
/// let points = array![[0.0], [0.2], [0.1], [5.0], [5.3], [4.9]];
/// let start = GaussianMixture::new(
///     vec![0.5, 0.5],
///     array![[1.0], [4.0]],
///     Covariances::Diag(array![[1.0], [1.0]]),
/// )
/// .unwrap();
/// let mut stepper = EmStepper::new(&points, &start, 1e-6).unwrap();
/// let before = stepper.log_lik();
/// let after = stepper.step().unwrap();
/// assert!(after > before);
/// ```
#[derive(Debug)]
pub struct EmStepper<'a> {
    context: RunContext<'a>,
    state: Start,
    moments: Moments,
}

impl<'a> EmStepper<'a> {
    /// A stepper on `points` (row-major) from `model`, adding `reg_covar`
    /// to every covariance's diagonal in each M-step; runs the first
    /// E-step.
    ///
    /// # Errors
    ///
    /// [`GmmError`] when the data is invalid for the model (see
    /// [`super::fit_gmm`]), is not in row-major layout, or `reg_covar` is
    /// negative.
    pub fn new(
        points: &'a Array2<f64>,
        model: &GaussianMixture,
        reg_covar: f64,
    ) -> Result<Self, GmmError> {
        crate::gmm::validate::check_points(points.view(), model.n_components())?;
        crate::gmm::validate::check_non_negative("reg_covar", reg_covar)?;
        if points.ncols() != model.n_dims() {
            return Err(GmmError::DimensionMismatch {
                what: "points",
                expected: model.n_dims(),
                found: points.ncols(),
            });
        }
        let data = points.as_slice().ok_or(GmmError::InvalidSetting {
            field: "points",
            value: "a non-contiguous array".to_string(),
            rule: "in standard (row-major) layout",
        })?;
        let n_dims = points.ncols();
        let data_var = crate::gmm::model::column_sd(points.view())
            .iter()
            .map(|s| s * s)
            .collect();
        let context = RunContext {
            data,
            n_dims,
            reg: vec![reg_covar; n_dims],
            data_var,
            tol: 0.0,
            max_iter: usize::MAX,
        };
        let state = Start {
            weights: model.weights().to_vec(),
            means: model.means().clone(),
            covariances: model.covariances().clone(),
        };
        let moments = expectation(&context, &state)?;
        Ok(Self {
            context,
            state,
            moments,
        })
    }

    /// `Σ_n log p(x_n)` under the current model.
    pub fn log_lik(&self) -> f64 {
        self.moments.log_lik
    }

    /// One iteration (M-step, then the E-step of the new model); returns
    /// the new `Σ_n log p(x_n)`.
    ///
    /// # Errors
    ///
    /// [`GmmError`] on a collapse with no regularisation.
    pub fn step(&mut self) -> Result<f64, GmmError> {
        maximisation(&self.context, &mut self.state, &self.moments)?;
        self.moments = expectation(&self.context, &self.state)?;
        Ok(self.moments.log_lik)
    }

    /// The current model.
    ///
    /// # Errors
    ///
    /// [`GmmError::NotPositiveDefinite`] if a covariance lost positive
    /// definiteness (not expected after a successful step).
    pub fn model(&self) -> Result<GaussianMixture, GmmError> {
        let state = self.state.clone();
        GaussianMixture::from_parts(state.weights, state.means, state.covariances)
            .map_err(not_positive_definite)
    }
}
