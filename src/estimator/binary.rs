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

/// One bit of the conditional sample before its logarithm: `(y, ∂z̃/∂φ)`
/// with `z̃ = ±ln(1 + y)` (sign `+` for `b = 1`; see
/// [`Bernoulli::conditional`]).
#[inline(always)]
fn conditional_ratio(theta: f64, theta_bar: f64, b: f64, v: f64) -> (f64, f64) {
    // The side b lies on: denominator and numerator of the formulas.
    let (den, num) = if b > 0.5 {
        (theta_bar, theta)
    } else {
        (theta, theta_bar)
    };
    let scaled_den = den * (1.0 - v);
    (v / scaled_den, v * num / (scaled_den + v))
}

/// `z̃ = ±ln(1 + y)` from [`conditional_ratio`]'s `y`.
#[inline(always)]
fn conditional_log(b: f64, ratio: f64) -> f64 {
    let sign = if b > 0.5 { 1.0 } else { -1.0 };
    sign * fast::ln_1p_nonneg(ratio)
}

/// The fused sample-and-relax loop, as a [`fast::Kernel`] so it is
/// compiled for the widest SIMD the CPU has.
struct SampleKernel<'a> {
    phi: &'a [f64],
    u: &'a [f64],
    inv: f64,
    z: &'a mut [f64],
    b: &'a mut [f64],
    s: &'a mut [f64],
}

impl fast::Kernel for SampleKernel<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        // Two short loops rather than one long one: each keeps several
        // iterations in flight, which the long fused body could not.
        let outputs = self.z.iter_mut().zip(self.b.iter_mut());
        for ((zj, bj), (&pj, &uj)) in outputs.zip(self.phi.iter().zip(self.u)) {
            (*zj, *bj) = sample_bit(pj, uj);
        }
        for (sj, &zj) in self.s.iter_mut().zip(self.z.iter()) {
            *sj = fast::sigmoid(zj * self.inv);
        }
    }
}

/// The fused conditional-sample-and-relax loop (see [`SampleKernel`]).
struct ConditionalKernel<'a> {
    theta: &'a [f64],
    theta_bar: &'a [f64],
    b: &'a [f64],
    v: &'a [f64],
    inv: f64,
    z_tilde: &'a mut [f64],
    diag: &'a mut [f64],
    s_tilde: &'a mut [f64],
}

impl fast::Kernel for ConditionalKernel<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let inputs = self
            .theta
            .iter()
            .zip(self.theta_bar)
            .zip(self.b)
            .zip(self.v);
        // Three short loops (see `SampleKernel`); z̃ holds y in between.
        let outputs = self.z_tilde.iter_mut().zip(self.diag.iter_mut());
        for ((zt, d), (((&t, &t_bar), &bj), &vj)) in outputs.zip(inputs) {
            (*zt, *d) = conditional_ratio(t, t_bar, bj, vj);
        }
        for (zt, &bj) in self.z_tilde.iter_mut().zip(self.b) {
            *zt = conditional_log(bj, *zt);
        }
        for (st, &zt) in self.s_tilde.iter_mut().zip(self.z_tilde.iter()) {
            *st = fast::sigmoid(zt * self.inv);
        }
    }
}

fast::dispatched! {
    /// [`Bernoulli::reparameterise`]'s loop.
    fn reparameterise_bits(phi: &[f64], u: &[f64], z: &mut [f64], b: &mut [f64]) {
        for (((zj, bj), &pj), &uj) in z.iter_mut().zip(b.iter_mut()).zip(phi).zip(u) {
            (*zj, *bj) = sample_bit(pj, uj);
        }
    }
}

fast::dispatched! {
    /// [`Bernoulli::conditional`]'s loop: `z̃` and `∂z̃/∂φ` from `θ`, `θ̄`,
    /// `b` and `v`.
    fn conditional_bits(
        theta: &[f64],
        theta_bar: &[f64],
        b: &[f64],
        v: &[f64],
        z_tilde: &mut [f64],
        diag: &mut [f64],
    ) {
        let inputs = theta.iter().zip(theta_bar).zip(b).zip(v);
        let outputs = z_tilde.iter_mut().zip(diag.iter_mut());
        for ((zt, d), (((&t, &t_bar), &bj), &vj)) in outputs.zip(inputs) {
            let (ratio, slope) = conditional_ratio(t, t_bar, bj, vj);
            (*zt, *d) = (conditional_log(bj, ratio), slope);
        }
    }
}

