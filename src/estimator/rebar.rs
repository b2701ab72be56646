//! REBAR (maths.md §4), written once for every [`VariableKind`].
//!
//! ```text
//! ĝ = [f(b) − η f(s(z̃))] ∂log p(b)/∂φ + η ∂/∂φ f(s(z)) − η ∂/∂φ f(s(z̃))
//!   = f(b) · score + η · C
//! C = −f(s(z̃)) · score + (∂s/∂z)ᵀ ∇f(s(z)) − (∂z̃/∂φ)ᵀ (∂s̃/∂z̃)ᵀ ∇f(s(z̃))
//! ```
//!
//! `z` is the reparameterised sample (`∂z/∂φ = I`), `b = H(z)`, `z̃ ~ p(z|b)`
//! from fresh noise or from the noise of `z` ([`Coupling`]), `s = relax(z, λ)`.
//! `ĝ` is unbiased for every `η` and `λ`. Three evaluations of `f` per
//! sample (one discrete, two relaxed). [`sample`] can also return
//! `∂ĝ/∂η = C` and `∂ĝ/∂λ` for the adaptive estimator:
//!
//! ```text
//! ∂ĝ/∂λ = η [ −(∇f(s̃) · ∂s̃/∂λ) score + ∂/∂λ (∂s/∂z)ᵀ∇f(s) − (∂z̃/∂φ)ᵀ ∂/∂λ (∂s̃/∂z̃)ᵀ∇f(s̃) ]
//! ```
//!
//! with `∂/∂λ ∇f(s) = H_f(s) · ∂s/∂λ` from [`Objective::relaxed_hessian_vector`].

use rand::Rng;

use super::Objective;
use super::kind::Coupling;
use super::variable::VariableKind;
use super::workspace::{Workspace, fill_uniform, fill_uniform_wide};

/// Fixed settings of one REBAR sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RebarParams {
    /// Control-variate scale `η`.
    pub eta: f64,
    /// Temperature `λ`.
    pub temperature: f64,
    /// How `z̃` gets its noise.
    pub coupling: Coupling,
}

/// Evaluations of `f` per REBAR sample.
pub(crate) const REBAR_EVALS: usize = 3;

/// Draws one REBAR sample into `ws.g_hat` (and `ws.d_eta`); with
/// `with_lambda`, also `∂ĝ/∂λ` into `ws.d_lambda`. Returns the number of
/// evaluations of `f`. `ws` must be prepared for `phi`.
pub(crate) fn sample<V, O, R>(
    kind: &V,
    ws: &mut Workspace,
    phi: &[f64],
    params: RebarParams,
    f: &O,
    rng: &mut R,
    with_lambda: bool,
) -> usize
where
    V: VariableKind + ?Sized,
    O: Objective + ?Sized,
    R: Rng + ?Sized,
{
    let n_evals = draw_segments(kind, ws, phi, phi.len(), params, f, rng, fill_uniform);
    if with_lambda {
        lambda_derivative(kind, ws, f, params.eta, params.temperature);
    }
    n_evals
}

/// Draws `g_hat.len() / n` independent REBAR samples at once, for the
/// `phi` of one block of `n` logits repeated (`phi_tiled`), into
/// `ws.g_hat` (segment `i` holds sample `i`), with the formulas of
/// [`sample`]: the element-wise passes run once over all segments, so
/// short blocks lose no time to loop remainders and calls, and only the
/// objective is called per segment. Its uniforms come from
/// [`fill_uniform_wide`], so the values differ from `g_hat.len() / n`
/// calls of [`sample`] while the distribution is the same. Returns the
/// evaluations of `f`. `ws` must be prepared for `phi_tiled`.
pub(crate) fn sample_batch<V, O, R>(
    kind: &V,
    ws: &mut Workspace,
    phi_tiled: &[f64],
    n: usize,
    params: RebarParams,
    f: &O,
    rng: &mut R,
) -> usize
where
    V: VariableKind + ?Sized,
    O: Objective + ?Sized,
    R: Rng + ?Sized,
{
    draw_segments(kind, ws, phi_tiled, n, params, f, rng, fill_uniform_wide)
}

