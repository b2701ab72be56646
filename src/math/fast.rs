//! Branch-free `exp`, `ln`, `ln_1p` and `sigmoid` that loops can vectorise.
//!
//! `std`'s `f64::exp` and `f64::ln` call the platform's libm one value at a
//! time, which stops the compiler from vectorising the estimator loops.
//! These versions use only arithmetic, fused multiply-adds
//! (`f64::mul_add`), bit casts, 64-bit integer shifts and selects, so a
//! loop over a slice compiles to packed SIMD code. A fused multiply-add
//! rounds once on every platform, so results do not depend on the CPU; it
//! is one instruction where the CPU has FMA, but a slow library call in
//! code compiled for the baseline x86-64 target, so call these functions
//! inside [`vectorised`] or a `dispatched!` function, which pick the widest
//! instruction set the CPU has. Accuracy is within a few ulps of `std`
//! over the whole `f64` range (see the tests); special values (`±inf`,
//! `NaN`, `0`, subnormals) follow IEEE conventions.
//!
//! Methods (written for this crate):
//!
//! ```text
//! exp(x) = 2^k · P(r),  k = round(x / ln 2),  r = x − k ln 2 (two-part ln 2)
//!          P = Taylor polynomial of e^r of degree 12, |r| ≤ ln(2)/2
//! ln(x)  = e ln 2 + ln(m),  x = m 2^e,  m in [√2/2, √2) (from the bits)
//!          ln(m) = 2 atanh(q) = f − q (f − R(q²)),  f = m − 1,  q = f / (2 + f)
//!          R(w) = Σ_{n≥1} 2 w^n / (2n + 1)  (9 terms, |q| ≤ 0.1716)
//! ln_1p(y) = ln(w + δ),  w = 1 + y,  δ = y − (w − 1)  (rounding of w folded into f)
//! sigmoid(x) = 1 / (1 + exp(−x))
//! ```

pub(crate) use super::dispatch::dispatched;
pub use super::dispatch::{Kernel, vectorised, zip_map};

/// `ln 2` rounded to 21 significant bits, so that `k · LN2_HI` is exact for
/// every `|k| < 2^11`.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_0000_0000);
/// `ln 2 − LN2_HI`, rounded to `f64`.
const LN2_LO: f64 = 4.749_325_039_031_672_6e-7;
/// `1.5 · 2^52`: adding it rounds a float of magnitude below `2^51` to an
/// integer, which then sits in the low mantissa bits.
const ROUND_SHIFTER: f64 = 6_755_399_441_055_744.0;
/// `2^52`: `(v + 2^52).to_bits()` holds the integer `v` in its low bits.
const TWO_POW_52: f64 = 4_503_599_627_370_496.0;
/// Above this, `e^x` overflows to `+inf`.
const EXP_OVERFLOW: f64 = 709.782_712_893_384;
/// Below this, `e^x` rounds to 0.
const EXP_UNDERFLOW: f64 = -745.133_219_101_941_2;
/// Exponents `k` with `|k|` above this are shifted by [`EDGE_SHIFT`] towards
/// 0 so that `2^k` is built as a normal number.
const EDGE_EXPONENT: f64 = 1000.0;
/// Shift applied to exponents near the ends (undone by a factor `2^±54`).
const EDGE_SHIFT: f64 = 54.0;
/// `2^-54`.
const TWO_POW_MINUS_54: f64 = 5.551_115_123_125_783e-17;
/// `2^54`.
const TWO_POW_54: f64 = 18_014_398_509_481_984.0;
/// Range of [`exp_bounded`]: `2^k` stays a normal number.
const BOUNDED_EXP_LIMIT: f64 = 708.0;
/// Mask of the 52 mantissa bits of an `f64`.
const MANTISSA_MASK: u64 = (1 << 52) - 1;
/// Bits of `0.5`.
const HALF_BITS: u64 = 0x3fe0_0000_0000_0000;
/// The 52 mantissa bits of `√2/2`.
const SQRT_HALF_MANTISSA: u64 = std::f64::consts::FRAC_1_SQRT_2.to_bits() & MANTISSA_MASK;

