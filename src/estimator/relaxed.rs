//! The biased relaxed estimators (maths.md §4 and §8), kept as reference
//! points: Concrete / Gumbel-softmax and straight-through. Written once for
//! every [`VariableKind`]; one evaluation of `f` (value and gradient) per
//! sample.
//!
//! ```text
//! Gumbel-softmax:   ĝ = (∂s/∂z)ᵀ ∇f(s),   s = relax(z, λ)
//! straight-through: ĝ = (∂s/∂z)ᵀ ∇f(b),   b = H(z)   (gradient taken at b)
//! ```
//!
//! with `∂z/∂φ = I` (see [`VariableKind::reparameterise`]).

use rand::Rng;

use super::Objective;
use super::variable::VariableKind;
use super::workspace::{Workspace, fill_uniform};

/// Where the objective's gradient is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relaxed {
    /// At the relaxed sample (Gumbel-softmax).
    Gumbel,
    /// At the discrete sample (straight-through).
    StraightThrough,
}

/// Writes the mean of `n_samples` relaxed estimates into `grad_phi` and
/// returns the number of evaluations of `f`. `ws` must be prepared for `phi`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn estimate<V, O, R>(
    kind: &V,
    which: Relaxed,
    ws: &mut Workspace,
    phi: &[f64],
    n_samples: usize,
    temperature: f64,
    f: &O,
    rng: &mut R,
    grad_phi: &mut [f64],
) -> usize
where
    V: VariableKind + ?Sized,
    O: Objective + ?Sized,
    R: Rng + ?Sized,
{
    grad_phi.fill(0.0);
    let scale = 1.0 / n_samples as f64;
    for _ in 0..n_samples {
        fill_uniform(rng, &mut ws.u);
        kind.reparameterise(phi, &ws.u, &mut ws.z, &mut ws.b);
        kind.relax(&ws.z, temperature, &mut ws.s);
        match which {
            Relaxed::Gumbel => f.relaxed_value_grad(&ws.s, &mut ws.grad_s),
            Relaxed::StraightThrough => f.relaxed_value_grad(&ws.b, &mut ws.grad_s),
        };
        kind.relax_pull_back(&ws.s, &ws.grad_s, temperature, &mut ws.grad_z);
        for (g, &gz) in grad_phi.iter_mut().zip(&ws.grad_z) {
            *g += scale * gz;
        }
    }
    n_samples
}
