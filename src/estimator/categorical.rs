//! One-hot categorical variables (maths.md §3 and §8): `θ = softmax(φ)` per
//! row of `K` logits, `b = one-hot(argmax_k z_k)`.
//!
//! The reparameterised sample is `z = φ + Gumbel noise` without
//! normalising `φ` (the argmax and the relaxation `softmax(z/λ)` do not
//! change when a row is shifted), so `∂z/∂φ = I`. The conditional sample
//! uses the log-sum-exp form of maths.md §8, which accepts unnormalised
//! logits and stays finite for logits of ±50.

use super::variable::VariableKind;
use crate::math::{fast, log_softmax_into};

/// Independent categorical variables over `n_classes` classes; a block
/// holds `n_vars` rows of `n_classes` logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Categorical {
    /// Classes per variable (at least 2).
    pub n_classes: usize,
}

/// Index of the one in a one-hot row.
fn hot_index(b_row: &[f64]) -> usize {
    b_row.iter().position(|&x| x > 0.5).unwrap_or(0)
}

/// `−log(−log v)`: a standard Gumbel draw from a uniform `v` in (0, 1).
#[inline(always)]
fn gumbel(v: f64) -> f64 {
    -fast::ln(-fast::ln(v))
}

fast::dispatched! {
    /// `z_j = φ_j + gumbel(u_j)`.
    fn perturb(phi: &[f64], u: &[f64], z: &mut [f64]) {
        for (zj, (&pj, &uj)) in z.iter_mut().zip(phi.iter().zip(u)) {
            *zj = pj + gumbel(uj);
        }
    }
}

fast::dispatched! {
    /// [`Categorical::conditional`]'s loops over rows of `k` classes: `z̃`
    /// and the diagonal and rank-one parts of `∂z̃/∂φ` from `φ`, `log θ`,
    /// `b` and `v`.
    #[allow(clippy::too_many_arguments)]
    fn conditional_rows(
        k: usize,
        phi: &[f64],
        aux: &[f64],
        b: &[f64],
        v: &[f64],
        z_tilde: &mut [f64],
        diag: &mut [f64],
        coef: &mut [f64],
    ) {
        let rows = phi
            .chunks(k)
            .zip(aux.chunks(k))
            .zip(b.chunks(k))
            .zip(v.chunks(k));
        let outs = z_tilde
            .chunks_mut(k)
            .zip(diag.chunks_mut(k))
            .zip(coef.chunks_mut(k));
        for ((((phi_row, log_theta), b_row), v_row), ((zt, d), c)) in rows.zip(outs) {
            let winner = hot_index(b_row);
            let lse = phi_row[0] - log_theta[0];
            let log_t2 = fast::ln(-fast::ln(v_row[winner])) - lse;
            for j in 0..k {
                // Log of T1 = −log(v_j) e^{−φ_j}; the winner's entry is replaced below.
                let log_t1 = fast::ln(-fast::ln(v_row[j])) - phi_row[j];
                let gap = log_t1 - log_t2;
                zt[j] = -(log_t1.max(log_t2) + fast::ln_1p(fast::exp(-gap.abs())));
                d[j] = fast::sigmoid(gap);
                c[j] = fast::sigmoid(-gap);
            }
            zt[winner] = -log_t2;
            d[winner] = 0.0;
            c[winner] = 1.0;
        }
    }
}

fast::dispatched! {
    /// `s = softmax(z · inv)` per row of `k`.
    fn softmax_rows(k: usize, z: &[f64], inv: f64, s: &mut [f64]) {
        for (z_row, s_row) in z.chunks(k).zip(s.chunks_mut(k)) {
            let max = z_row.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x)) * inv;
            let mut total = 0.0;
            for (sj, &zj) in s_row.iter_mut().zip(z_row) {
                *sj = fast::exp(zj * inv - max);
                total += *sj;
            }
            let norm = 1.0 / total;
            s_row.iter_mut().for_each(|sj| *sj *= norm);
        }
    }
}

impl VariableKind for Categorical {
    fn width(&self) -> usize {
        self.n_classes
    }

    fn n_states(&self) -> usize {
        self.n_classes
    }

    /// ```text
    /// θ = softmax(φ),  aux = log θ = φ − logsumexp(φ)   (per row)
    /// ```
    fn probabilities(&self, phi: &[f64], theta: &mut [f64], aux: &mut [f64]) {
        let k = self.n_classes;
        for ((row, t), a) in phi
            .chunks(k)
            .zip(theta.chunks_mut(k))
            .zip(aux.chunks_mut(k))
        {
            log_softmax_into(row, a);
            for (tj, &aj) in t.iter_mut().zip(a.iter()) {
                *tj = aj.exp();
            }
        }
    }

