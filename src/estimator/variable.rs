//! The kind of a discrete variable: the handful of maps in which binary and
//! categorical variables differ (maths.md §2, §3 and §8).
//!
//! Every estimator is written once against [`VariableKind`]; [`Bernoulli`]
//! and [`Categorical`] implement it. All slices of a block have the block's
//! length `n = n_vars · width` (one coordinate per bit, `K` per categorical
//! variable), and rows of `width` coordinates are independent variables.
//!
//! Conditional samples `z̃ | b` come with their Jacobian in `φ` in a form
//! shared by both kinds: within one variable's row,
//!
//! ```text
//! ∂z̃_k/∂φ_j = diag_k · 1[j = k] + coef_k · θ_j
//! ```
//!
//! (binary: `coef = 0`; categorical: maths.md §8), so a pull-back costs
//! `O(n)`, never `O(n K)`.

pub use super::binary::Bernoulli;
pub use super::categorical::Categorical;

/// The maps an estimator needs from one kind of discrete variable.
///
/// `phi` are logits, `theta` the probabilities from
/// [`VariableKind::probabilities`], `aux` the kind's cached extra
/// quantity (binary: `1 − θ` computed as `sigmoid(−φ)`; categorical:
/// `log θ`), `z` a reparameterised sample, `b` the discrete sample
/// (0/1 per bit or one-hot rows), `s` a relaxed sample and `λ` the
/// temperature.
pub trait VariableKind {
    /// Coordinates per variable (1 for a bit, `K` for a categorical).
    fn width(&self) -> usize;

    /// Values one variable can take (2 for a bit, `K` for a categorical).
    fn n_states(&self) -> usize;

    /// Writes `θ` (sigmoid or softmax per row) and `aux`.
    fn probabilities(&self, phi: &[f64], theta: &mut [f64], aux: &mut [f64]);

    /// Draws `b ~ p(b|θ)` by inversion from one uniform per variable
    /// (`u.len() == n_vars`).
    fn draw(&self, theta: &[f64], u: &[f64], b: &mut [f64]);

    /// The reparameterised sample from one uniform per coordinate and its
    /// gate, with `∂z/∂φ = I`.
    ///
    /// ```text
    /// binary:      z = φ + logit(u),          b = H(z)
    /// categorical: z_k = φ_k − log(−log u_k), b = one-hot(argmax_k z_k)
    /// ```
    fn reparameterise(&self, phi: &[f64], u: &[f64], z: &mut [f64], b: &mut [f64]);

    /// A draw of `z̃ ~ p(z | b)` from fresh uniforms `v` (one per
    /// coordinate), with its Jacobian in `φ` (`diag`, `coef`, see the
    /// module docs), holding `b` and `v` fixed.
    #[allow(clippy::too_many_arguments)]
    fn conditional(
        &self,
        phi: &[f64],
        theta: &[f64],
        aux: &[f64],
        b: &[f64],
        v: &[f64],
        z_tilde: &mut [f64],
        diag: &mut [f64],
        coef: &mut [f64],
    );

    /// The same-noise conditional: `z̃ = z` in value, with the Jacobian of
    /// the conditional sampler at the noise that reproduces `z` given `b`
    /// (maths.md §8).
    #[allow(clippy::too_many_arguments)]
    fn conditional_same_noise(
        &self,
        theta: &[f64],
        aux: &[f64],
        b: &[f64],
        z: &[f64],
        z_tilde: &mut [f64],
        diag: &mut [f64],
        coef: &mut [f64],
    );

    /// `grad_phi += scale · Jᵀ grad_z` for a Jacobian in the
    /// (`diag`, `coef`) form.
    fn pull_back(
        &self,
        theta: &[f64],
        diag: &[f64],
        coef: &[f64],
        grad_z: &[f64],
        scale: f64,
        grad_phi: &mut [f64],
    );

    /// The relaxation `s = sigmoid(z/λ)` (binary) or `softmax(z/λ)` per row.
    fn relax(&self, z: &[f64], temperature: f64, s: &mut [f64]);

    /// `grad_z = (∂s/∂z)ᵀ grad_s` at `s = relax(z, λ)`.
    fn relax_pull_back(&self, s: &[f64], grad_s: &[f64], temperature: f64, grad_z: &mut [f64]);

    /// `ds/dλ` at `s = relax(z, λ)`, holding `z` fixed.
    fn relax_tangent(&self, z: &[f64], s: &[f64], temperature: f64, ds: &mut [f64]);

    /// The derivative in `λ` of [`VariableKind::relax_pull_back`], given
    /// `ds = ds/dλ` and `dgrad_s = d(grad_s)/dλ`.
    #[allow(clippy::too_many_arguments)]
    fn relax_pull_back_tangent(
        &self,
        s: &[f64],
        ds: &[f64],
        grad_s: &[f64],
        dgrad_s: &[f64],
        temperature: f64,
        grad_z: &[f64],
        dgrad_z: &mut [f64],
    );

    /// [`VariableKind::reparameterise`] followed by
    /// [`VariableKind::relax`] of `z`; kinds may fuse the two loops.
    fn reparameterise_relaxed(
        &self,
        phi: &[f64],
        u: &[f64],
        temperature: f64,
        z: &mut [f64],
        b: &mut [f64],
        s: &mut [f64],
    ) {
        self.reparameterise(phi, u, z, b);
        self.relax(z, temperature, s);
    }

    /// [`VariableKind::conditional`] followed by [`VariableKind::relax`]
    /// of `z̃` into `s_tilde`; kinds may fuse the two loops.
    #[allow(clippy::too_many_arguments)]
    fn conditional_relaxed(
        &self,
        phi: &[f64],
        theta: &[f64],
        aux: &[f64],
        b: &[f64],
        v: &[f64],
        temperature: f64,
        z_tilde: &mut [f64],
        diag: &mut [f64],
        coef: &mut [f64],
        s_tilde: &mut [f64],
    ) {
        self.conditional(phi, theta, aux, b, v, z_tilde, diag, coef);
        self.relax(z_tilde, temperature, s_tilde);
    }

    /// The score `∂ log p(b|φ)/∂φ = b − θ` (both kinds).
    fn score(&self, b: &[f64], theta: &[f64], out: &mut [f64]) {
        for ((o, &bj), &tj) in out.iter_mut().zip(b).zip(theta) {
            *o = bj - tj;
        }
    }
}
