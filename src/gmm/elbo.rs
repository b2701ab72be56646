//! The per-point pieces of the mixture ELBO (maths.md §6): the objective
//! the discrete estimators see, the analytic entropy, and the exact value
//! and `φ`-gradient of one point's ELBO by enumeration of its K classes.
//!
//! One point `n` with log-joint row `L_k = log p(x_n, c_n = k)` and
//! variational logits `φ_n`:
//!
//! ```text
//! q       = softmax(φ_n)                         (K > 2, categorical)
//! q       = (1 − sigmoid(φ_n), sigmoid(φ_n))     (K = 2, one binary logit)
//! ELBO_n  = Σ_k q_k L_k + H(q),   H(q) = −Σ_k q_k log q_k
//! ```

use crate::estimator::{Objective, Variables};
use crate::math::{log_sigmoid, logsumexp, sigmoid};

/// The objective one data point presents to a discrete estimator:
/// `f(c) = log p(x_n, c)`, extended linearly to relaxed values.
///
/// ```text
/// categorical:  f(s) = Σ_k s_k L_k                 (s on the simplex)
/// binary:       f(b) = (1 − b) L_0 + b L_1         (b in [0, 1])
/// ```
///
/// `L_k = log p(x_n, c_n = k)`; in the binary case `b = 1` selects the
/// second component.
#[derive(Debug, Clone, Copy)]
pub struct PointObjective<'a> {
    log_joint: &'a [f64],
    binary: bool,
}

impl<'a> PointObjective<'a> {
    /// The objective of a point with log-joint row `log_joint` (K entries).
    ///
    /// # Panics
    ///
    /// Panics if `variables` is binary and `log_joint` does not have 2
    /// entries, or categorical with a class count other than its length.
    pub fn new(log_joint: &'a [f64], variables: Variables) -> Self {
        let binary = match variables {
            Variables::Binary => {
                assert_eq!(log_joint.len(), 2, "binary point objective needs K = 2");
                true
            }
            Variables::Categorical { n_classes } => {
                assert_eq!(log_joint.len(), n_classes, "point objective: class count");
                false
            }
        };
        Self { log_joint, binary }
    }
}

impl Objective for PointObjective<'_> {
    fn value(&self, b: &[f64]) -> f64 {
        linear_value(self.log_joint, self.binary, b)
    }

    fn relaxed_value_grad(&self, s: &[f64], grad_s: &mut [f64]) -> f64 {
        if self.binary {
            grad_s[0] = self.log_joint[1] - self.log_joint[0];
        } else {
            grad_s.copy_from_slice(self.log_joint);
        }
        linear_value(self.log_joint, self.binary, s)
    }
}

fn linear_value(log_joint: &[f64], binary: bool, s: &[f64]) -> f64 {
    if binary {
        log_joint[0] + s[0] * (log_joint[1] - log_joint[0])
    } else {
        s.iter().zip(log_joint).map(|(&sk, &lk)| sk * lk).sum()
    }
}

/// The number of variational logits per point: 1 for binary, K otherwise.
pub fn logits_per_point(variables: Variables) -> usize {
    match variables {
        Variables::Binary => 1,
        Variables::Categorical { n_classes } => n_classes,
    }
}

/// Writes `q(c_n = k)` for every class into `probs` (K entries).
///
/// # Panics
///
/// Panics if the lengths do not match `variables`.
pub fn class_probs(phi: &[f64], variables: Variables, probs: &mut [f64]) {
    match variables {
        Variables::Binary => {
            probs[1] = sigmoid(phi[0]);
            probs[0] = sigmoid(-phi[0]);
        }
        Variables::Categorical { .. } => crate::math::softmax_into(phi, probs),
    }
}

/// The exact ELBO of one point and its entropy term.
///
/// ```text
/// ELBO_n = Σ_k q_k (L_k − log q_k)
/// ```
///
/// `L` = `log_joint`, `φ` = `phi`; returns `(ELBO_n, H(q))`.
pub fn point_elbo(log_joint: &[f64], phi: &[f64], variables: Variables) -> (f64, f64) {
    let mut expected = 0.0;
    let mut entropy = 0.0;
    for_each_log_prob(phi, variables, |k, log_q| {
        let q = log_q.exp();
        expected += q * log_joint[k];
        if q > 0.0 {
            entropy -= q * log_q;
        }
    });
    (expected + entropy, entropy)
}

/// Calls `visit(k, log q_k)` for every class, from the logits.
fn for_each_log_prob(phi: &[f64], variables: Variables, mut visit: impl FnMut(usize, f64)) {
    match variables {
        Variables::Binary => {
            visit(0, log_sigmoid(-phi[0]));
            visit(1, log_sigmoid(phi[0]));
        }
        Variables::Categorical { .. } => {
            let lse = logsumexp(phi);
            for (k, &p) in phi.iter().enumerate() {
                visit(k, p - lse);
            }
        }
    }
}

