//! Stochastic gradients of the mixture ELBO and the gradient-variance
//! probe (maths.md §6).
//!
//! For each point `n` of the batch, with `s = N / B` (1 for full batches):
//!
//! ```text
//! ∂/∂φ_n   += s · ( ĝ_n + ∇_φ H(q(c_n)) )       ĝ_n: the estimator on E_q[f]
//! ∂/∂θ     += s · ∇_θ log p(x_n, c_n)          c_n ~ q(c_n), or E_q when exact
//! ∂/∂W_pd  += s · (∂/∂φ_np) z_nd,   ∂/∂β_p += s · ∂/∂φ_np      (amortised)
//! ```

use rand::Rng;

use super::problem::{SviProblem, Variational};
use crate::estimator::{Estimator, EstimatorKind};
use crate::gmm::elbo::{PointObjective, add_entropy_grad, class_probs};
use crate::rng::open_uniform;

impl SviProblem<'_> {
    /// Writes a stochastic estimate of the ELBO's gradient at `params`
    /// into `grad` (the exact gradient when `estimator` is `exact` and
    /// batches are full) and returns the evaluations of `f` that the `φ`
    /// estimator used.
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
        self.prepare(params);
        grad.fill(0.0);
        let n_points = self.points.nrows();
        let batch_len = self.draw_batch(rng);
        let scale = n_points as f64 / batch_len as f64;
        let exact = matches!(estimator.kind(), EstimatorKind::Exact);
        let mut n_evals = 0;
        for position in 0..batch_len {
            let n = self.order[position];
            self.fill_row(params, n);
            self.point_logits(params, n);
            n_evals += self.point_gradient(params, n, scale, exact, estimator, rng, grad);
        }
        // ∂/∂α_j Σ_n s Σ_k w_nk log π_k = s (W_j − B π_j).
        let n_components = self.n_components;
        let lse = crate::math::logsumexp(&params[..n_components]);
        for (g, &alpha) in grad[..n_components].iter_mut().zip(&params[..n_components]) {
            *g -= scale * batch_len as f64 * (alpha - lse).exp();
        }
        n_evals
    }

    /// Chooses this step's points: the first `B` entries of `self.order`
    /// after a partial Fisher–Yates shuffle (all points, untouched, for
    /// full batches). Returns `B`.
    fn draw_batch<R: Rng + ?Sized>(&mut self, rng: &mut R) -> usize {
        let n_points = self.points.nrows();
        let Some(batch_size) = self.batch_size else {
            return n_points;
        };
        for i in 0..batch_size {
            let j = rand::RngExt::random_range(rng, i..n_points);
            self.order.swap(i, j);
        }
        batch_size
    }

    /// Adds point `n`'s terms (row and logits already filled).
    #[allow(clippy::too_many_arguments)]
    fn point_gradient<R: Rng + ?Sized>(
        &mut self,
        params: &[f64],
        n: usize,
        scale: f64,
        exact: bool,
        estimator: &mut Estimator,
        rng: &mut R,
        grad: &mut [f64],
    ) -> usize {
        let (n_components, n_dims) = (self.n_components, self.n_dims());
        let per_point = self.per_point();
        let model_len = self.model_len();

        // φ: the estimator on E_q[f], plus the analytic entropy.
        let row = &self.log_joint[n * n_components..(n + 1) * n_components];
        let objective = PointObjective::new(row, self.variables);
        let cost = estimator.estimate(&self.phi_point, &objective, rng, &mut self.grad_phi_point);
        add_entropy_grad(&self.phi_point, self.variables, &mut self.grad_phi_point);
        let variational = &mut grad[model_len..];
        match self.variational {
            Variational::Local => {
                let out = &mut variational[n * per_point..(n + 1) * per_point];
                for (o, &g) in out.iter_mut().zip(&self.grad_phi_point) {
                    *o += scale * g;
                }
            }
            Variational::Amortised => {
                let (weights, offsets) = variational.split_at_mut(per_point * n_dims);
                for (p, &g) in self.grad_phi_point.iter().enumerate() {
                    let row = &mut weights[p * n_dims..(p + 1) * n_dims];
                    for (w, &z) in row.iter_mut().zip(&self.standardised) {
                        *w += scale * g * z;
                    }
                    offsets[p] += scale * g;
                }
            }
        }

        // Model: ∇ log p(x_n, c) at sampled c (or averaged over q).
        class_probs(&self.phi_point, self.variables, &mut self.probs);
        if exact {
            self.assignment.copy_from_slice(&self.probs);
        } else {
            draw_assignment(
                &self.probs,
                self.assignment_draws,
                rng,
                &mut self.assignment,
            );
        }
        let block = self.covariance.params_per_component(n_dims);
        let (model, _) = grad.split_at_mut(model_len);
        let (grad_alpha, rest) = model.split_at_mut(n_components);
        let (grad_means, grad_scales) = rest.split_at_mut(n_components * n_dims);
        let means = &params[n_components..n_components * (1 + n_dims)];
        let x = self.points.row(n);
        let x = x.as_slice().expect("rows of a standard-layout view");
        for (k, &weight) in self.assignment.iter().enumerate() {
            if weight == 0.0 {
                continue;
            }
            grad_alpha[k] += scale * weight;
            self.factors.add_grad(
                x,
                &means[k * n_dims..(k + 1) * n_dims],
                k,
                scale * weight,
                &mut grad_means[k * n_dims..(k + 1) * n_dims],
                &mut grad_scales[k * block..(k + 1) * block],
            );
        }
        cost.n_evals
    }

    /// The summed variance over all per-point `φ` coordinates of
    /// `estimator` at `params`, from `n_draws` independent estimates per
    /// point (the unbiased sample variance per coordinate, over every
    /// point whatever the batch size).
    // Known limitation: the probe visits every point, because it measures the whole φ.
    pub(crate) fn grad_variance<R: Rng + ?Sized>(
        &mut self,
        params: &[f64],
        estimator: &mut Estimator,
        n_draws: usize,
        rng: &mut R,
    ) -> f64 {
        self.prepare(params);
        let n_components = self.n_components;
        let mut total = 0.0;
        for n in 0..self.points.nrows() {
            self.fill_row(params, n);
            self.point_logits(params, n);
            let row = &self.log_joint[n * n_components..(n + 1) * n_components];
            let objective = PointObjective::new(row, self.variables);
            self.probe_sum.fill(0.0);
            self.probe_sum_sq.fill(0.0);
            for _ in 0..n_draws {
                estimator.estimate(&self.phi_point, &objective, rng, &mut self.grad_phi_point);
                let sums = self.probe_sum.iter_mut().zip(&mut self.probe_sum_sq);
                for ((s, q), &g) in sums.zip(&self.grad_phi_point) {
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

    /// Raises every log-diagonal scale entry in `params` to
    /// `½ log(variance_floor)`, so every variance `Σ_k,dd >= L_k,dd²`
    /// stays at or above the floor.
    pub fn apply_floor(&self, params: &mut [f64], variance_floor: f64) {
        if variance_floor <= 0.0 {
            return;
        }
        let n_dims = self.n_dims();
        let block = self.covariance.params_per_component(n_dims);
        let start = self.n_components * (1 + n_dims);
        let min_log = 0.5 * variance_floor.ln();
        for packed in params[start..start + self.scales_len()].chunks_mut(block) {
            for d in 0..n_dims {
                let entry = &mut packed[super::scale::packed_index(self.covariance, d, d)];
                *entry = entry.max(min_log);
            }
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
