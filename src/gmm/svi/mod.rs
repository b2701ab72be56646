//! Stochastic variational inference for Gaussian mixtures (maths.md §6).
//!
//! Variational factors `q(c_n) = softmax(φ_n)` (for K = 2 a single logit
//! per point, `q(c_n = second) = sigmoid(φ_n)`, and the binary
//! estimators), with `φ_n` free per point or amortised as `W z_n + β`,
//! maximised jointly with the model by Adam on
//!
//! ```text
//! ELBO = Σ_n E_{q(c_n)}[ log p(x_n, c_n) ] + Σ_n H(q(c_n))
//! ```
//!
//! - `φ` gets the chosen estimator's gradient of `E_q[f]` with
//!   `f(c) = log p(x_n, c)` ([`PointObjective`](crate::gmm::PointObjective))
//!   plus the exact gradient of the analytic entropy;
//! - the model (mixture logits `α`, means `μ`, diagonal log standard
//!   deviations or Cholesky factors with a log-diagonal) gets
//!   `∇ log p(x_n, c_n)` at assignments `c_n` drawn from `q(c_n)`
//!   (`n_samples` draws averaged), or at the exact expectation over `q`
//!   when the estimator is `exact`, so that the `exact` run follows the
//!   true ELBO gradient;
//! - mini-batches of `B` points scale every term by `N / B`.
//!
//! After each step every log-diagonal scale is raised to
//! `½ log(variance_floor)` if it fell below.

mod convergence;
mod gradient;
mod problem;
mod scale;

use ndarray::Array2;
use rand::Rng;

pub use convergence::{Convergence, steps_to_reach};
pub use problem::{SviProblem, Variational};
pub use scale::SviCovariance;

use super::em::GaussianMixture;
use super::model::Mixture;
use super::{GmmError, validate};
use crate::estimator::{Estimator, EstimatorKind, Variables};
use crate::optim::Adam;
use crate::rng::stream_from_seed;

/// Settings of one SVI run.
#[derive(Debug, Clone, PartialEq)]
pub struct SviSettings {
    /// The estimator of the gradient in the variational logits `φ`.
    pub estimator: EstimatorKind,
    /// Samples per gradient estimate (and assignment draws per point for
    /// the model gradient).
    pub n_samples: usize,
    /// Adam learning rate, shared by the model and `φ`.
    pub learning_rate: f64,
    /// Optimisation steps.
    pub n_steps: usize,
    /// Log every this many steps (and at step 0 and the last step).
    pub log_every: usize,
    /// Floor on every variance.
    pub variance_floor: f64,
    /// Extra estimator draws per point at each logged step for the
    /// gradient-variance estimate ([`SviLog::grad_variance`]); 0 turns it
    /// off, otherwise at least 2.
    pub variance_draws: usize,
    /// Diagonal or full covariances.
    pub covariance: SviCovariance,
    /// Local or amortised variational logits.
    pub variational: Variational,
    /// Points per step (`None`: every point).
    pub batch_size: Option<usize>,
}

impl Default for SviSettings {
    /// REINFORCE, one sample, learning rate 0.01, 1000 steps logged every
    /// 25, variance floor 1e-6, no variance draws, diagonal covariances,
    /// local logits, full batches.
    fn default() -> Self {
        Self {
            estimator: EstimatorKind::Reinforce,
            n_samples: 1,
            learning_rate: 0.01,
            n_steps: 1000,
            log_every: 25,
            variance_floor: 1e-6,
            variance_draws: 0,
            covariance: SviCovariance::Diag,
            variational: Variational::Local,
            batch_size: None,
        }
    }
}

/// One logged point of an SVI run (totals over data points).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SviLog {
    /// The step (0 is before the first update).
    pub step: usize,
    /// The exact ELBO.
    pub elbo: f64,
    /// The exact `Σ_n log p(x_n)`.
    pub log_lik: f64,
    /// Evaluations of `f` used by the `φ` estimator so far.
    pub n_evals: u64,
    /// Estimated variance of the `φ`-gradient estimator at this step,
    /// summed over all per-point coordinates of `φ` (from
    /// `variance_draws` extra draws per point that do not feed the
    /// optimiser); `None` when turned off.
    pub grad_variance: Option<f64>,
}