/// `e^x` for every `f64`, within 2 ulps of `std`'s `exp`.
///
/// ```text
/// exp(x) = 2^k · P(x − k ln 2),  k = round(x / ln 2)
/// ```
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    // Clamp so the exponent arithmetic stays in range; ends fixed below.
    let xc = x.clamp(EXP_UNDERFLOW - 1.0, EXP_OVERFLOW + 1.0);

    // Range reduction with a two-part ln 2.
    let k = xc.mul_add(std::f64::consts::LOG2_E, ROUND_SHIFTER) - ROUND_SHIFTER;
    let r = (-k).mul_add(LN2_LO, (-k).mul_add(LN2_HI, xc));
    let poly = exp_taylor(r);

    // Build 2^k from its exponent bits; k near either end of the exponent
    // range goes through 2^(k ± 54) and a second factor.
    let low = k < -EDGE_EXPONENT;
    let high = k > EDGE_EXPONENT;
    let shift = if low { EDGE_SHIFT } else { 0.0 } - if high { EDGE_SHIFT } else { 0.0 };
    let biased = (k + shift) + 1023.0 + TWO_POW_52;
    let scale = f64::from_bits(biased.to_bits() << 52);
    let fix = if low { TWO_POW_MINUS_54 } else { 1.0 } * if high { TWO_POW_54 } else { 1.0 };
    let value = poly * scale * fix;

    let value = if x > EXP_OVERFLOW {
        f64::INFINITY
    } else {
        value
    };
    let value = if x < EXP_UNDERFLOW { 0.0 } else { value };
    if x.is_nan() { x } else { value }
}

/// `e^x` for `x` clamped to `[−708, 708]`, where `2^k` needs no special
/// handling: within 2 ulps of `std` inside that range, `e^{±708}` outside
/// it, and `NaN` for `NaN`.
///
/// ```text
/// exp_bounded(x) = exp(clamp(x, −708, 708))
/// ```
///
/// Cheaper than [`exp`]; meant for [`sigmoid`], where the clamped ends
/// change the result by less than `4e-308`.
#[inline(always)]
pub fn exp_bounded(x: f64) -> f64 {
    let xc = x.clamp(-BOUNDED_EXP_LIMIT, BOUNDED_EXP_LIMIT);
    let k = xc.mul_add(std::f64::consts::LOG2_E, ROUND_SHIFTER) - ROUND_SHIFTER;
    let r = (-k).mul_add(LN2_LO, (-k).mul_add(LN2_HI, xc));
    let scale = f64::from_bits((k + 1023.0 + TWO_POW_52).to_bits() << 52);
    exp_taylor(r) * scale
}

/// Degree-12 Taylor polynomial of `e^r`, accurate to below 1.8e-16
/// (relative) for `|r| ≤ ln(2)/2`.
#[inline(always)]
fn exp_taylor(r: f64) -> f64 {
    const C: [f64; 13] = [
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
    ];
    // Estrin's scheme with fused multiply-adds: short dependency chains,
    // so SIMD lanes overlap.
    let r2 = r * r;
    let r4 = r2 * r2;
    let p23 = C[3].mul_add(r, C[2]);
    let p45 = C[5].mul_add(r, C[4]);
    let p67 = C[7].mul_add(r, C[6]);
    let p89 = C[9].mul_add(r, C[8]);
    let p1011 = C[11].mul_add(r, C[10]);
    let q47 = p67.mul_add(r2, p45);
    let q811 = p1011.mul_add(r2, p89);
    let high = C[12].mul_add(r4, q811).mul_add(r4, q47);
    // e^r − 1 − r = r² (p23 + r² high); 1 + r is added last.
    let tail = r2 * high.mul_add(r2, p23);
    1.0 + (r + tail)
}

