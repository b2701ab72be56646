//! Independent bits (maths.md §2): `θ = sigmoid(φ)`, `b = H(z)`.
//!
//! Every map is a branch-free loop over the block using [`crate::math::fast`],
//! so the compiler vectorises it; 1 − θ is kept as `sigmoid(−φ)`.

use super::variable::VariableKind;
use crate::math::{fast, sigmoid};

/// Independent Bernoulli variables, one logit per bit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bernoulli;

/// One bit of the reparameterised sample: `(z, b)` from `φ` and `u`;
/// `u / (1 − u)` lies in `[1e-16, 1e16]` for an open uniform, so it is
/// normal.
#[inline(always)]
fn sample_bit(phi: f64, u: f64) -> (f64, f64) {
    let z = phi + fast::ln_normal(u / (1.0 - u));
    (z, indicator(z > 0.0))
}

/// One bit of the conditional sample: `(z̃, ∂z̃/∂φ)` (see
/// [`Bernoulli::conditional`]).
#[inline(always)]
fn conditional_bit(theta: f64, theta_bar: f64, b: f64, v: f64) -> (f64, f64) {
    let one = b > 0.5;
    // The side b lies on: denominator and numerator of the formulas.
    let (den, num) = if one {
        (theta_bar, theta)
    } else {
        (theta, theta_bar)
    };
    let sign = if one { 1.0 } else { -1.0 };
    let scaled_den = den * (1.0 - v);
    let z_tilde = sign * fast::ln_1p_nonneg(v / scaled_den);
    (z_tilde, v * num / (scaled_den + v))
}

/// 1.0 when `flag`, else 0.0 (compiles to a select).
#[inline(always)]
fn indicator(flag: bool) -> f64 {
    if flag { 1.0 } else { 0.0 }
}

impl VariableKind for Bernoulli {
    fn width(&self) -> usize {
        1
    }

    fn n_states(&self) -> usize {
        2
    }

    /// ```text
    /// θ = sigmoid(φ),  aux = 1 − θ = sigmoid(−φ)
    /// ```
    fn probabilities(&self, phi: &[f64], theta: &mut [f64], aux: &mut [f64]) {
        for ((t, a), &p) in theta.iter_mut().zip(aux.iter_mut()).zip(phi) {
            *t = sigmoid(p);
            *a = sigmoid(-p);
        }
    }

    /// ```text
    /// b = 1[u < θ]
    /// ```
    fn draw(&self, theta: &[f64], u: &[f64], b: &mut [f64]) {
        for ((bj, &tj), &uj) in b.iter_mut().zip(theta).zip(u) {
            *bj = indicator(uj < tj);
        }
    }

    /// ```text
    /// z = φ + log(u / (1 − u)),  b = H(z)
    /// ```
    fn reparameterise(&self, phi: &[f64], u: &[f64], z: &mut [f64], b: &mut [f64]) {
        for (((zj, bj), &pj), &uj) in z.iter_mut().zip(b.iter_mut()).zip(phi).zip(u) {
            (*zj, *bj) = sample_bit(pj, uj);
        }
    }

    /// With `c = v/(1−v)` and `θ̄ = 1 − θ`:
    ///
    /// ```text
    /// b = 1:  z̃ =  log(1 + c/θ̄),  ∂z̃/∂φ = c θ / (θ̄ + c)
    /// b = 0:  z̃ = −log(1 + c/θ),  ∂z̃/∂φ = c θ̄ / (θ + c)
    /// ```
    ///
    /// computed as `c/θ̄ = v / D` and `c θ/(θ̄ + c) = v θ / (D + v)` with
    /// `D = θ̄ (1 − v)` (`θ` for `b = 0`): two divisions, no cancellation.
    fn conditional(
        &self,
        _phi: &[f64],
        theta: &[f64],
        aux: &[f64],
        b: &[f64],
        v: &[f64],
        z_tilde: &mut [f64],
        diag: &mut [f64],
        coef: &mut [f64],
    ) {
        let inputs = theta.iter().zip(aux).zip(b).zip(v);
        let outputs = z_tilde.iter_mut().zip(diag.iter_mut());
        for ((zt, d), (((&t, &t_bar), &bj), &vj)) in outputs.zip(inputs) {
            (*zt, *d) = conditional_bit(t, t_bar, bj, vj);
        }
        coef.fill(0.0);
    }

    /// One fused pass of [`Bernoulli::reparameterise`] and
    /// [`Bernoulli::relax`].
    fn reparameterise_relaxed(
        &self,
        phi: &[f64],
        u: &[f64],
        temperature: f64,
        z: &mut [f64],
        b: &mut [f64],
        s: &mut [f64],
    ) {
        let inv = 1.0 / temperature;
        let outputs = z.iter_mut().zip(b.iter_mut()).zip(s.iter_mut());
        for (((zj, bj), sj), (&pj, &uj)) in outputs.zip(phi.iter().zip(u)) {
            let (value, gate) = sample_bit(pj, uj);
            (*zj, *bj, *sj) = (value, gate, fast::sigmoid(value * inv));
        }
    }

