//! Numerically safe scalar and slice helpers used by every layer.
//!
//! All functions are finite for finite input: sigmoids are computed from
//! the sign-appropriate branch, logs of sigmoids with `ln_1p`, and
//! log-sum-exp subtracts the maximum first. [`fast`] holds branch-free
//! versions of `exp`, `ln`, `ln_1p` and `sigmoid` for loops the compiler
//! vectorises; [`dispatch`] runs loops in the widest SIMD the CPU has.

pub mod dispatch;
pub mod fast;

/// The logistic function.
///
/// ```text
/// sigmoid(x) = 1 / (1 + exp(-x))
/// ```
///
/// Evaluated on the branch that never overflows, so `sigmoid(-800)` is a
/// tiny positive number and `sigmoid(800)` is exactly 1.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The logarithm of the logistic function.
///
/// ```text
/// log_sigmoid(x) = -log(1 + exp(-x)) = min(x, 0) - log1p(exp(-|x|))
/// ```
#[inline]
pub fn log_sigmoid(x: f64) -> f64 {
    x.min(0.0) - (-x.abs()).exp().ln_1p()
}

/// The log-odds of a probability.
///
/// ```text
/// logit(p) = log(p) - log(1 - p)
/// ```
///
/// `p` is a probability in (0, 1); the ends give ±inf.
#[inline]
pub fn logit(p: f64) -> f64 {
    p.ln() - (-p).ln_1p()
}

/// Log-sum-exp of a slice.
///
/// ```text
/// logsumexp(x) = m + log(sum_k exp(x_k - m)),  m = max_k x_k
/// ```
///
/// Returns `-inf` for an empty slice or when every entry is `-inf`.
pub fn logsumexp(x: &[f64]) -> f64 {
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    if max == f64::INFINITY {
        return f64::INFINITY;
    }
    let sum: f64 = x.iter().map(|&v| (v - max).exp()).sum();
    max + sum.ln()
}

/// Softmax of `logits` written into `out` (same length).
///
/// ```text
/// out_k = exp(logits_k - logsumexp(logits))
/// ```
///
/// # Panics
///
/// Panics if the slices differ in length.
pub fn softmax_into(logits: &[f64], out: &mut [f64]) {
    assert_eq!(logits.len(), out.len(), "softmax: length mismatch");
    let lse = logsumexp(logits);
    for (o, &l) in out.iter_mut().zip(logits) {
        *o = (l - lse).exp();
    }
}

/// Log-softmax of `logits` written into `out` (same length).
///
/// ```text
/// out_k = logits_k - logsumexp(logits)
/// ```
///
/// # Panics
///
/// Panics if the slices differ in length.
pub fn log_softmax_into(logits: &[f64], out: &mut [f64]) {
    assert_eq!(logits.len(), out.len(), "log_softmax: length mismatch");
    let lse = logsumexp(logits);
    for (o, &l) in out.iter_mut().zip(logits) {
        *o = l - lse;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_is_finite_and_symmetric() {
        for &x in &[-800.0, -50.0, -1.0, 0.0, 1.0, 50.0, 800.0] {
            let s = sigmoid(x);
            assert!(s.is_finite() && (0.0..=1.0).contains(&s));
            assert!((s + sigmoid(-x) - 1.0).abs() < 1e-15);
        }
    }

    #[test]
    fn log_sigmoid_matches_log_of_sigmoid() {
        for &x in &[-30.0, -2.0, 0.0, 0.5, 3.0, 30.0] {
            assert!((log_sigmoid(x) - sigmoid(x).ln()).abs() < 1e-12);
        }
        assert!((log_sigmoid(-800.0) + 800.0).abs() < 1e-12);
    }

    #[test]
    fn logit_inverts_sigmoid() {
        for &x in &[-20.0, -1.0, 0.0, 2.0, 10.0] {
            assert!((logit(sigmoid(x)) - x).abs() < 1e-6);
        }
    }

    #[test]
    fn logsumexp_matches_naive_sum_and_survives_large_values() {
        let x = [0.1, -2.0, 3.0];
        let naive = x.iter().map(|v: &f64| v.exp()).sum::<f64>().ln();
        assert!((logsumexp(&x) - naive).abs() < 1e-12);
        assert!((logsumexp(&[1000.0, 1000.0]) - (1000.0 + 2f64.ln())).abs() < 1e-9);
        assert_eq!(logsumexp(&[]), f64::NEG_INFINITY);
    }

    #[test]
    fn softmax_sums_to_one() {
        let logits = [50.0, -50.0, 0.0, 3.0];
        let mut out = [0.0; 4];
        softmax_into(&logits, &mut out);
        assert!((out.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let mut log_out = [0.0; 4];
        log_softmax_into(&logits, &mut log_out);
        for (p, lp) in out.iter().zip(&log_out) {
            assert!((p.ln() - lp).abs() < 1e-9 || *p == 0.0);
        }
    }
}