/// Natural logarithm for every `f64`, within 2 ulps of `std`'s `ln`.
///
/// ```text
/// ln(x) = e ln 2 + ln(m),  x = m 2^e,  m in [√2/2, √2)
/// ```
///
/// `ln(0) = -inf`, `ln(inf) = inf`, negative or `NaN` input gives `NaN`.
#[inline(always)]
pub fn ln(x: f64) -> f64 {
    // Scale subnormals up so the exponent field is meaningful.
    let tiny = x < f64::MIN_POSITIVE;
    let scaled = if tiny { x * TWO_POW_54 } else { x };
    let value = ln_normal(scaled)
        - if tiny {
            EDGE_SHIFT * std::f64::consts::LN_2
        } else {
            0.0
        };

    let value = if x == f64::INFINITY { x } else { value };
    let value = if x == 0.0 { f64::NEG_INFINITY } else { value };
    if x < 0.0 || x.is_nan() {
        f64::NAN
    } else {
        value
    }
}

/// Natural logarithm of a positive, normal, finite `x`, within 2 ulps of
/// `std`'s `ln`; other input gives an unspecified (possibly finite) value.
///
/// ```text
/// ln(x) = e ln 2 + ln(m),  x = m 2^e,  m in [√2/2, √2)
/// ```
///
/// Cheaper than [`ln`]; meant for arguments that are normal by
/// construction, such as `u / (1 − u)` for an open uniform `u`.
#[inline(always)]
pub fn ln_normal(x: f64) -> f64 {
    let (exponent, mantissa) = split_log2(x);
    ln_reduced(exponent, mantissa - 1.0)
}

/// `ln(x + delta)` for a positive, normal, finite `x` and a correction
/// `|delta|` below one ulp of `x`: the correction enters the reduced
/// argument `f = m − 1` exactly scaled, so no precision is lost.
#[inline(always)]
fn ln_normal_shifted(x: f64, delta: f64) -> f64 {
    let (exponent, mantissa) = split_log2(x);
    // 2^-exponent scales the correction like the mantissa.
    let inverse_scale = f64::from_bits(((1023.0 - exponent) + TWO_POW_52).to_bits() << 52);
    ln_reduced(exponent, (mantissa - 1.0) + delta * inverse_scale)
}

/// `(e, m)` with `x = m 2^e`, `m` in `[√2/2, √2)`, for a positive, normal,
/// finite `x`.
#[inline(always)]
fn split_log2(x: f64) -> (f64, f64) {
    // Subtracting the mantissa bits of √2/2 borrows from the exponent
    // exactly when x's mantissa is below them, and adding them back (with
    // the exponent of 1/2) rebuilds m.
    let offset_bits = x.to_bits().wrapping_sub(SQRT_HALF_MANTISSA);
    let exponent_field = f64::from_bits((offset_bits >> 52) | TWO_POW_52.to_bits()) - TWO_POW_52;
    let mantissa_bits = (offset_bits & MANTISSA_MASK) + SQRT_HALF_MANTISSA + HALF_BITS;
    (exponent_field - 1022.0, f64::from_bits(mantissa_bits))
}

/// `e ln 2 + ln(1 + f)` for `1 + f` in `[√2/2, √2)`, with
/// `ln(1 + f) = 2 atanh(q)`, `q = f / (2 + f)`, written around `f`.
#[inline(always)]
fn ln_reduced(exponent: f64, f: f64) -> f64 {
    let q = f / (2.0 + f);
    let ln_m = (-q).mul_add(f - atanh_tail(q * q), f);
    exponent.mul_add(LN2_HI, exponent.mul_add(LN2_LO, ln_m))
}

/// `R(w) = Σ_{n=1}^{9} 2 w^n / (2n + 1)`, the tail of `2 atanh(q) / q − 2`
/// with `w = q² ≤ 0.0295`; the first omitted term is below `5e-17`, so it
/// moves `ln(m) = f − q (f − R)` by less than `1e-17` (0.2 ulp at most).
#[inline(always)]
fn atanh_tail(w: f64) -> f64 {
    const C: [f64; 9] = [
        2.0 / 3.0,
        2.0 / 5.0,
        2.0 / 7.0,
        2.0 / 9.0,
        2.0 / 11.0,
        2.0 / 13.0,
        2.0 / 15.0,
        2.0 / 17.0,
        2.0 / 19.0,
    ];
    // Estrin's scheme (see `exp_taylor`).
    let w2 = w * w;
    let w4 = w2 * w2;
    let w8 = w4 * w4;
    let p01 = C[1].mul_add(w, C[0]);
    let p23 = C[3].mul_add(w, C[2]);
    let p45 = C[5].mul_add(w, C[4]);
    let p67 = C[7].mul_add(w, C[6]);
    let q03 = p23.mul_add(w2, p01);
    let q47 = p67.mul_add(w2, p45);
    C[8].mul_add(w8, q47.mul_add(w4, q03)) * w
}