fast::dispatched! {
    /// [`Bernoulli::relax`]'s loop (`inv = 1/λ`).
    fn relax_bits(z: &[f64], inv: f64, s: &mut [f64]) {
        for (sj, &zj) in s.iter_mut().zip(z) {
            *sj = fast::sigmoid(zj * inv);
        }
    }
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
        reparameterise_bits(phi, u, z, b);
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
        conditional_bits(theta, aux, b, v, z_tilde, diag);
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
        fast::vectorised(SampleKernel {
            phi,
            u,
            inv,
            z,
            b,
            s,
        });
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
        fast::vectorised(ConditionalKernel {
            theta,
            theta_bar: aux,
            b,
            v,
            inv: 1.0 / temperature,
            z_tilde,
            diag,
            s_tilde,
        });
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
        fast::zip_map(grad_phi, diag, grad_z, |g, d, gz| g + scale * d * gz);
    }

    /// ```text
    /// s = sigmoid(z / λ)
    /// ```
    fn relax(&self, z: &[f64], temperature: f64, s: &mut [f64]) {
        relax_bits(z, 1.0 / temperature, s);
    }

    /// ```text
    /// grad_z = grad_s · s (1 − s) / λ
    /// ```
    fn relax_pull_back(&self, s: &[f64], grad_s: &[f64], temperature: f64, grad_z: &mut [f64]) {
        let inv = 1.0 / temperature;
        fast::zip_map(grad_z, s, grad_s, |_, sj, gs| gs * sj * (1.0 - sj) * inv);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{open_uniform, stream_from_seed};

    /// The fused, SIMD-dispatched passes give exactly the values of the
    /// per-bit formulas evaluated one at a time, and of the unfused
    /// `reparameterise`/`conditional` followed by `relax`.
    #[test]
    fn fused_passes_match_the_per_bit_formulas_bit_for_bit() {
        let mut rng = stream_from_seed(31);
        let n = 103; // not a multiple of the SIMD width
        let draw = |rng: &mut crate::rng::Stream| -> Vec<f64> {
            (0..n).map(|_| open_uniform(rng)).collect()
        };
        let phi: Vec<f64> = draw(&mut rng).iter().map(|u| 20.0 * (u - 0.5)).collect();
        let (u, v) = (draw(&mut rng), draw(&mut rng));
        let (mut theta, mut aux) = (vec![0.0; n], vec![0.0; n]);
        Bernoulli.probabilities(&phi, &mut theta, &mut aux);
        for temperature in [0.01, 0.5, 3.0] {
            let inv = 1.0 / temperature;
            let (mut z, mut b, mut s) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            Bernoulli.reparameterise_relaxed(&phi, &u, temperature, &mut z, &mut b, &mut s);
            let (mut z2, mut b2, mut s2) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            Bernoulli.reparameterise(&phi, &u, &mut z2, &mut b2);
            Bernoulli.relax(&z2, temperature, &mut s2);
            let mut zt = vec![0.0; n];
            let (mut d, mut c, mut st) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            Bernoulli.conditional_relaxed(
                &phi,
                &theta,
                &aux,
                &b,
                &v,
                temperature,
                &mut zt,
                &mut d,
                &mut c,
                &mut st,
            );
            let mut zt2 = vec![0.0; n];
            let (mut d2, mut c2, mut st2) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            Bernoulli.conditional(&phi, &theta, &aux, &b, &v, &mut zt2, &mut d2, &mut c2);
            Bernoulli.relax(&zt2, temperature, &mut st2);
            for j in 0..n {
                let (z_one, b_one) = sample_bit(phi[j], u[j]);
                let (ratio, slope) = conditional_ratio(theta[j], aux[j], b_one, v[j]);
                let zt_one = conditional_log(b_one, ratio);
                let expected = [
                    z_one,
                    b_one,
                    fast::sigmoid(z_one * inv),
                    zt_one,
                    slope,
                    fast::sigmoid(zt_one * inv),
                ];
                for got in [
                    [z[j], b[j], s[j], zt[j], d[j], st[j]],
                    [z2[j], b2[j], s2[j], zt2[j], d2[j], st2[j]],
                ] {
                    for (g, e) in got.iter().zip(&expected) {
                        assert_eq!(g.to_bits(), e.to_bits(), "bit {j}, λ = {temperature}");
                    }
                }
            }
        }
    }
}