    /// One fused pass of [`Bernoulli::conditional`] and
    /// [`Bernoulli::relax`].
    fn conditional_relaxed(
        &self,
        _phi: &[f64],
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
        let inv = 1.0 / temperature;
        let inputs = theta.iter().zip(aux).zip(b).zip(v);
        let outputs = z_tilde
            .iter_mut()
            .zip(diag.iter_mut())
            .zip(s_tilde.iter_mut());
        for (((zt, d), st), (((&t, &t_bar), &bj), &vj)) in outputs.zip(inputs) {
            let (value, slope) = conditional_bit(t, t_bar, bj, vj);
            (*zt, *d, *st) = (value, slope, fast::sigmoid(value * inv));
        }
        coef.fill(0.0);
    }

    /// `z̃ = z`; the noise that reproduces `z` gives `c = θ̄ (e^z − 1)` for
    /// `b = 1` and `c = θ (e^{−z} − 1)` for `b = 0`, hence
    ///
    /// ```text
    /// b = 1:  ∂z̃/∂φ = θ (1 − e^{−z})
    /// b = 0:  ∂z̃/∂φ = θ̄ (1 − e^{z})
    /// ```
    fn conditional_same_noise(
        &self,
        theta: &[f64],
        aux: &[f64],
        b: &[f64],
        z: &[f64],
        z_tilde: &mut [f64],
        diag: &mut [f64],
        coef: &mut [f64],
    ) {
        z_tilde.copy_from_slice(z);
        for (((d, &t), &t_bar), (&bj, &zj)) in
            diag.iter_mut().zip(theta).zip(aux).zip(b.iter().zip(z))
        {
            *d = if bj > 0.5 {
                -t * (-zj).exp_m1()
            } else {
                -t_bar * zj.exp_m1()
            };
        }
        coef.fill(0.0);
    }

    /// ```text
    /// grad_phi += scale · diag ⊙ grad_z
    /// ```
    fn pull_back(
        &self,
        _theta: &[f64],
        diag: &[f64],
        _coef: &[f64],
        grad_z: &[f64],
        scale: f64,
        grad_phi: &mut [f64],
    ) {
        for ((g, &d), &gz) in grad_phi.iter_mut().zip(diag).zip(grad_z) {
            *g += scale * d * gz;
        }
    }

    /// ```text
    /// s = sigmoid(z / λ)
    /// ```
    fn relax(&self, z: &[f64], temperature: f64, s: &mut [f64]) {
        let inv = 1.0 / temperature;
        for (sj, &zj) in s.iter_mut().zip(z) {
            *sj = fast::sigmoid(zj * inv);
        }
    }

    /// ```text
    /// grad_z = grad_s · s (1 − s) / λ
    /// ```
    fn relax_pull_back(&self, s: &[f64], grad_s: &[f64], temperature: f64, grad_z: &mut [f64]) {
        let inv = 1.0 / temperature;
        for ((gz, &sj), &gs) in grad_z.iter_mut().zip(s).zip(grad_s) {
            *gz = gs * sj * (1.0 - sj) * inv;
        }
    }

    /// ```text
    /// ds/dλ = −s (1 − s) z / λ²
    /// ```
    fn relax_tangent(&self, z: &[f64], s: &[f64], temperature: f64, ds: &mut [f64]) {
        let inv_sq = 1.0 / (temperature * temperature);
        for ((d, &zj), &sj) in ds.iter_mut().zip(z).zip(s) {
            *d = -sj * (1.0 - sj) * zj * inv_sq;
        }
    }

    /// ```text
    /// d grad_z/dλ = [dgrad_s s(1−s) + grad_s (1 − 2s) ds] / λ − grad_z / λ
    /// ```
    fn relax_pull_back_tangent(
        &self,
        s: &[f64],
        ds: &[f64],
        grad_s: &[f64],
        dgrad_s: &[f64],
        temperature: f64,
        grad_z: &[f64],
        dgrad_z: &mut [f64],
    ) {
        let inv = 1.0 / temperature;
        let inputs = s.iter().zip(ds).zip(grad_s.iter().zip(dgrad_s)).zip(grad_z);
        for (out, (((&sj, &dsj), (&gs, &dgs)), &gz)) in dgrad_z.iter_mut().zip(inputs) {
            *out = (dgs * sj * (1.0 - sj) + gs * (1.0 - 2.0 * sj) * dsj) * inv - gz * inv;
        }
    }
}
