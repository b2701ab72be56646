//! Stochastic variational inference for the diagonal mixture (maths.md §6).
//!
//! Local variational factors `q(c_n) = softmax(φ_n)` (for K = 2 a single
//! logit per point, `q(c_n = second) = sigmoid(φ_n)`, and the binary
//! estimators), maximised jointly with the model by Adam on
//!
//! ```text
//! ELBO = Σ_n E_{q(c_n)}[ log p(x_n, c_n) ] + Σ_n H(q(c_n))
//! ```
//!
//! - `φ_n` gets the chosen estimator's gradient of `E_q[f]` with
//!   `f(c) = log p(x_n, c)` (see [`PointObjective`]) plus the exact
//!   gradient of the analytic entropy;
//! - the model (mixture logits `α`, means `μ`, log standard deviations)
//!   gets `∇ log p(x_n, c_n)` at assignments `c_n` drawn from `q(c_n)`
//!   (`n_samples` draws averaged), or at the exact expectation over `q`
//!   when the estimator is `exact`, so that the `exact` run follows the
//!   true ELBO gradient.
//!
//! After each step every `log σ` is raised to `½ log(variance_floor)` if it
//! fell below.

use ndarray::{Array2, ArrayView2};
use rand::Rng;

use super::elbo::{PointObjective, add_entropy_grad, class_probs, logits_per_point, point_elbo};
use super::model::{HALF_LOG_TWO_PI, Mixture};
use super::{GmmError, validate};
use crate::estimator::{Estimator, EstimatorKind, Variables};
use crate::math::{log_softmax_into, logsumexp};
use crate::optim::Adam;
use crate::rng::{open_uniform, stream_from_seed};

/// Settings of one SVI run.
#[derive(Debug, Clone)]
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
}