/// The REBAR samples of [`sample`] (one segment, `n = phi.len()`) and
/// [`sample_batch`] (segments of `n` logits), drawing uniforms with
/// `fill`:
///
/// ```text
/// z = reparameterised sample, b = H(z), s = relax(z),  z̃ ~ p(z|b), s̃ = relax(z̃)
/// C = −f(s̃) score + (∂s/∂z)ᵀ ∇f(s) − (∂z̃/∂φ)ᵀ (∂s̃/∂z̃)ᵀ ∇f(s̃)
/// ĝ = f(b) score + η C          (f(b), f(s̃) per segment)
/// ```
#[allow(clippy::too_many_arguments)]
fn draw_segments<V, O, R>(
    kind: &V,
    ws: &mut Workspace,
    phi: &[f64],
    n: usize,
    params: RebarParams,
    f: &O,
    rng: &mut R,
    fill: fn(&mut R, &mut [f64]),
) -> usize
where
    V: VariableKind + ?Sized,
    O: Objective + ?Sized,
    R: Rng + ?Sized,
{
    let RebarParams {
        eta,
        temperature,
        coupling,
    } = params;
    let n = n.max(1);
    ws.segment_f_b.clear();
    ws.segment_f_s_tilde.clear();

    // Reparameterised sample, its gate, the discrete evaluation and the
    // relaxed term at z (∂z/∂φ = I).
    fill(rng, &mut ws.u);
    kind.reparameterise_relaxed(phi, &ws.u, temperature, &mut ws.z, &mut ws.b, &mut ws.s);
    let relaxed = ws.s.chunks(n).zip(ws.grad_s.chunks_mut(n));
    for (b_i, (s_i, grad_s_i)) in ws.b.chunks(n).zip(relaxed) {
        ws.segment_f_b.push(f.value(b_i));
        f.relaxed_value_grad(s_i, grad_s_i);
    }
    kind.relax_pull_back(&ws.s, &ws.grad_s, temperature, &mut ws.grad_z);

    // Conditional sample z̃ | b with its Jacobian (maths.md §2, §3, §8).
    match coupling {
        Coupling::Independent => {
            fill(rng, &mut ws.v);
            kind.conditional_relaxed(
                phi,
                &ws.theta,
                &ws.aux,
                &ws.b,
                &ws.v,
                temperature,
                &mut ws.z_tilde,
                &mut ws.diag,
                &mut ws.coef,
                &mut ws.s_tilde,
            );
        }
        Coupling::SameNoise => {
            kind.conditional_same_noise(
                &ws.theta,
                &ws.aux,
                &ws.b,
                &ws.z,
                &mut ws.z_tilde,
                &mut ws.diag,
                &mut ws.coef,
            );
            // z̃ = z in value, so the relaxation is the same.
            ws.s_tilde.copy_from_slice(&ws.s);
        }
    }

    // Relaxed term at z̃.
    for (s_i, grad_i) in ws.s_tilde.chunks(n).zip(ws.grad_s_tilde.chunks_mut(n)) {
        let value = f.relaxed_value_grad(s_i, grad_i);
        ws.segment_f_s_tilde.push(value);
    }
    let (s_tilde, grad_s_tilde) = (&ws.s_tilde, &ws.grad_s_tilde);
    kind.relax_pull_back(s_tilde, grad_s_tilde, temperature, &mut ws.grad_z_tilde);

    // C = −f(s̃) score + grad_z − Jᵀ grad_z̃, then ĝ = f(b) score + η C.
    kind.score(&ws.b, &ws.theta, &mut ws.score);
    let segments = ws.d_eta.chunks_mut(n).zip(ws.grad_z.chunks(n));
    for ((c_i, gz_i), (sc_i, &f_s_tilde)) in
        segments.zip(ws.score.chunks(n).zip(&ws.segment_f_s_tilde))
    {
        for ((c, &gz), &sc) in c_i.iter_mut().zip(gz_i).zip(sc_i) {
            *c = gz - f_s_tilde * sc;
        }
    }
    let (theta, diag, coef) = (&ws.theta, &ws.diag, &ws.coef);
    kind.pull_back(theta, diag, coef, &ws.grad_z_tilde, -1.0, &mut ws.d_eta);
    let segments = ws.g_hat.chunks_mut(n).zip(ws.d_eta.chunks(n));
    for ((g_i, c_i), (sc_i, &f_b)) in segments.zip(ws.score.chunks(n).zip(&ws.segment_f_b)) {
        for ((g, &c), &sc) in g_i.iter_mut().zip(c_i).zip(sc_i) {
            *g = f_b * sc + eta * c;
        }
    }
    REBAR_EVALS * ws.segment_f_b.len()
}