/// `ln(1 + y)` for `y ≥ −1`, accurate also for tiny `y`, within a few ulps
/// of `std`'s `ln_1p`.
///
/// ```text
/// ln_1p(y) = ln(w + δ),  w = 1 + y (rounded),  δ = y − (w − 1) (exact)
/// ```
///
/// with `δ` folded into the reduced argument of the logarithm.
#[inline(always)]
pub fn ln_1p(y: f64) -> f64 {
    let w = 1.0 + y;
    let value = ln_1p_core(y, w);
    // Ends and invalid input, where the core's assumptions fail.
    let value = if w == f64::INFINITY { w } else { value };
    let value = if w == 0.0 { f64::NEG_INFINITY } else { value };
    if w < 0.0 || y.is_nan() {
        f64::NAN
    } else {
        value
    }
}

/// `ln(1 + y)` for `y ≥ 0` with `1 + y` finite, within a few ulps of
/// `std`'s `ln_1p`; infinite `y` gives an unspecified finite value.
///
/// ```text
/// ln_1p(y) = ln(w + δ),  w = 1 + y (rounded),  δ = y − (w − 1) (exact)
/// ```
///
/// Cheaper than [`ln_1p`]; meant for arguments that are non-negative by
/// construction.
#[inline(always)]
pub fn ln_1p_nonneg(y: f64) -> f64 {
    ln_1p_core(y, 1.0 + y)
}

#[inline(always)]
fn ln_1p_core(y: f64, w: f64) -> f64 {
    // The rounding error of w, folded into the reduced argument.
    let delta = y - (w - 1.0);
    let delta = if delta.is_finite() { delta } else { 0.0 };
    ln_normal_shifted(w, delta)
}

