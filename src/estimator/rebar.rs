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
use super::workspace::{Workspace, fill_uniform};

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
    let RebarParams {
        eta,
        temperature,
        coupling,
    } = params;

    // Reparameterised sample, its gate and the discrete evaluation.
    fill_uniform(rng, &mut ws.u);
    kind.reparameterise(phi, &ws.u, &mut ws.z, &mut ws.b);
    let f_b = f.value(&ws.b);

    // Relaxed term at z (∂z/∂φ = I).
    kind.relax(&ws.z, temperature, &mut ws.s);
    f.relaxed_value_grad(&ws.s, &mut ws.grad_s);
    kind.relax_pull_back(&ws.s, &ws.grad_s, temperature, &mut ws.grad_z);

    // Conditional sample z̃ | b with its Jacobian (maths.md §2, §3, §8).
    match coupling {
        Coupling::Independent => {
            fill_uniform(rng, &mut ws.v);
            kind.conditional(
                phi,
                &ws.theta,
                &ws.aux,
                &ws.b,
                &ws.v,
                &mut ws.z_tilde,
                &mut ws.diag,
                &mut ws.coef,
            );
        }
        Coupling::SameNoise => kind.conditional_same_noise(
            &ws.theta,
            &ws.aux,
            &ws.b,
            &ws.z,
            &mut ws.z_tilde,
            &mut ws.diag,
            &mut ws.coef,
        ),
    }

    // Relaxed term at z̃.
    kind.relax(&ws.z_tilde, temperature, &mut ws.s_tilde);
    let f_s_tilde = f.relaxed_value_grad(&ws.s_tilde, &mut ws.grad_s_tilde);
    kind.relax_pull_back(
        &ws.s_tilde,
        &ws.grad_s_tilde,
        temperature,
        &mut ws.grad_z_tilde,
    );

    // C = −f(s̃) score + grad_z − Jᵀ grad_z̃, then ĝ = f(b) score + η C.
    kind.score(&ws.b, &ws.theta, &mut ws.score);
    for ((c, &gz), &sc) in ws.d_eta.iter_mut().zip(&ws.grad_z).zip(&ws.score) {
        *c = gz - f_s_tilde * sc;
    }
    kind.pull_back(
        &ws.theta,
        &ws.diag,
        &ws.coef,
        &ws.grad_z_tilde,
        -1.0,
        &mut ws.d_eta,
    );
    for ((g, &c), &sc) in ws.g_hat.iter_mut().zip(&ws.d_eta).zip(&ws.score) {
        *g = f_b * sc + eta * c;
    }

    if with_lambda {
        lambda_derivative(kind, ws, f, eta, temperature);
    }
    REBAR_EVALS
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