/// Adds the exact `φ`-gradient of the entropy `H(q)` to `grad_phi`.
///
/// ```text
/// categorical:  ∂H/∂φ_j = −q_j (log q_j + H)
/// binary:       ∂H/∂φ   = −φ · q_0 q_1
/// ```
pub fn add_entropy_grad(phi: &[f64], variables: Variables, grad_phi: &mut [f64]) {
    match variables {
        Variables::Binary => {
            grad_phi[0] -= phi[0] * sigmoid(phi[0]) * sigmoid(-phi[0]);
        }
        Variables::Categorical { .. } => {
            let lse = logsumexp(phi);
            let entropy: f64 = phi.iter().map(|&p| -(p - lse).exp() * (p - lse)).sum();
            for (g, &p) in grad_phi.iter_mut().zip(phi) {
                let log_q = p - lse;
                *g -= log_q.exp() * (log_q + entropy);
            }
        }
    }
}

/// Writes the exact `φ`-gradient of one point's ELBO into `grad_phi`
/// (the reference for the estimators on the mixture task) and returns
/// `ELBO_n`.
///
/// ```text
/// categorical:  ∂ELBO_n/∂φ_j = q_j (L_j − log q_j − ELBO_n)
/// binary:       ∂ELBO_n/∂φ   = q_0 q_1 (L_1 − L_0 − φ)
/// ```
///
/// # Panics
///
/// Panics if the lengths do not match `variables`.
pub fn point_elbo_grad_phi(
    log_joint: &[f64],
    phi: &[f64],
    variables: Variables,
    grad_phi: &mut [f64],
) -> f64 {
    assert_eq!(phi.len(), grad_phi.len(), "point gradient: lengths differ");
    let (elbo, _) = point_elbo(log_joint, phi, variables);
    match variables {
        Variables::Binary => {
            let spread = sigmoid(phi[0]) * sigmoid(-phi[0]);
            grad_phi[0] = spread * (log_joint[1] - log_joint[0] - phi[0]);
        }
        Variables::Categorical { .. } => {
            let lse = logsumexp(phi);
            for ((g, &p), &l) in grad_phi.iter_mut().zip(phi).zip(log_joint) {
                let log_q = p - lse;
                *g = log_q.exp() * (l - log_q - elbo);
            }
        }
    }
    elbo
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finite_difference(log_joint: &[f64], phi: &[f64], variables: Variables) -> Vec<f64> {
        let h = 1e-6;
        (0..phi.len())
            .map(|j| {
                let mut up = phi.to_vec();
                let mut down = phi.to_vec();
                up[j] += h;
                down[j] -= h;
                let value = |p: &[f64]| point_elbo(log_joint, p, variables).0;
                (value(&up) - value(&down)) / (2.0 * h)
            })
            .collect()
    }

    #[test]
    fn categorical_gradient_matches_finite_differences() {
        let log_joint = [-1.0, -3.5, -0.2, -7.0];
        let phi = [0.3, -1.2, 2.0, 0.0];
        let variables = Variables::Categorical { n_classes: 4 };
        let mut grad = [0.0; 4];
        point_elbo_grad_phi(&log_joint, &phi, variables, &mut grad);
        for (g, fd) in grad
            .iter()
            .zip(finite_difference(&log_joint, &phi, variables))
        {
            assert!((g - fd).abs() < 1e-7, "{g} vs {fd}");
        }
        let mut entropy_grad = [0.0; 4];
        add_entropy_grad(&phi, variables, &mut entropy_grad);
        let zero = [0.0; 4];
        for (g, fd) in entropy_grad
            .iter()
            .zip(finite_difference(&zero, &phi, variables))
        {
            assert!((g - fd).abs() < 1e-7, "{g} vs {fd}");
        }
    }

    #[test]
    fn binary_gradient_matches_finite_differences() {
        let log_joint = [-2.0, -0.5];
        for &p in &[-3.0, 0.0, 1.7] {
            let mut grad = [0.0];
            point_elbo_grad_phi(&log_joint, &[p], Variables::Binary, &mut grad);
            let fd = finite_difference(&log_joint, &[p], Variables::Binary)[0];
            assert!((grad[0] - fd).abs() < 1e-7);
            let mut entropy_grad = [0.0];
            add_entropy_grad(&[p], Variables::Binary, &mut entropy_grad);
            let fd = finite_difference(&[0.0, 0.0], &[p], Variables::Binary)[0];
            assert!((entropy_grad[0] - fd).abs() < 1e-7);
        }
    }

    #[test]
    fn elbo_is_log_evidence_at_the_posterior() {
        let log_joint: [f64; 3] = [-1.0, -2.0, -0.5];
        let variables = Variables::Categorical { n_classes: 3 };
        let (elbo, _) = point_elbo(&log_joint, &log_joint, variables);
        assert!((elbo - logsumexp(&log_joint)).abs() < 1e-12);
        let (elbo, _) = point_elbo(&log_joint, &[0.0; 3], variables);
        assert!(elbo < logsumexp(&log_joint));
    }

    #[test]
    fn objective_is_linear_in_the_relaxation() {
        let log_joint = [-2.0, -0.5];
        let f = PointObjective::new(&log_joint, Variables::Binary);
        assert_eq!(f.value(&[0.0]), -2.0);
        assert_eq!(f.value(&[1.0]), -0.5);
        let mut grad = [0.0];
        let value = f.relaxed_value_grad(&[0.25], &mut grad);
        assert!((value - (-2.0 + 0.25 * 1.5)).abs() < 1e-15);
        assert_eq!(grad[0], 1.5);
    }
}
