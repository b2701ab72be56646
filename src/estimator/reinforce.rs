//! REINFORCE (the score-function estimator) without a baseline.
//!
//! ```text
//! g_hat = f(b) ∇_φ log p(b|φ),   b ~ p(b|φ)
//! ```
//!
//! averaged over `n_samples` independent draws.

use rand::Rng;

use super::{Estimate, Objective, Variables};
use crate::math::{sigmoid, softmax_into};
use crate::rng::open_uniform;

/// Writes a REINFORCE estimate into `grad_phi` and returns its cost.
pub(super) fn estimate<O, R>(
    variables: Variables,
    n_samples: usize,
    phi: &[f64],
    f: &O,
    rng: &mut R,
    grad_phi: &mut [f64],
) -> Estimate
where
    O: Objective + ?Sized,
    R: Rng + ?Sized,
{
    let mut theta = vec![0.0; phi.len()];
    match variables {
        Variables::Binary => theta
            .iter_mut()
            .zip(phi)
            .for_each(|(t, &p)| *t = sigmoid(p)),
        Variables::Categorical { n_classes } => {
            for (row, out) in phi.chunks(n_classes).zip(theta.chunks_mut(n_classes)) {
                softmax_into(row, out);
            }
        }
    }
    grad_phi.fill(0.0);
    let mut b = vec![0.0; phi.len()];
    for _ in 0..n_samples {
        draw(variables, &theta, rng, &mut b);
        let value = f.value(&b);
        for ((g, &bj), &tj) in grad_phi.iter_mut().zip(&b).zip(&theta) {
            *g += value * (bj - tj);
        }
    }
    let scale = 1.0 / n_samples as f64;
    grad_phi.iter_mut().for_each(|g| *g *= scale);
    Estimate { n_evals: n_samples }
}

/// Draws `b ~ p(b|θ)` by inversion.
fn draw<R: Rng + ?Sized>(variables: Variables, theta: &[f64], rng: &mut R, b: &mut [f64]) {
    match variables {
        Variables::Binary => {
            for (bj, &tj) in b.iter_mut().zip(theta) {
                *bj = if open_uniform(rng) < tj { 1.0 } else { 0.0 };
            }
        }
        Variables::Categorical { n_classes } => {
            for (row, probs) in b.chunks_mut(n_classes).zip(theta.chunks(n_classes)) {
                let u = open_uniform(rng);
                let mut cumulative = 0.0;
                let mut chosen = n_classes - 1;
                for (k, &p) in probs.iter().enumerate() {
                    cumulative += p;
                    if u < cumulative {
                        chosen = k;
                        break;
                    }
                }
                row.fill(0.0);
                row[chosen] = 1.0;
            }
        }
    }
}
