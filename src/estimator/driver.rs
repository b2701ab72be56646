//! [`Estimator`]: an estimator kind bound to a kind of variable, with the
//! buffers and state (baseline, adapted parameters) it keeps between calls.

use rand::Rng;

use super::arm::{self, Antithetic};
use super::batch::BatchBuffers;
use super::kind::{EstimatorError, EstimatorKind};
use super::rebar::{self, RebarParams};
use super::reinforce::{self, Baseline};
use super::relaxed::{self, Relaxed};
use super::variable::{Bernoulli, Categorical, VariableKind};
use super::workspace::Workspace;
use super::{Estimate, Objective, Variables, exact_gradient};
use crate::optim::Adam;

/// The adapted parameters of `rebar-adaptive`.
#[derive(Debug, Clone)]
struct Adaptive {
    /// `[η, log λ]`.
    params: [f64; 2],
    /// Range of `log λ`.
    log_lambda_range: (f64, f64),
    /// Adam on `[η, log λ]`, descending the variance.
    adam: Adam,
    /// Running sums of the sample's `∂ĝ/∂η` and `∂ĝ/∂λ` over one call.
    d_eta_mean: Vec<f64>,
    /// See `d_eta_mean`.
    d_lambda_mean: Vec<f64>,
}

/// A gradient estimator for one kind of variable, with whatever state it
/// carries between calls (baselines, adapted parameters) and reusable
/// buffers.
#[derive(Debug, Clone)]
pub struct Estimator {
    pub(super) kind: EstimatorKind,
    pub(super) variables: Variables,
    pub(super) n_samples: usize,
    workspace: Workspace,
    /// Buffers of [`Estimator::estimate_batch`].
    pub(super) batch: BatchBuffers,
    /// The moving-average baseline, once a first value of `f` is seen.
    ema_baseline: Option<f64>,
    adaptive: Option<Adaptive>,
}

impl Estimator {
    /// An estimator of the given kind for blocks of `variables`, averaging
    /// `n_samples` independent single-sample estimates (0 is taken as 1).
    ///
    /// # Panics
    ///
    /// Panics where [`Estimator::try_new`] returns an error (ARM or DisARM
    /// on categorical variables, RLOO with one sample, fewer than two
    /// classes); check with [`Estimator::try_new`] on user input.
    pub fn new(kind: EstimatorKind, variables: Variables, n_samples: usize) -> Self {
        match Self::try_new(kind, variables, n_samples.max(1)) {
            Ok(estimator) => estimator,
            Err(error) => panic!("Estimator::new: {error}"),
        }
    }

    /// An estimator of the given kind for blocks of `variables`, averaging
    /// `n_samples` independent single-sample estimates.
    ///
    /// # Errors
    ///
    /// [`EstimatorError`] when the kind does not apply to the variables
    /// ([`EstimatorKind::supports`]), `n_samples` is below
    /// [`EstimatorKind::min_samples`] (or 0), a categorical variable has
    /// fewer than 2 classes, or a setting is out of range
    /// ([`EstimatorKind::validate`]).
    pub fn try_new(
        kind: EstimatorKind,
        variables: Variables,
        n_samples: usize,
    ) -> Result<Self, EstimatorError> {
        kind.validate()?;
        if let Variables::Categorical { n_classes } = variables
            && n_classes < 2
        {
            return Err(EstimatorError::TooFewClasses { n_classes });
        }
        if !kind.supports(variables) {
            return Err(EstimatorError::Unsupported {
                estimator: kind.name(),
                variables: variables.name(),
            });
        }
        let min = kind.min_samples();
        if n_samples < min {
            return Err(EstimatorError::TooFewSamples {
                estimator: kind.name(),
                n_samples,
                min,
            });
        }
        let adaptive = match kind {
            EstimatorKind::RebarAdaptive {
                eta,
                temperature,
                log_lambda_min,
                log_lambda_max,
                adapt_rate,
                ..
            } => Some(Adaptive {
                params: [eta, temperature.ln()],
                log_lambda_range: (log_lambda_min, log_lambda_max),
                adam: Adam::new(2, adapt_rate),
                d_eta_mean: Vec::new(),
                d_lambda_mean: Vec::new(),
            }),
            _ => None,
        };
        Ok(Self {
            kind,
            variables,
            n_samples,
            workspace: Workspace::default(),
            batch: BatchBuffers::default(),
            ema_baseline: None,
            adaptive,
        })
    }