/// Writes `∂ĝ/∂λ` into `ws.d_lambda` from the buffers [`sample`] filled.
fn lambda_derivative<V, O>(kind: &V, ws: &mut Workspace, f: &O, eta: f64, temperature: f64)
where
    V: VariableKind + ?Sized,
    O: Objective + ?Sized,
{
    // Tangent of the relaxed gradient at z.
    kind.relax_tangent(&ws.z, &ws.s, temperature, &mut ws.ds);
    f.relaxed_hessian_vector(&ws.s, &ws.ds, &mut ws.dgrad_s);
    kind.relax_pull_back_tangent(
        &ws.s,
        &ws.ds,
        &ws.grad_s,
        &ws.dgrad_s,
        temperature,
        &ws.grad_z,
        &mut ws.dgrad_z,
    );

    // Tangent of the relaxed value and gradient at z̃.
    kind.relax_tangent(&ws.z_tilde, &ws.s_tilde, temperature, &mut ws.ds_tilde);
    f.relaxed_hessian_vector(&ws.s_tilde, &ws.ds_tilde, &mut ws.dgrad_s_tilde);
    kind.relax_pull_back_tangent(
        &ws.s_tilde,
        &ws.ds_tilde,
        &ws.grad_s_tilde,
        &ws.dgrad_s_tilde,
        temperature,
        &ws.grad_z_tilde,
        &mut ws.dgrad_z_tilde,
    );
    let df_s_tilde: f64 = ws
        .grad_s_tilde
        .iter()
        .zip(&ws.ds_tilde)
        .map(|(&g, &d)| g * d)
        .sum();

    // Assemble η [−df̃ score + dgrad_z − Jᵀ dgrad_z̃].
    for ((out, &dgz), &sc) in ws.d_lambda.iter_mut().zip(&ws.dgrad_z).zip(&ws.score) {
        *out = eta * (dgz - df_s_tilde * sc);
    }
    kind.pull_back(
        &ws.theta,
        &ws.diag,
        &ws.coef,
        &ws.dgrad_z_tilde,
        -eta,
        &mut ws.d_lambda,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimator::variable::{Bernoulli, Categorical};
    use crate::problem::{BitsTarget, CategoricalTarget};
    use crate::rng::stream_from_seed;

    /// `ĝ`, `∂ĝ/∂η` and `∂ĝ/∂λ` of one sample drawn with the stream of `seed`.
    fn draw<V: VariableKind, O: Objective>(
        kind: &V,
        f: &O,
        phi: &[f64],
        params: RebarParams,
        seed: u64,
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut ws = Workspace::default();
        ws.prepare(kind, phi);
        let mut rng = stream_from_seed(seed);
        sample(kind, &mut ws, phi, params, f, &mut rng, true);
        (ws.g_hat.clone(), ws.d_eta.clone(), ws.d_lambda.clone())
    }

    /// Central differences in `η` and `λ` with the same noise.
    fn check<V: VariableKind, O: Objective>(kind: &V, f: &O, phi: &[f64], label: &str) {
        for coupling in [Coupling::Independent, Coupling::SameNoise] {
            for seed in 0..20 {
                let params = RebarParams {
                    eta: 0.7,
                    temperature: 0.6,
                    coupling,
                };
                let (_, d_eta, d_lambda) = draw(kind, f, phi, params, seed);
                let h = 1e-5;
                let shifted = |eta: f64, temperature: f64| {
                    let p = RebarParams {
                        eta,
                        temperature,
                        coupling,
                    };
                    draw(kind, f, phi, p, seed).0
                };
                let (eta_plus, eta_minus) = (shifted(0.7 + h, 0.6), shifted(0.7 - h, 0.6));
                let (lam_plus, lam_minus) = (shifted(0.7, 0.6 + h), shifted(0.7, 0.6 - h));
                for j in 0..phi.len() {
                    let numeric_eta = (eta_plus[j] - eta_minus[j]) / (2.0 * h);
                    let numeric_lambda = (lam_plus[j] - lam_minus[j]) / (2.0 * h);
                    let tolerance = 1e-6 * (1.0 + numeric_lambda.abs());
                    assert!(
                        (d_eta[j] - numeric_eta).abs() < 1e-6 * (1.0 + numeric_eta.abs()),
                        "{label} {coupling:?} dĝ_{j}/dη: {} vs {numeric_eta}",
                        d_eta[j]
                    );
                    assert!(
                        (d_lambda[j] - numeric_lambda).abs() < tolerance,
                        "{label} {coupling:?} dĝ_{j}/dλ: {} vs {numeric_lambda}",
                        d_lambda[j]
                    );
                }
            }
        }
    }

    #[test]
    fn lambda_and_eta_derivatives_match_finite_differences_binary() {
        let phi = [0.3, -1.2, 2.0, 0.0, -0.4];
        check(&Bernoulli, &BitsTarget::new(phi.len(), 0.45), &phi, "bits");
    }

    #[test]
    fn lambda_and_eta_derivatives_match_finite_differences_categorical() {
        let phi = [0.3, -1.2, 2.0, 0.5];
        let f = CategoricalTarget::new(vec![0.1, 0.2, 0.3, 0.4]);
        check(&Categorical { n_classes: 4 }, &f, &phi, "categorical");
    }
}
