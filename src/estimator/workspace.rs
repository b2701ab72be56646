//! Buffers reused from one estimate to the next, and the cached
//! probabilities of the last `φ` seen.
//!
//! An [`super::Estimator`] owns one workspace, so repeated calls allocate
//! nothing once the block size is known, and calls at an unchanged `φ` (a
//! variance study, several samples of one step) skip recomputing `θ`.

use rand::Rng;

use super::variable::VariableKind;
use crate::rng::open_uniform;

/// Scratch space for one block; every buffer has the block's length.
#[derive(Debug, Clone, Default)]
pub(crate) struct Workspace {
    /// The `φ` at which `theta` and `aux` were computed.
    cached_phi: Vec<f64>,
    /// `θ` at `cached_phi`.
    pub theta: Vec<f64>,
    /// The kind's extra cached quantity (see [`VariableKind`]).
    pub aux: Vec<f64>,
    /// Uniforms for the reparameterised sample (or inversion draws).
    pub u: Vec<f64>,
    /// Uniforms for the conditional sample.
    pub v: Vec<f64>,
    /// Reparameterised sample `z`.
    pub z: Vec<f64>,
    /// Discrete sample `b`.
    pub b: Vec<f64>,
    /// A second discrete sample (antithetic estimators).
    pub b_other: Vec<f64>,
    /// `s = relax(z)`.
    pub s: Vec<f64>,
    /// `∂f/∂s` at `s`.
    pub grad_s: Vec<f64>,
    /// `(∂s/∂z)ᵀ ∂f/∂s`.
    pub grad_z: Vec<f64>,
    /// Conditional sample `z̃`.
    pub z_tilde: Vec<f64>,
    /// `s̃ = relax(z̃)`.
    pub s_tilde: Vec<f64>,
    /// `∂f/∂s` at `s̃`.
    pub grad_s_tilde: Vec<f64>,
    /// `(∂s̃/∂z̃)ᵀ ∂f/∂s̃`.
    pub grad_z_tilde: Vec<f64>,
    /// Diagonal part of `∂z̃/∂φ`.
    pub diag: Vec<f64>,
    /// Rank-one part of `∂z̃/∂φ`.
    pub coef: Vec<f64>,
    /// Score `b − θ`.
    pub score: Vec<f64>,
    /// One sample's estimate.
    pub g_hat: Vec<f64>,
    /// `∂ĝ/∂η` of one sample.
    pub d_eta: Vec<f64>,
    /// `∂ĝ/∂λ` of one sample.
    pub d_lambda: Vec<f64>,
    /// Tangents in `λ`: `ds`, `d grad_s`, `d grad_z` at `z` and at `z̃`.
    pub ds: Vec<f64>,
    /// See `ds`.
    pub dgrad_s: Vec<f64>,
    /// See `ds`.
    pub dgrad_z: Vec<f64>,
    /// See `ds`.
    pub ds_tilde: Vec<f64>,
    /// See `ds`.
    pub dgrad_s_tilde: Vec<f64>,
    /// See `ds`.
    pub dgrad_z_tilde: Vec<f64>,
}

impl Workspace {
    /// Sizes every buffer for `phi` and refreshes `θ` if `φ` changed.
    pub fn prepare<V: VariableKind + ?Sized>(&mut self, kind: &V, phi: &[f64]) {
        let n = phi.len();
        if self.theta.len() != n {
            for buffer in [
                &mut self.theta,
                &mut self.aux,
                &mut self.u,
                &mut self.v,
                &mut self.z,
                &mut self.b,
                &mut self.b_other,
                &mut self.s,
                &mut self.grad_s,
                &mut self.grad_z,
                &mut self.z_tilde,
                &mut self.s_tilde,
                &mut self.grad_s_tilde,
                &mut self.grad_z_tilde,
                &mut self.diag,
                &mut self.coef,
                &mut self.score,
                &mut self.g_hat,
                &mut self.d_eta,
                &mut self.d_lambda,
                &mut self.ds,
                &mut self.dgrad_s,
                &mut self.dgrad_z,
                &mut self.ds_tilde,
                &mut self.dgrad_s_tilde,
                &mut self.dgrad_z_tilde,
            ] {
                buffer.clear();
                buffer.resize(n, 0.0);
            }
            self.cached_phi.clear();
        }
        // Bitwise comparison: vectorises, and a NaN logit never matches.
        let same = self.cached_phi.len() == n
            && self
                .cached_phi
                .iter()
                .zip(phi)
                .all(|(a, b)| a.to_bits() == b.to_bits())
            && phi.iter().all(|p| !p.is_nan());
        if !same {
            kind.probabilities(phi, &mut self.theta, &mut self.aux);
            self.cached_phi.clear();
            self.cached_phi.extend_from_slice(phi);
        }
    }
}

/// Fills `out` with uniforms strictly inside (0, 1).
pub(crate) fn fill_uniform<R: Rng + ?Sized>(rng: &mut R, out: &mut [f64]) {
    for x in out.iter_mut() {
        *x = open_uniform(rng);
    }
}