    /// The first class whose cumulative probability exceeds `u` (the last
    /// class when rounding leaves the sum just below `u`).
    fn draw(&self, theta: &[f64], u: &[f64], b: &mut [f64]) {
        let k = self.n_classes;
        for ((probs, row), &uj) in theta.chunks(k).zip(b.chunks_mut(k)).zip(u) {
            let mut cumulative = 0.0;
            let mut chosen = k - 1;
            for (index, &p) in probs.iter().enumerate() {
                cumulative += p;
                if uj < cumulative {
                    chosen = index;
                    break;
                }
            }
            row.fill(0.0);
            row[chosen] = 1.0;
        }
    }

    /// ```text
    /// z_k = φ_k − log(−log u_k),  b = one-hot(argmax_k z_k)
    /// ```
    fn reparameterise(&self, phi: &[f64], u: &[f64], z: &mut [f64], b: &mut [f64]) {
        let k = self.n_classes;
        perturb(phi, u, z);
        for (z_row, b_row) in z.chunks(k).zip(b.chunks_mut(k)) {
            let mut best = 0;
            for (index, &value) in z_row.iter().enumerate() {
                if value > z_row[best] {
                    best = index;
                }
            }
            b_row.fill(0.0);
            b_row[best] = 1.0;
        }
    }

    /// With `ℓ = logsumexp(φ)`, `L_k = log(−log v_k)` and winner `b`:
    ///
    /// ```text
    /// z̃_b = ℓ − L_b                                 ∂z̃_b/∂φ_j = θ_j
    /// z̃_k = −logsumexp(L_k − φ_k, L_b − ℓ)          ∂z̃_k/∂φ_j = w_k 1[j=k] + (1 − w_k) θ_j
    /// w_k = sigmoid((L_k − φ_k) − (L_b − ℓ))
    /// ```
    fn conditional(
        &self,
        phi: &[f64],
        _theta: &[f64],
        aux: &[f64],
        b: &[f64],
        v: &[f64],
        z_tilde: &mut [f64],
        diag: &mut [f64],
        coef: &mut [f64],
    ) {
        let k = self.n_classes;
        conditional_rows(k, phi, aux, b, v, z_tilde, diag, coef);
    }

    /// `z̃ = z`; the noise that reproduces `z` gives `w_k = 1 − e^{z_k − z_b}`.
    fn conditional_same_noise(
        &self,
        _theta: &[f64],
        _aux: &[f64],
        b: &[f64],
        z: &[f64],
        z_tilde: &mut [f64],
        diag: &mut [f64],
        coef: &mut [f64],
    ) {
        let k = self.n_classes;
        z_tilde.copy_from_slice(z);
        let rows = b.chunks(k).zip(z.chunks(k));
        for ((b_row, z_row), (d, c)) in rows.zip(diag.chunks_mut(k).zip(coef.chunks_mut(k))) {
            let winner = hot_index(b_row);
            let z_winner = z_row[winner];
            for j in 0..k {
                let gap = z_row[j] - z_winner;
                d[j] = -gap.exp_m1();
                c[j] = gap.exp();
            }
            d[winner] = 0.0;
            c[winner] = 1.0;
        }
    }

    /// ```text
    /// grad_phi_j += scale · (diag_j grad_z_j + θ_j Σ_k coef_k grad_z_k)   (per row)
    /// ```
    fn pull_back(
        &self,
        theta: &[f64],
        diag: &[f64],
        coef: &[f64],
        grad_z: &[f64],
        scale: f64,
        grad_phi: &mut [f64],
    ) {
        let k = self.n_classes;
        let rows = theta
            .chunks(k)
            .zip(diag.chunks(k))
            .zip(coef.chunks(k))
            .zip(grad_z.chunks(k));
        for ((((t, d), c), gz), g) in rows.zip(grad_phi.chunks_mut(k)) {
            let shared: f64 = c.iter().zip(gz).map(|(&cj, &gj)| cj * gj).sum();
            for j in 0..k {
                g[j] += scale * (d[j] * gz[j] + t[j] * shared);
            }
        }
    }

    /// ```text
    /// s = softmax(z / λ)   (per row)
    /// ```
    fn relax(&self, z: &[f64], temperature: f64, s: &mut [f64]) {
        softmax_rows(self.n_classes, z, 1.0 / temperature, s);
    }

