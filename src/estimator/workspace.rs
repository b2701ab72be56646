//! Buffers reused from one estimate to the next, and the cached
//! probabilities of the last `φ` seen.
//!
//! An [`super::Estimator`] owns one workspace, so repeated calls allocate
//! nothing once the block size is known, and calls at an unchanged `φ` (a
//! variance study, several samples of one step) skip recomputing `θ`.

use rand::Rng;

use super::variable::VariableKind;
use crate::math::fast;

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
    /// Per-segment `f(b)` of a batch of REBAR samples.
    pub segment_f_b: Vec<f64>,
    /// Per-segment `f(s̃)` of a batch of REBAR samples.
    pub segment_f_s_tilde: Vec<f64>,
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
        // Bitwise comparison without early exit, so it vectorises.
        let same = self.cached_phi.len() == n
            && self
                .cached_phi
                .iter()
                .zip(phi)
                .fold(true, |same, (a, b)| same & (a.to_bits() == b.to_bits()));
        if !same {
            kind.probabilities(phi, &mut self.theta, &mut self.aux);
            self.cached_phi.clear();
            self.cached_phi.extend_from_slice(phi);
        }
    }
}

/// Below this many uniforms, [`fill_uniform`] draws them one by one from
/// the caller's generator; from here on, seeding lanes pays off.
const LANE_THRESHOLD: usize = 32;
/// Independent generators run side by side by [`fill_uniform`].
const N_LANES: usize = 4;

/// Fills `out` with uniforms strictly inside (0, 1), each
///
/// ```text
/// u = (k + 0.5) / 2^52,  k = word >> 12
/// ```
///
/// from a 64-bit word, as [`crate::rng::open_uniform`] does. Short
/// slices take their words from `rng` directly (the same values
/// `open_uniform` would return). Longer ones seed [`N_LANES`]
/// xoshiro256++ generators with 256 bits each from `rng` and draw from
/// them in turn, lane `i` filling `out[i], out[i + 4], ...`, so the loop
/// vectorises; `rng` advances by 16 words per call.
pub(crate) fn fill_uniform<R: Rng + ?Sized>(rng: &mut R, out: &mut [f64]) {
    if out.len() < LANE_THRESHOLD {
        for x in out.iter_mut() {
            *x = uniform_from_word(rng.next_u64());
        }
        return;
    }
    fill_lanes::<N_LANES, R>(rng, out);
}

/// Generators run side by side by [`fill_uniform_wide`].
const WIDE_LANES: usize = 8;

/// [`fill_uniform`] with [`WIDE_LANES`] generators (lane `i` filling
/// `out[i], out[i + 8], ...`) for long slices, where seeding twice as
/// many lanes (32 words of `rng` per call) costs little and each step of
/// the generators fills a whole AVX-512 register.
pub(crate) fn fill_uniform_wide<R: Rng + ?Sized>(rng: &mut R, out: &mut [f64]) {
    fill_lanes::<WIDE_LANES, R>(rng, out);
}

/// Seeds `L` xoshiro256++ generators from `rng` and fills `out` from
/// them in turn.
fn fill_lanes<const L: usize, R: Rng + ?Sized>(rng: &mut R, out: &mut [f64]) {
    let mut state = [[0u64; L]; 4];
    for word in state.iter_mut() {
        for lane in word.iter_mut() {
            *lane = rng.next_u64();
        }
    }
    // An all-zero state would stay zero; 2^-256 per lane, but keep it safe.
    for lane in 0..L {
        if state.iter().all(|word| word[lane] == 0) {
            state[0][lane] = 0x9E37_79B9_7F4A_7C15;
        }
    }
    fast::vectorised(LaneUniforms { state, out });
}

/// `L` xoshiro256++ generators in structure-of-arrays form
/// (`state[word][lane]`), filling a slice of uniforms.
struct LaneUniforms<'a, const L: usize> {
    state: [[u64; L]; 4],
    out: &'a mut [f64],
}

