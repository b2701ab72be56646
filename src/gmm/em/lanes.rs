//! The per-chunk arithmetic kernels of the EM pass ([`super::passes`]):
//! an exponential for non-positive arguments (responsibilities) and
//! reductions over points with eight fixed lanes, so that they vectorise
//! and add in the same order on every machine and SIMD path.

use crate::math::fast;

/// `ln 2` split so that `k · LN2_HIGH` is exact for `|k| < 2^11`.
const LN2_HIGH: f64 = 0.693_147_180_369_123_8;
/// `ln 2 − LN2_HIGH`.
const LN2_LOW: f64 = 1.908_214_929_270_587_7e-10;
/// Adding and subtracting `1.5 · 2^52` rounds to the nearest integer.
const ROUNDER: f64 = 6_755_399_441_055_744.0;
/// `2^52`: `(v + 2^52).to_bits()` holds the integer `v` in its low bits.
const TWO_POW_52: f64 = 4_503_599_627_370_496.0;
/// Below this, `e^x` is under `2^-1021` and is returned as 0.
const EXP_FLUSH: f64 = -708.0;

/// `e^x` for `x <= 0` (including `−inf`), for responsibilities: the
/// argument range needs none of the general function's overflow and
/// subnormal handling, so each value costs fewer operations. Results
/// below `e^-708` (relative to the largest term, 1) are flushed to 0.
///
/// ```text
/// e^x = 2^k · P(r),  k = round(x / ln 2),  r = x − k ln 2,  |r| <= ln(2)/2
/// P = Taylor polynomial of e^r of degree 13 (error below 1e-17)
/// ```
#[inline(always)]
pub(crate) fn exp_non_positive(x: f64) -> f64 {
    let clamped = x.max(EXP_FLUSH);
    let k = (clamped * std::f64::consts::LOG2_E + ROUNDER) - ROUNDER;
    let r = (clamped - k * LN2_HIGH) - k * LN2_LOW;
    let mut acc = 1.0 / 6_227_020_800.0;
    for divisor in [
        479_001_600.0,
        39_916_800.0,
        3_628_800.0,
        362_880.0,
        40_320.0,
        5_040.0,
        720.0,
        120.0,
        24.0,
        6.0,
        2.0,
    ] {
        acc = acc * r + 1.0 / divisor;
    }
    let poly = 1.0 + (r + r * r * acc);
    // k lies in [−1021, 0], so 2^k is a normal number built from its bits.
    let scale = f64::from_bits(((k + 1023.0) + TWO_POW_52).to_bits() << 52);
    if x < EXP_FLUSH { 0.0 } else { poly * scale }
}

/// `Σ_i a_i b_i` with eight fixed partial sums (vectorisable, and the same
/// order on every machine), then the partial sums added in order.
#[inline(always)]
pub(crate) fn lane_dot(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0; 8];
    let (a_body, b_body) = (a.chunks_exact(8), b.chunks_exact(8));
    let (a_tail, b_tail) = (a_body.remainder(), b_body.remainder());
    for (x, y) in a_body.zip(b_body) {
        for l in 0..8 {
            lanes[l] += x[l] * y[l];
        }
    }
    let tail: f64 = a_tail.iter().zip(b_tail).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f64>() + tail
}

/// `Σ_i r_i (x_i − m)²` with eight fixed partial sums, in one pass.
#[inline(always)]
pub(crate) fn lane_weighted_squares(r: &[f64], x: &[f64], m: f64) -> f64 {
    let mut lanes = [0.0; 8];
    let (r_body, x_body) = (r.chunks_exact(8), x.chunks_exact(8));
    let (r_tail, x_tail) = (r_body.remainder(), x_body.remainder());
    for (w, v) in r_body.zip(x_body) {
        for l in 0..8 {
            let e = v[l] - m;
            lanes[l] += w[l] * e * e;
        }
    }
    let tail: f64 = r_tail
        .iter()
        .zip(x_tail)
        .map(|(w, v)| w * (v - m) * (v - m))
        .sum();
    lanes.iter().sum::<f64>() + tail
}

/// `Σ_i a_i` with eight fixed partial sums.
#[inline(always)]
pub(crate) fn lane_sum(a: &[f64]) -> f64 {
    let mut lanes = [0.0; 8];
    let body = a.chunks_exact(8);
    let tail: f64 = body.remainder().iter().sum();
    for x in body {
        for l in 0..8 {
            lanes[l] += x[l];
        }
    }
    lanes.iter().sum::<f64>() + tail
}

/// `Σ_i log s_i` for values `s_i` in `[1, K]`, as the logs of products
/// over groups small enough that no product overflows (`K^g <= 2^1000`):
/// one logarithm per group and lane instead of one per point.
#[inline(always)]
pub(crate) fn sum_of_logs(values: &[f64], n_components: usize) -> f64 {
    let log2_k = (n_components.max(2) as f64).log2();
    let group = ((1000.0 / log2_k).floor() as usize).max(1);
    let mut total = 0.0;
    for block in values.chunks(group * 8) {
        let mut lanes = [1.0; 8];
        let body = block.chunks_exact(8);
        let tail: f64 = body.remainder().iter().product();
        for x in body {
            for l in 0..8 {
                lanes[l] *= x[l];
            }
        }
        total += lanes.iter().map(|&p| fast::ln(p)).sum::<f64>() + fast::ln(tail);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_non_positive_matches_std_to_two_ulps() {
        let mut x = 0.0;
        while x > -708.0 {
            let (ours, reference) = (exp_non_positive(x), x.exp());
            let ulps = (ours.to_bits() as i64 - reference.to_bits() as i64).abs();
            assert!(ulps <= 2, "x = {x}: {ours} vs {reference}");
            x -= 0.012_345_678_9;
        }
        assert_eq!(exp_non_positive(0.0), 1.0);
        assert_eq!(exp_non_positive(-709.0), 0.0);
        assert_eq!(exp_non_positive(f64::NEG_INFINITY), 0.0);
    }

    #[test]
    fn sum_of_logs_matches_the_sum_of_logs() {
        let values: Vec<f64> = (0..5000).map(|i| 1.0 + (i % 97) as f64 / 10.0).collect();
        let direct: f64 = values.iter().map(|v| v.ln()).sum();
        let grouped = sum_of_logs(&values, 11);
        assert!(
            (grouped - direct).abs() < 1e-10 * direct.abs(),
            "{grouped} vs {direct}"
        );
    }
}