    /// The estimator's kind and settings.
    pub fn kind(&self) -> &EstimatorKind {
        &self.kind
    }

    /// The kind of variable the estimator serves.
    pub fn variables(&self) -> Variables {
        self.variables
    }

    /// Samples averaged per estimate.
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// The current control-variate scale `η` (adapted for
    /// `rebar-adaptive`), if the estimator has one.
    pub fn current_eta(&self) -> Option<f64> {
        match (&self.kind, &self.adaptive) {
            (_, Some(adaptive)) => Some(adaptive.params[0]),
            (EstimatorKind::Rebar { eta, .. }, None) => Some(*eta),
            _ => None,
        }
    }

    /// The current temperature `λ` (adapted for `rebar-adaptive`), if the
    /// estimator has one.
    pub fn current_temperature(&self) -> Option<f64> {
        match (&self.kind, &self.adaptive) {
            (_, Some(adaptive)) => Some(adaptive.params[1].exp()),
            (EstimatorKind::Rebar { temperature, .. }, None)
            | (EstimatorKind::Gumbel { temperature }, None)
            | (EstimatorKind::StraightThrough { temperature }, None) => Some(*temperature),
            _ => None,
        }
    }

    /// Writes an estimate of `∇_φ E_{b~p(b|φ)}[f(b)]` into `grad_phi`
    /// (same length as `phi`) and returns its cost. Stateful estimators
    /// (moving-average baseline, `rebar-adaptive`) update their state
    /// after the estimate, so each estimate uses settings fixed before its
    /// draws.
    ///
    /// # Panics
    ///
    /// Panics if `grad_phi.len() != phi.len()`, or if a categorical
    /// block's length is not a multiple of its class count.
    pub fn estimate<O, R>(
        &mut self,
        phi: &[f64],
        f: &O,
        rng: &mut R,
        grad_phi: &mut [f64],
    ) -> Estimate
    where
        O: Objective + ?Sized,
        R: Rng + ?Sized,
    {
        assert_eq!(
            phi.len(),
            grad_phi.len(),
            "estimate: phi and grad_phi lengths differ"
        );
        match self.variables {
            Variables::Binary => self.estimate_with(&Bernoulli, phi, f, rng, grad_phi),
            Variables::Categorical { n_classes } => {
                assert!(
                    phi.len().is_multiple_of(n_classes),
                    "estimate: block length {} is not a multiple of {n_classes} classes",
                    phi.len()
                );
                self.estimate_with(&Categorical { n_classes }, phi, f, rng, grad_phi)
            }
        }
    }

    /// [`Estimator::estimate`] for a concrete kind of variable.
    fn estimate_with<V, O, R>(
        &mut self,
        variable: &V,
        phi: &[f64],
        f: &O,
        rng: &mut R,
        grad_phi: &mut [f64],
    ) -> Estimate
    where
        V: VariableKind,
        O: Objective + ?Sized,
        R: Rng + ?Sized,
    {
        let m = self.n_samples;
        self.workspace.prepare(variable, phi);
        let ws = &mut self.workspace;
        let n_evals = match self.kind {
            EstimatorKind::Exact => exact_gradient(self.variables, phi, f, grad_phi).n_evals,
            EstimatorKind::Reinforce => {
                let baseline = Baseline::Constant(0.0);
                reinforce::estimate(variable, ws, m, baseline, f, rng, grad_phi).0
            }
            EstimatorKind::ReinforceEma { decay } => {
                // Known limitation: one moving average per estimator, so a caller that
                // reuses it across different blocks (mixture points) averages their f.
                let baseline = Baseline::Constant(self.ema_baseline.unwrap_or(0.0));
                let (n, mean) = reinforce::estimate(variable, ws, m, baseline, f, rng, grad_phi);
                self.ema_baseline = Some(match self.ema_baseline {
                    Some(old) => decay * old + (1.0 - decay) * mean,
                    None => mean,
                });
                n
            }
            EstimatorKind::Rloo => {
                reinforce::estimate(variable, ws, m, Baseline::LeaveOneOut, f, rng, grad_phi).0
            }
            EstimatorKind::Rebar {
                eta,
                temperature,
                coupling,
            } => {
                let params = RebarParams {
                    eta,
                    temperature,
                    coupling,
                };
                if m == 1 {
                    let n = rebar::sample(variable, ws, phi, params, f, rng, false);
                    grad_phi.copy_from_slice(&ws.g_hat);
                    return Estimate { n_evals: n };
                }
                grad_phi.fill(0.0);
                let mut n = 0;
                for _ in 0..m {
                    n += rebar::sample(variable, ws, phi, params, f, rng, false);
                    add_scaled(grad_phi, &ws.g_hat, 1.0 / m as f64);
                }
                n
            }
            EstimatorKind::RebarAdaptive { coupling, .. } => {
                let adaptive = self
                    .adaptive
                    .as_mut()
                    .expect("rebar-adaptive estimators are built with their state");
                adaptive_estimate(variable, ws, adaptive, coupling, phi, m, f, rng, grad_phi)
            }
            EstimatorKind::Arm | EstimatorKind::Disarm => {
                let which = if self.kind == EstimatorKind::Arm {
                    Antithetic::Arm
                } else {
                    Antithetic::Disarm
                };
                // Only binary estimators reach here (checked in `try_new`);
                // the antithetic estimators take `Bernoulli` by type.
                arm::estimate(&Bernoulli, which, ws, m, f, rng, grad_phi)
            }
            EstimatorKind::Gumbel { temperature } => {
                let which = Relaxed::Gumbel;
                relaxed::estimate(variable, which, ws, phi, m, temperature, f, rng, grad_phi)
            }
            EstimatorKind::StraightThrough { temperature } => {
                let which = Relaxed::StraightThrough;
                relaxed::estimate(variable, which, ws, phi, m, temperature, f, rng, grad_phi)
            }
        };
        Estimate { n_evals }
    }
}

