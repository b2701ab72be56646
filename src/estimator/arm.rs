//! ARM and DisARM (maths.md §4): antithetic estimators for independent
//! bits only, which is why they take [`Bernoulli`] by type. Two
//! evaluations of `f` and one uniform per bit per sample.
//!
//! ```text
//! ARM:    b¹ = H(u > 1 − θ),  b² = H(u < θ),
//!         ĝ_i = (f(b¹) − f(b²)) (u_i − 1/2)
//! DisARM: b = H(u < θ),  b' = H(1 − u < θ),
//!         ĝ_i = 1/2 (f(b) − f(b')) (−1)^{b'_i} 1[b_i ≠ b'_i] sigmoid(|φ_i|)
//! ```

use rand::Rng;

use super::Objective;
use super::variable::Bernoulli;
use super::workspace::{Workspace, fill_uniform};

/// Which antithetic estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Antithetic {
    /// Augment-REINFORCE-merge.
    Arm,
    /// ARM with the antithetic pair integrated out where they agree.
    Disarm,
}

/// Evaluations of `f` per antithetic sample.
pub(crate) const ANTITHETIC_EVALS: usize = 2;

/// Writes the mean of `n_samples` ARM or DisARM samples into `grad_phi`
/// and returns the number of evaluations of `f`. `ws` must be prepared
/// for the logits with [`Bernoulli`].
pub(crate) fn estimate<O, R>(
    _kind: &Bernoulli,
    which: Antithetic,
    ws: &mut Workspace,
    n_samples: usize,
    f: &O,
    rng: &mut R,
    grad_phi: &mut [f64],
) -> usize
where
    O: Objective + ?Sized,
    R: Rng + ?Sized,
{
    grad_phi.fill(0.0);
    let scale = 1.0 / n_samples as f64;
    for _ in 0..n_samples {
        fill_uniform(rng, &mut ws.u);
        let pairs = ws.b.iter_mut().zip(ws.b_other.iter_mut());
        for ((b, b_other), ((&u, &t), &t_bar)) in pairs.zip(ws.u.iter().zip(&ws.theta).zip(&ws.aux))
        {
            let (first, second) = match which {
                Antithetic::Arm => (u > t_bar, u < t),
                Antithetic::Disarm => (u < t, 1.0 - u < t),
            };
            *b = if first { 1.0 } else { 0.0 };
            *b_other = if second { 1.0 } else { 0.0 };
        }
        let difference = f.value(&ws.b) - f.value(&ws.b_other);
        let weight = difference * scale;
        match which {
            Antithetic::Arm => {
                for (g, &u) in grad_phi.iter_mut().zip(&ws.u) {
                    *g += weight * (u - 0.5);
                }
            }
            Antithetic::Disarm => {
                // sigmoid(|φ|) = max(θ, 1 − θ), both cached.
                let cached = ws.theta.iter().zip(&ws.aux);
                let per_bit = ws.b.iter().zip(&ws.b_other).zip(cached);
                for (g, ((&b, &b_other), (&t, &t_bar))) in grad_phi.iter_mut().zip(per_bit) {
                    let sign = if b_other > 0.5 { -1.0 } else { 1.0 };
                    let differs = if b != b_other { 1.0 } else { 0.0 };
                    *g += 0.5 * weight * sign * differs * t.max(t_bar);
                }
            }
        }
    }
    ANTITHETIC_EVALS * n_samples
}