/// The logistic function, branch-free.
///
/// ```text
/// sigmoid(x) = 1 / (1 + exp(−x))
/// ```
///
/// Uses [`exp_bounded`], so the result lies in `[3e-308, 1]` for finite
/// `x` (below `4e-308` it is off by at most that much); `sigmoid(NaN)` is
/// `NaN`.
#[inline(always)]
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + exp_bounded(-x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{open_uniform, stream_from_seed};

    /// Distance in units in the last place between two finite floats of
    /// the same sign (0 when equal).
    fn ulps(a: f64, b: f64) -> u64 {
        if a == b {
            return 0;
        }
        let key = |v: f64| {
            let bits = v.to_bits() as i64;
            if bits < 0 { i64::MIN - bits } else { bits }
        };
        key(a).abs_diff(key(b))
    }

    /// Values spread log-uniformly over `[10^lo, 10^hi]`, both signs when asked.
    fn spread(n: usize, lo: f64, hi: f64, seed: u64) -> Vec<f64> {
        let mut rng = stream_from_seed(seed);
        (0..n)
            .map(|_| 10f64.powf(lo + (hi - lo) * open_uniform(&mut rng)))
            .collect()
    }

    #[test]
    fn exp_is_within_two_ulps_of_std_over_its_range() {
        let mut rng = stream_from_seed(1);
        let mut worst = 0;
        for _ in 0..400_000 {
            let x = -708.0 + 1417.7 * open_uniform(&mut rng);
            worst = worst.max(ulps(exp(x), x.exp()));
        }
        // Subnormal results: one rounding more, so allow one subnormal ulp.
        for _ in 0..100_000 {
            let x = -745.1 + 37.0 * open_uniform(&mut rng);
            assert!((exp(x) - x.exp()).abs() <= 5e-324, "exp({x})");
        }
        for x in spread(100_000, -20.0, 0.0, 2) {
            worst = worst.max(ulps(exp(x), x.exp()));
            worst = worst.max(ulps(exp(-x), (-x).exp()));
        }
        // The ends of the reduced range, where the polynomial is least accurate.
        for k in -1000..1020 {
            for offset in [-0.3465, -0.2, 0.2, 0.3465] {
                let x = f64::from(k) * std::f64::consts::LN_2 + offset;
                worst = worst.max(ulps(exp(x), x.exp()));
            }
        }
        assert!(worst <= 2, "worst exp error {worst} ulps");
    }

    #[test]
    fn exp_special_values() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(710.0), f64::INFINITY);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(-746.0), 0.0);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert!(exp(f64::NAN).is_nan());
        // Subnormal results keep their value.
        for x in [-708.5, -720.0, -740.0, -745.0] {
            assert!(ulps(exp(x), x.exp()) <= 2, "exp({x})");
        }
    }

    #[test]
    fn ln_is_within_two_ulps_of_std_over_its_range() {
        let mut worst = 0;
        for x in spread(400_000, -307.0, 308.0, 3) {
            worst = worst.max(ulps(ln(x), x.ln()));
        }
        let mut rng = stream_from_seed(4);
        for _ in 0..200_000 {
            // Near 1, where the result is small and relative error shows.
            let x = 0.5 + 1.5 * open_uniform(&mut rng);
            worst = worst.max(ulps(ln(x), x.ln()));
        }
        assert!(worst <= 2, "worst ln error {worst} ulps");
    }

    #[test]
    fn ln_special_values() {
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert_eq!(ln(f64::INFINITY), f64::INFINITY);
        assert!(ln(-1.0).is_nan() && ln(f64::NAN).is_nan());
        for x in [5e-324, 1e-310, 2.2e-308, f64::MAX] {
            assert!(ulps(ln(x), x.ln()) <= 2, "ln({x})");
        }
    }

    #[test]
    fn ln_1p_is_within_a_few_ulps_of_std() {
        let mut worst = 0;
        for y in spread(300_000, -300.0, 300.0, 5) {
            worst = worst.max(ulps(ln_1p(y), y.ln_1p()));
        }
        let mut rng = stream_from_seed(6);
        for _ in 0..200_000 {
            let y = -1.0 + 1e-12 + (1.0 - 1e-12) * open_uniform(&mut rng);
            worst = worst.max(ulps(ln_1p(y), y.ln_1p()));
        }
        assert!(worst <= 3, "worst ln_1p error {worst} ulps");
        assert_eq!(ln_1p(f64::INFINITY), f64::INFINITY);
        assert_eq!(ln_1p(-1.0), f64::NEG_INFINITY);
    }

    #[test]
    fn cheaper_variants_match_the_full_versions_on_their_domains() {
        let mut rng = stream_from_seed(8);
        let mut worst = 0;
        for _ in 0..200_000 {
            let x = -708.0 + 1416.0 * open_uniform(&mut rng);
            worst = worst.max(ulps(exp_bounded(x), x.exp()));
        }
        for x in spread(200_000, -307.0, 308.0, 9) {
            worst = worst.max(ulps(ln_normal(x), x.ln()));
        }
        for y in spread(200_000, -300.0, 300.0, 10) {
            worst = worst.max(ulps(ln_1p_nonneg(y), y.ln_1p()));
        }
        assert!(worst <= 3, "worst error {worst} ulps");
        assert_eq!(exp_bounded(1e4), exp_bounded(708.0));
        assert!(exp_bounded(f64::NAN).is_nan());
    }

    #[test]
    fn sigmoid_matches_the_safe_scalar_version() {
        let mut rng = stream_from_seed(7);
        for _ in 0..200_000 {
            let x = -800.0 + 1600.0 * open_uniform(&mut rng);
            let (fast, safe) = (sigmoid(x), crate::math::sigmoid(x));
            assert!(fast.is_finite());
            let tolerance = 4.0 * f64::EPSILON * safe + 1e-300;
            assert!((fast - safe).abs() <= tolerance, "sigmoid({x})");
        }
        assert_eq!(sigmoid(f64::INFINITY), 1.0);
        assert!(sigmoid(f64::NEG_INFINITY) < 4e-308);
        assert!(sigmoid(f64::NAN).is_nan());
    }
}