impl<const L: usize> fast::Kernel for LaneUniforms<'_, L> {
    type Output = ();

    /// One xoshiro256++ step per lane per chunk:
    ///
    /// ```text
    /// out = rotl(s0 + s3, 23) + s0,  t = s1 << 17,
    /// s2 ^= s0, s3 ^= s1, s1 ^= s2, s0 ^= s3, s2 ^= t, s3 = rotl(s3, 45)
    /// ```
    #[inline(always)]
    fn run(self) {
        let [mut s0, mut s1, mut s2, mut s3] = self.state;
        for chunk in self.out.chunks_mut(L) {
            let mut words = [0u64; L];
            for lane in 0..L {
                words[lane] = s0[lane]
                    .wrapping_add(s3[lane])
                    .rotate_left(23)
                    .wrapping_add(s0[lane]);
                let t = s1[lane] << 17;
                s2[lane] ^= s0[lane];
                s3[lane] ^= s1[lane];
                s1[lane] ^= s2[lane];
                s0[lane] ^= s3[lane];
                s2[lane] ^= t;
                s3[lane] = s3[lane].rotate_left(45);
            }
            for (x, &word) in chunk.iter_mut().zip(&words) {
                *x = uniform_from_word(word);
            }
        }
    }
}

/// The open uniform of one 64-bit word (see [`fill_uniform`]).
#[inline(always)]
fn uniform_from_word(word: u64) -> f64 {
    const TWO_POW_52_BITS: u64 = 0x4330_0000_0000_0000;
    const OFFSET: f64 = 4_503_599_627_370_496.0 - 0.5;
    const SCALE: f64 = 1.0 / 4_503_599_627_370_496.0;
    (f64::from_bits(TWO_POW_52_BITS | (word >> 12)) - OFFSET) * SCALE
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{OPEN_UNIFORM_MAX, OPEN_UNIFORM_MIN, open_uniform, stream_from_seed};

    #[test]
    fn short_fills_match_open_uniform() {
        let (mut a, mut b) = (stream_from_seed(3), stream_from_seed(3));
        let mut filled = vec![0.0; LANE_THRESHOLD - 1];
        for _ in 0..100 {
            fill_uniform(&mut a, &mut filled);
            for &x in &filled {
                assert_eq!(x.to_bits(), open_uniform(&mut b).to_bits());
            }
        }
        assert_eq!(uniform_from_word(0), OPEN_UNIFORM_MIN);
        assert_eq!(uniform_from_word(u64::MAX), OPEN_UNIFORM_MAX);
    }

    /// Lane uniforms: inside (0, 1), different on every call, and their
    /// mean, variance and neighbour (lane-to-lane) product within
    /// Bonferroni bounds at α = 0.001 over the three statistics.
    #[test]
    fn lane_fills_look_uniform() {
        let mut rng = stream_from_seed(4);
        let mut filled = vec![0.0; 1000];
        let (mut sum, mut sum_sq, mut sum_pair, mut n) = (0.0, 0.0, 0.0, 0.0);
        let mut previous = vec![0.0; 1000];
        for _ in 0..1000 {
            fill_uniform(&mut rng, &mut filled);
            assert_ne!(filled, previous);
            for &x in &filled {
                assert!(x > 0.0 && x < 1.0);
                sum += x - 0.5;
                sum_sq += (x - 0.5) * (x - 0.5) - 1.0 / 12.0;
                n += 1.0;
            }
            for pair in filled.windows(2) {
                sum_pair += (pair[0] - 0.5) * (pair[1] - 0.5);
            }
            previous.copy_from_slice(&filled);
        }
        // sd of u − 1/2 is sqrt(1/12); of (u − 1/2)² − 1/12, 1/sqrt(180);
        // of a product of two independent centred uniforms, 1/12.
        let z = 3.59; // Φ⁻¹(1 − 0.001 / 6)
        assert!(
            sum.abs() / n < z * (1.0f64 / 12.0).sqrt() / n.sqrt(),
            "mean off"
        );
        assert!(
            sum_sq.abs() / n < z * (1.0f64 / 180.0).sqrt() / n.sqrt(),
            "variance off"
        );
        let n_pairs = 1000.0 * 999.0;
        assert!(
            sum_pair.abs() / n_pairs < z * (1.0 / 12.0) / f64::sqrt(n_pairs),
            "neighbours correlated"
        );
    }
}
