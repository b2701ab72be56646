//! REINFORCE (the score-function estimator) with an optional baseline,
//! written once for every [`VariableKind`].
//!
//! ```text
//! ĝ = (1/m) Σ_i (f(b_i) − c) ∂log p(b_i)/∂φ,   b_i ~ p(b|φ) independently
//! ```
//!
//! Baselines `c`: none (`c = 0`); an exponential moving average of past
//! mean values of `f` (fixed before the draws, so unbiased); or, with
//! `m ≥ 2` samples, the leave-one-out mean of the other samples (RLOO):
//!
//! ```text
//! c_i = (Σ_{j≠i} f(b_j)) / (m − 1)   ⇒   ĝ = (1/(m−1)) Σ_i (f(b_i) − f̄) score_i
//! ```

use rand::Rng;

use super::Objective;
use super::variable::VariableKind;
use super::workspace::{Workspace, fill_uniform};

/// The baseline of one REINFORCE call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Baseline {
    /// A constant `c` fixed before the draws (0 for none, or the moving
    /// average's current value).
    Constant(f64),
    /// Leave-one-out over the call's samples.
    LeaveOneOut,
}

/// Writes a REINFORCE estimate into `grad_phi` and returns the number of
/// evaluations of `f` and the mean value of `f` over the samples.
/// `ws` must be prepared for `phi`.
pub(crate) fn estimate<V, O, R>(
    kind: &V,
    ws: &mut Workspace,
    n_samples: usize,
    baseline: Baseline,
    f: &O,
    rng: &mut R,
    grad_phi: &mut [f64],
) -> (usize, f64)
where
    V: VariableKind + ?Sized,
    O: Objective + ?Sized,
    R: Rng + ?Sized,
{
    let n_vars = grad_phi.len() / kind.width();
    let constant = match baseline {
        Baseline::Constant(c) => c,
        Baseline::LeaveOneOut => 0.0,
    };

    // Accumulate Σ (f_i − c) score_i in grad_phi and Σ score_i in d_eta.
    grad_phi.fill(0.0);
    ws.d_eta.fill(0.0);
    let mut total = 0.0;
    for _ in 0..n_samples {
        fill_uniform(rng, &mut ws.u[..n_vars]);
        kind.draw(&ws.theta, &ws.u[..n_vars], &mut ws.b);
        let value = f.value(&ws.b);
        total += value;
        kind.score(&ws.b, &ws.theta, &mut ws.score);
        let weight = value - constant;
        for ((g, s_sum), &sc) in grad_phi.iter_mut().zip(ws.d_eta.iter_mut()).zip(&ws.score) {
            *g += weight * sc;
            *s_sum += sc;
        }
    }
    let mean = total / n_samples as f64;

    match baseline {
        Baseline::Constant(_) => {
            let scale = 1.0 / n_samples as f64;
            grad_phi.iter_mut().for_each(|g| *g *= scale);
        }
        Baseline::LeaveOneOut => {
            // (Σ f_i score_i − f̄ Σ score_i) / (m − 1).
            let scale = 1.0 / (n_samples as f64 - 1.0);
            for (g, &s_sum) in grad_phi.iter_mut().zip(&ws.d_eta) {
                *g = (*g - mean * s_sum) * scale;
            }
        }
    }
    (n_samples, mean)
}