impl Default for SviSettings {
    /// REINFORCE, one sample, learning rate 0.01, 1000 steps logged every
    /// 25, variance floor 1e-6, no variance draws.
    fn default() -> Self {
        Self {
            estimator: EstimatorKind::Reinforce,
            n_samples: 1,
            learning_rate: 0.01,
            n_steps: 1000,
            log_every: 25,
            variance_floor: 1e-6,
            variance_draws: 0,
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
    /// summed over all coordinates of `φ` (from `variance_draws` extra
    /// draws that do not feed the optimiser); `None` when turned off.
    pub grad_variance: Option<f64>,
}

/// The result of an SVI run.
#[derive(Debug, Clone)]
pub struct SviOutcome {
    /// Binary (K = 2) or categorical (K > 2) variables.
    pub variables: Variables,
    /// The final model.
    pub mixture: Mixture,
    /// The final variational logits, `N × (1 or K)` row-major.
    pub phi: Vec<f64>,
}

/// Fits a mixture by SVI from `init` (with `φ = 0`), calling `on_log` at
/// step 0, every `log_every` steps and at the last step.
///
/// # Errors
///
/// [`GmmError`] on invalid settings or data, K < 2, or an `init` whose
/// dimension differs from the data's.
pub fn fit_svi<R: Rng + ?Sized>(
    points: &Array2<f64>,
    init: &Mixture,
    settings: &SviSettings,
    rng: &mut R,
    on_log: &mut dyn FnMut(&SviLog),
) -> Result<SviOutcome, GmmError> {
    check_settings(settings)?;
    let mut problem = SviProblem::new(points.view(), init.n_components())?
        .with_assignment_draws(settings.n_samples);
    if init.n_dims() != points.ncols() {
        return Err(GmmError::DimensionMismatch {
            what: "initial mixture",
            expected: points.ncols(),
            found: init.n_dims(),
        });
    }
    let phi = vec![0.0; problem.n_phi()];
    let mut params = problem.pack(init, &phi);
    let mut grad = vec![0.0; params.len()];
    let mut adam = Adam::new(params.len(), settings.learning_rate);
    let mut estimator = Estimator::new(
        settings.estimator.clone(),
        problem.variables,
        settings.n_samples,
    );
    // Variance probes use their own stream, so turning them on does not
    // change the optimisation's draws.
    let mut probe_rng = stream_from_seed(rng.next_u64());
    let mut n_evals: u64 = 0;

    for step in 0..=settings.n_steps {
        let logged = step % settings.log_every == 0 || step == settings.n_steps;
        if logged {
            let (elbo, log_lik) = problem.exact_elbo(&params);
            let grad_variance = (settings.variance_draws > 0).then(|| {
                let mut probe = estimator.clone();
                problem.grad_variance(&params, &mut probe, settings.variance_draws, &mut probe_rng)
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
        variables: problem.variables,
        mixture: problem.mixture(&params),
        phi: problem.phi(&params).to_vec(),
    })
}

fn check_settings(settings: &SviSettings) -> Result<(), GmmError> {
    validate::check_positive("learning_rate", settings.learning_rate)?;
    validate::check_non_negative("variance_floor", settings.variance_floor)?;
    let counts = [
        ("n_samples", settings.n_samples, 1, "at least 1"),
        ("log_every", settings.log_every, 1, "at least 1"),
    ];
    for (field, value, min, rule) in counts {
        if value < min {
            return Err(GmmError::InvalidSetting {
                field,
                value: value.to_string(),
                rule,
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
    Ok(())
}

/// The ELBO of a diagonal mixture with local logits over a fixed data set,
/// as a function of one flat parameter vector, with reusable buffers.
///
/// Parameter layout (`K` components, `D` dimensions, `N` points, `P = 1`
/// for K = 2 and `P = K` otherwise):
///
/// ```text
/// [ α (K) | μ (K·D, row-major) | log σ (K·D) | φ (N·P, row-major) ]
/// π = softmax(α)
/// ```
#[derive(Debug, Clone)]
pub struct SviProblem<'a> {
    points: ArrayView2<'a, f64>,
    variables: Variables,
    n_components: usize,
    log_joint: Vec<f64>,
    log_weights: Vec<f64>,
    precisions: Vec<f64>,
    probs: Vec<f64>,
    assignment: Vec<f64>,
    grad_phi_point: Vec<f64>,
    probe_sum: Vec<f64>,
    probe_sum_sq: Vec<f64>,
    assignment_draws: usize,
}

impl<'a> SviProblem<'a> {
    /// The problem for `points` (`N × D`) and `n_components` components.
    ///
    /// # Errors
    ///
    /// [`GmmError`] when the data is invalid (see the fit functions) or
    /// `n_components < 2`.
    pub fn new(points: ArrayView2<'a, f64>, n_components: usize) -> Result<Self, GmmError> {
        validate::check_points(points, n_components)?;
        if n_components < 2 {
            return Err(GmmError::InvalidSetting {
                field: "n_components",
                value: n_components.to_string(),
                rule: "at least 2 for SVI (one component has no latent choice)",
            });
        }
        let variables = if n_components == 2 {
            Variables::Binary
        } else {
            Variables::Categorical {
                n_classes: n_components,
            }
        };
        let (n_points, n_dims) = points.dim();
        let per_point = logits_per_point(variables);
        Ok(Self {
            points,
            variables,
            n_components,
            log_joint: vec![0.0; n_points * n_components],
            log_weights: vec![0.0; n_components],
            precisions: vec![0.0; n_components * n_dims],
            probs: vec![0.0; n_components],
            assignment: vec![0.0; n_components],
            grad_phi_point: vec![0.0; per_point],
            probe_sum: vec![0.0; per_point],
            probe_sum_sq: vec![0.0; per_point],
            assignment_draws: 1,
        })
    }

    /// Sets how many assignments per point are drawn from `q(c_n)` for the
    /// model gradient (at least 1; default 1); ignored by `exact`.
    pub fn with_assignment_draws(mut self, n_draws: usize) -> Self {
        self.assignment_draws = n_draws.max(1);
        self
    }

    /// The kind of variable each `q(c_n)` is.
    pub fn variables(&self) -> Variables {
        self.variables
    }

    fn n_dims(&self) -> usize {
        self.points.ncols()
    }

    fn model_len(&self) -> usize {
        self.n_components * (1 + 2 * self.n_dims())
    }

    /// The number of variational logits, `N · P`.
    pub fn n_phi(&self) -> usize {
        self.points.nrows() * logits_per_point(self.variables)
    }

    /// The length of the parameter vector.
    pub fn n_params(&self) -> usize {
        self.model_len() + self.n_phi()
    }

    /// The parameter vector of `mixture` and logits `phi` (`N · P`).
    ///
    /// # Panics
    ///
    /// Panics if the shapes do not match the problem.
    pub fn pack(&self, mixture: &Mixture, phi: &[f64]) -> Vec<f64> {
        assert_eq!(phi.len(), self.n_phi(), "pack: phi length");
        assert_eq!(mixture.n_components(), self.n_components, "pack: K");
        let mut params: Vec<f64> = mixture.weights.iter().map(|w| w.ln()).collect();
        params.extend(mixture.means.iter());
        params.extend(mixture.log_sigma.iter());
        params.extend_from_slice(phi);
        params
    }

    /// The mixture held in `params`.
    pub fn mixture(&self, params: &[f64]) -> Mixture {
        let (n_components, n_dims) = (self.n_components, self.n_dims());
        let block = n_components * n_dims;
        let mut weights = vec![0.0; n_components];
        crate::math::softmax_into(&params[..n_components], &mut weights);
        let shape = (n_components, n_dims);
        let means = &params[n_components..n_components + block];
        let log_sigma = &params[n_components + block..n_components + 2 * block];
        Mixture {
            weights,
            means: Array2::from_shape_vec(shape, means.to_vec()).expect("K × D block"),
            log_sigma: Array2::from_shape_vec(shape, log_sigma.to_vec()).expect("K × D block"),
        }
    }

    /// The variational logits held in `params`.
    pub fn phi<'p>(&self, params: &'p [f64]) -> &'p [f64] {
        &params[self.model_len()..]
    }

    /// Fills the log-joint table at `params`; returns `Σ_n log p(x_n)`.
    fn update_log_joint(&mut self, params: &[f64]) -> f64 {
        let (n_components, n_dims) = (self.n_components, self.n_dims());
        let block = n_components * n_dims;
        log_softmax_into(&params[..n_components], &mut self.log_weights);
        let means = &params[n_components..n_components + block];
        let log_sigma = &params[n_components + block..n_components + 2 * block];
        for (p, &ls) in self.precisions.iter_mut().zip(log_sigma) {
            *p = (-2.0 * ls).exp();
        }
        for (k, lw) in self.log_weights.iter_mut().enumerate() {
            let log_norm: f64 = log_sigma[k * n_dims..(k + 1) * n_dims]
                .iter()
                .map(|&ls| ls + HALF_LOG_TWO_PI)
                .sum();
            *lw -= log_norm;
        }
        let mut log_lik = 0.0;
        let rows = self.log_joint.chunks_mut(n_components);
        for (x, row) in self.points.rows().into_iter().zip(rows) {
            for (k, out) in row.iter_mut().enumerate() {
                let mean = &means[k * n_dims..(k + 1) * n_dims];
                let precision = &self.precisions[k * n_dims..(k + 1) * n_dims];
                let mut quad = 0.0;
                for ((&xd, &md), &pd) in x.iter().zip(mean).zip(precision) {
                    quad += (xd - md) * (xd - md) * pd;
                }
                *out = self.log_weights[k] - 0.5 * quad;
            }
            log_lik += logsumexp(row);
        }
        log_lik
    }

    /// The exact ELBO and the exact `Σ_n log p(x_n)` at `params`.
    pub fn exact_elbo(&mut self, params: &[f64]) -> (f64, f64) {
        let log_lik = self.update_log_joint(params);
        let per_point = logits_per_point(self.variables);
        let phi = self.phi(params);
        let elbo = self
            .log_joint
            .chunks(self.n_components)
            .zip(phi.chunks(per_point))
            .map(|(row, phi_n)| point_elbo(row, phi_n, self.variables).0)
            .sum();
        (elbo, log_lik)
    }

    /// Writes a stochastic estimate of the ELBO's gradient at `params`
    /// into `grad` (the exact gradient when `estimator` is `exact`) and
    /// returns the evaluations of `f` that the `φ` estimator used.
    ///
    /// # Panics
    ///
    /// Panics if `params` or `grad` has a length other than
    /// [`SviProblem::n_params`].
    pub fn gradient<R: Rng + ?Sized>(
        &mut self,
        params: &[f64],
        estimator: &mut Estimator,
        rng: &mut R,
        grad: &mut [f64],
    ) -> usize {
        assert_eq!(params.len(), self.n_params(), "gradient: params length");
        assert_eq!(grad.len(), self.n_params(), "gradient: grad length");
        self.update_log_joint(params);
        grad.fill(0.0);
        let exact = matches!(estimator.kind(), EstimatorKind::Exact);
        let (n_components, n_dims) = (self.n_components, self.n_dims());
        let block = n_components * n_dims;
        let model_len = self.model_len();
        let per_point = logits_per_point(self.variables);
        let (model_grad, phi_grad) = grad.split_at_mut(model_len);
        let (grad_alpha, rest) = model_grad.split_at_mut(n_components);
        let (grad_means, grad_log_sigma) = rest.split_at_mut(block);
        let means = &params[n_components..n_components + block];
        let phi = &params[model_len..];
        let n_draws = self.assignment_draws;

        let mut n_evals = 0;
        let rows = self.log_joint.chunks(n_components);
        let phi_rows = phi.chunks(per_point).zip(phi_grad.chunks_mut(per_point));
        for ((x, row), (phi_n, grad_phi_n)) in
            self.points.rows().into_iter().zip(rows).zip(phi_rows)
        {
            // φ: the estimator on E_q[f], plus the analytic entropy.
            let objective = PointObjective::new(row, self.variables);
            n_evals += estimator
                .estimate(phi_n, &objective, rng, grad_phi_n)
                .n_evals;
            add_entropy_grad(phi_n, self.variables, grad_phi_n);

            // Model: ∇ log p(x_n, c) at sampled c (or averaged over q).
            class_probs(phi_n, self.variables, &mut self.probs);
            if exact {
                self.assignment.copy_from_slice(&self.probs);
            } else {
                draw_assignment(&self.probs, n_draws, rng, &mut self.assignment);
            }
            for (k, &weight) in self.assignment.iter().enumerate() {
                if weight == 0.0 {
                    continue;
                }
                grad_alpha[k] += weight;
                let span = k * n_dims..(k + 1) * n_dims;
                let mean = &means[span.clone()];
                let precision = &self.precisions[span.clone()];
                let g_mean = &mut grad_means[span.clone()];
                let g_log_sigma = &mut grad_log_sigma[span];
                for d in 0..n_dims {
                    let scaled = (x[d] - mean[d]) * precision[d];
                    g_mean[d] += weight * scaled;
                    g_log_sigma[d] += weight * (scaled * (x[d] - mean[d]) - 1.0);
                }
            }
        }
        // ∂/∂α_j Σ_n Σ_k w_nk log π_k = W_j − N π_j.
        let n_points = self.points.nrows() as f64;
        let lse = logsumexp(&params[..n_components]);
        for (g, &alpha) in grad_alpha.iter_mut().zip(&params[..n_components]) {
            *g -= n_points * (alpha - lse).exp();
        }
        n_evals
    }

    /// The summed variance over all `φ` coordinates of `estimator` at
    /// `params`, from `n_draws` independent estimates per point (the
    /// unbiased sample variance per coordinate). Leaves `params` alone.
    fn grad_variance<R: Rng + ?Sized>(
        &mut self,
        params: &[f64],
        estimator: &mut Estimator,
        n_draws: usize,
        rng: &mut R,
    ) -> f64 {
        self.update_log_joint(params);
        let per_point = logits_per_point(self.variables);
        let phi = &params[self.model_len()..];
        let mut total = 0.0;
        let rows = self.log_joint.chunks(self.n_components);
        for (row, phi_n) in rows.zip(phi.chunks(per_point)) {
            let objective = PointObjective::new(row, self.variables);
            self.probe_sum.fill(0.0);
            self.probe_sum_sq.fill(0.0);
            for _ in 0..n_draws {
                estimator.estimate(phi_n, &objective, rng, &mut self.grad_phi_point);
                for ((s, q), &g) in self
                    .probe_sum
                    .iter_mut()
                    .zip(&mut self.probe_sum_sq)
                    .zip(&self.grad_phi_point)
                {
                    *s += g;
                    *q += g * g;
                }
            }
            let m = n_draws as f64;
            for (&s, &q) in self.probe_sum.iter().zip(&self.probe_sum_sq) {
                total += ((q - s * s / m) / (m - 1.0)).max(0.0);
            }
        }
        total
    }

    /// Raises every `log σ` in `params` to `½ log(variance_floor)`.
    pub fn apply_floor(&self, params: &mut [f64], variance_floor: f64) {
        if variance_floor <= 0.0 {
            return;
        }
        let block = self.n_components * self.n_dims();
        let min_log_sigma = 0.5 * variance_floor.ln();
        let start = self.n_components + block;
        for ls in &mut params[start..start + block] {
            *ls = ls.max(min_log_sigma);
        }
    }
}

/// Draws `n_draws` classes from `probs` by inversion and writes their
/// frequencies into `assignment`.
fn draw_assignment<R: Rng + ?Sized>(
    probs: &[f64],
    n_draws: usize,
    rng: &mut R,
    assignment: &mut [f64],
) {
    assignment.fill(0.0);
    let share = 1.0 / n_draws as f64;
    for _ in 0..n_draws {
        let u = open_uniform(rng);
        let mut cumulative = 0.0;
        let mut chosen = probs.len() - 1;
        for (k, &p) in probs.iter().enumerate() {
            cumulative += p;
            if u < cumulative {
                chosen = k;
                break;
            }
        }
        assignment[chosen] += share;
    }
}