/// `target += scale · source`.
fn add_scaled(target: &mut [f64], source: &[f64], scale: f64) {
    for (t, &s) in target.iter_mut().zip(source) {
        *t += scale * s;
    }
}

/// One `rebar-adaptive` estimate: the mean of `m` REBAR samples at the
/// current `(η, λ)`, then one Adam step descending the summed variance,
///
/// ```text
/// ∂Var/∂η     = 2 ĝ · ∂ĝ/∂η
/// ∂Var/∂log λ = 2 ĝ · ∂ĝ/∂λ · λ
/// ```
///
/// with `log λ` clamped to its range.
#[allow(clippy::too_many_arguments)]
fn adaptive_estimate<V, O, R>(
    variable: &V,
    ws: &mut Workspace,
    adaptive: &mut Adaptive,
    coupling: super::kind::Coupling,
    phi: &[f64],
    m: usize,
    f: &O,
    rng: &mut R,
    grad_phi: &mut [f64],
) -> usize
where
    V: VariableKind,
    O: Objective + ?Sized,
    R: Rng + ?Sized,
{
    let [eta, log_lambda] = adaptive.params;
    let temperature = log_lambda.exp();
    let params = RebarParams {
        eta,
        temperature,
        coupling,
    };
    let n = phi.len();
    adaptive.d_eta_mean.clear();
    adaptive.d_eta_mean.resize(n, 0.0);
    adaptive.d_lambda_mean.clear();
    adaptive.d_lambda_mean.resize(n, 0.0);

    grad_phi.fill(0.0);
    let scale = 1.0 / m as f64;
    let mut n_evals = 0;
    for _ in 0..m {
        n_evals += rebar::sample(variable, ws, phi, params, f, rng, true);
        add_scaled(grad_phi, &ws.g_hat, scale);
        add_scaled(&mut adaptive.d_eta_mean, &ws.d_eta, scale);
        add_scaled(&mut adaptive.d_lambda_mean, &ws.d_lambda, scale);
    }

    // Single-sample gradient of the summed variance in (η, log λ).
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(&x, &y)| x * y).sum::<f64>();
    let grad_eta = 2.0 * dot(grad_phi, &adaptive.d_eta_mean);
    let grad_log_lambda = 2.0 * dot(grad_phi, &adaptive.d_lambda_mean) * temperature;
    if grad_eta.is_finite() && grad_log_lambda.is_finite() {
        adaptive
            .adam
            .descend(&mut adaptive.params, &[grad_eta, grad_log_lambda]);
        let (low, high) = adaptive.log_lambda_range;
        adaptive.params[1] = adaptive.params[1].clamp(low, high);
    }
    n_evals
}