/// The result of an SVI run.
#[derive(Debug, Clone)]
pub struct SviOutcome {
    /// Binary (K = 2) or categorical (K > 2) variables.
    pub variables: Variables,
    /// The final model's diagonal view (for the full family, the marginal
    /// standard deviations).
    pub mixture: Mixture,
    /// The final model in its own family.
    pub model: GaussianMixture,
    /// The final per-point logits, `N × (1 or K)` row-major.
    pub phi: Vec<f64>,
    /// The final parameter vector (layout of [`SviProblem`]).
    pub params: Vec<f64>,
}

/// Fits a mixture by SVI from `init` (with zero variational parameters,
/// so `φ = 0`), calling `on_log` at step 0, every `log_every` steps and at
/// the last step.
///
/// # Errors
///
/// [`GmmError`] on invalid settings or data, K < 2, an estimator that does
/// not apply to the variables, or an `init` whose dimension differs from
/// the data's.
pub fn fit_svi<R: Rng + ?Sized>(
    points: &Array2<f64>,
    init: &Mixture,
    settings: &SviSettings,
    rng: &mut R,
    on_log: &mut dyn FnMut(&SviLog),
) -> Result<SviOutcome, GmmError> {
    check_settings(settings)?;
    if init.n_dims() != points.ncols() {
        return Err(GmmError::DimensionMismatch {
            what: "initial mixture",
            expected: points.ncols(),
            found: init.n_dims(),
        });
    }
    let standard = points.as_standard_layout();
    let mut problem = SviProblem::new(standard.view(), init.n_components())?
        .with_covariance(settings.covariance)
        .with_variational(settings.variational)
        .with_batch_size(settings.batch_size)
        .with_assignment_draws(settings.n_samples);
    let mut estimator = Estimator::try_new(
        settings.estimator.clone(),
        problem.variables(),
        settings.n_samples,
    )?;
    let variational = vec![0.0; problem.n_variational()];
    let mut params = problem.pack(init, &variational);
    problem.apply_floor(&mut params, settings.variance_floor);
    let mut grad = vec![0.0; params.len()];
    let mut adam = Adam::new(params.len(), settings.learning_rate);
    // Variance probes use their own stream, so turning them on does not
    // change the optimisation's draws.
    let mut probe_rng = stream_from_seed(rng.next_u64());
    let mut n_evals: u64 = 0;

    for step in 0..=settings.n_steps {
        if step % settings.log_every == 0 || step == settings.n_steps {
            let (elbo, log_lik) = problem.exact_elbo(&params);
            let grad_variance = (settings.variance_draws > 0).then(|| {
                let mut probe = estimator.clone();
                let draws = settings.variance_draws;
                problem.grad_variance(&params, &mut probe, draws, &mut probe_rng)
            });
            on_log(&SviLog {
                step,
                elbo,
                log_lik,
                n_evals,
                grad_variance,
            });
        }
        if step == settings.n_steps {
            break;
        }
        n_evals += problem.gradient(&params, &mut estimator, rng, &mut grad) as u64;
        adam.ascend(&mut params, &grad);
        problem.apply_floor(&mut params, settings.variance_floor);
    }
    Ok(SviOutcome {
        variables: problem.variables(),
        mixture: problem.mixture(&params),
        model: problem.model(&params)?,
        phi: problem.phi(&params),
        params,
    })
}

fn check_settings(settings: &SviSettings) -> Result<(), GmmError> {
    validate::check_positive("learning_rate", settings.learning_rate)?;
    validate::check_non_negative("variance_floor", settings.variance_floor)?;
    let counts = [
        ("n_samples", settings.n_samples),
        ("log_every", settings.log_every),
    ];
    for (field, value) in counts {
        if value == 0 {
            return Err(GmmError::InvalidSetting {
                field,
                value: "0".to_string(),
                rule: "at least 1",
            });
        }
    }
    if settings.variance_draws == 1 {
        return Err(GmmError::InvalidSetting {
            field: "variance_draws",
            value: "1".to_string(),
            rule: "0 (off) or at least 2",
        });
    }
    if settings.batch_size == Some(0) {
        return Err(GmmError::InvalidSetting {
            field: "batch_size",
            value: "0".to_string(),
            rule: "at least 1 (or absent for full batches)",
        });
    }
    Ok(())
}