    /// ```text
    /// grad_z_k = s_k (grad_s_k − ⟨s, grad_s⟩) / λ   (per row)
    /// ```
    fn relax_pull_back(&self, s: &[f64], grad_s: &[f64], temperature: f64, grad_z: &mut [f64]) {
        let k = self.n_classes;
        let inv = 1.0 / temperature;
        for ((s_row, gs), gz) in s.chunks(k).zip(grad_s.chunks(k)).zip(grad_z.chunks_mut(k)) {
            let mean = dot(s_row, gs);
            for j in 0..k {
                gz[j] = s_row[j] * (gs[j] - mean) * inv;
            }
        }
    }

    /// ```text
    /// ds_k/dλ = s_k (a_k − ⟨s, a⟩),  a = −z / λ²   (per row)
    /// ```
    fn relax_tangent(&self, z: &[f64], s: &[f64], temperature: f64, ds: &mut [f64]) {
        let k = self.n_classes;
        let inv_sq = 1.0 / (temperature * temperature);
        for ((z_row, s_row), d) in z.chunks(k).zip(s.chunks(k)).zip(ds.chunks_mut(k)) {
            let mean = -dot(s_row, z_row) * inv_sq;
            for j in 0..k {
                d[j] = s_row[j] * (-z_row[j] * inv_sq - mean);
            }
        }
    }

    /// ```text
    /// d grad_z_k/dλ = [ds_k (gs_k − ⟨s,gs⟩) + s_k (dgs_k − ⟨ds,gs⟩ − ⟨s,dgs⟩)] / λ
    ///                 − grad_z_k / λ
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
        let k = self.n_classes;
        let inv = 1.0 / temperature;
        let rows = s
            .chunks(k)
            .zip(ds.chunks(k))
            .zip(grad_s.chunks(k).zip(dgrad_s.chunks(k)));
        let outs = grad_z.chunks(k).zip(dgrad_z.chunks_mut(k));
        for (((s_row, ds_row), (gs, dgs)), (gz, out)) in rows.zip(outs) {
            let s_gs = dot(s_row, gs);
            let ds_gs = dot(ds_row, gs);
            let s_dgs = dot(s_row, dgs);
            for j in 0..k {
                let inner = ds_row[j] * (gs[j] - s_gs) + s_row[j] * (dgs[j] - ds_gs - s_dgs);
                out[j] = inner * inv - gz[j] * inv;
            }
        }
    }
}

/// `Σ_j a_j b_j`.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With normalised logits, the log-sum-exp form equals maths.md §3:
    /// `z̃_b = −log(−log v_b)`, `z̃_k = −log(−log(v_k)/θ_k − log(v_b))`.
    #[test]
    fn log_form_matches_the_normalised_formula() {
        let kind = Categorical { n_classes: 4 };
        let logits = [0.5, -1.0, 2.0, 0.1];
        let mut theta = [0.0; 4];
        let mut log_theta = [0.0; 4];
        kind.probabilities(&logits, &mut theta, &mut log_theta);
        let v = [0.3, 0.9, 0.05, 0.6];
        for winner in 0..4 {
            let mut b = [0.0; 4];
            b[winner] = 1.0;
            let (mut zt, mut d, mut c) = ([0.0; 4], [0.0; 4], [0.0; 4]);
            // Normalised logits log θ, and the same logits shifted by 7.
            for shift in [0.0, 7.0] {
                let phi: Vec<f64> = log_theta.iter().map(|l| l + shift).collect();
                let mut aux = [0.0; 4];
                let mut th = [0.0; 4];
                kind.probabilities(&phi, &mut th, &mut aux);
                kind.conditional(&phi, &th, &aux, &b, &v, &mut zt, &mut d, &mut c);
                for k in 0..4 {
                    let expected = if k == winner {
                        -(-v[winner].ln()).ln()
                    } else {
                        -(-v[k].ln() / theta[k] - v[winner].ln()).ln()
                    };
                    assert!(
                        (zt[k] - shift - expected).abs() < 1e-12,
                        "k={k} shift={shift}"
                    );
                }
            }
        }
    }

    #[test]
    fn extreme_logits_stay_finite() {
        let kind = Categorical { n_classes: 3 };
        let phi = [50.0, -50.0, 0.0];
        let (mut theta, mut aux) = ([0.0; 3], [0.0; 3]);
        kind.probabilities(&phi, &mut theta, &mut aux);
        for winner in 0..3 {
            let mut b = [0.0; 3];
            b[winner] = 1.0;
            let (mut zt, mut d, mut c) = ([0.0; 3], [0.0; 3], [0.0; 3]);
            kind.conditional(
                &phi,
                &theta,
                &aux,
                &b,
                &[1e-16, 0.5, 1.0 - 1e-16],
                &mut zt,
                &mut d,
                &mut c,
            );
            assert!(zt.iter().chain(&d).chain(&c).all(|x| x.is_finite()));
        }
    }
}
