//! Summary statistics over seeds: mean, standard deviation, Student-t
//! confidence intervals, Welch's t-test and Holm's correction.
//!
//! Sums run in the order the values are given, so the same values always
//! give the same bits.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Above this many degrees of freedom the normal quantile replaces
/// Student's t (statrs' t quantile drifts for very large freedom, and the
/// two agree to about 1e-3 here).
pub const NORMAL_ABOVE_DOF: f64 = 1000.0;

/// Mean, standard deviation and a two-sided 95 % interval of a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Number of values.
    pub n: usize,
    /// Sample mean.
    pub mean: f64,
    /// Sample standard deviation (divisor `n - 1`); `None` when `n < 2`.
    pub sd: Option<f64>,
    /// Lower end of the 95 % interval; `None` when `n < 2`.
    pub low: Option<f64>,
    /// Upper end of the 95 % interval; `None` when `n < 2`.
    pub high: Option<f64>,
}

/// The mean of `values` (NaN when empty).
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The sample variance with divisor `n - 1` (`None` when `n < 2`).
pub fn variance(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let centre = mean(values);
    let sum_sq: f64 = values.iter().map(|x| (x - centre) * (x - centre)).sum();
    Some(sum_sq / (values.len() - 1) as f64)
}

/// The quantile of Student's t with `dof` degrees of freedom at
/// probability `p`, by the normal quantile above [`NORMAL_ABOVE_DOF`].
pub fn t_quantile(p: f64, dof: f64) -> f64 {
    if dof > NORMAL_ABOVE_DOF {
        return standard_normal().inverse_cdf(p);
    }
    match StudentsT::new(0.0, 1.0, dof) {
        Ok(t) => t.inverse_cdf(p),
        Err(_) => f64::NAN,
    }
}

/// The distribution function of Student's t with `dof` degrees of freedom,
/// by the normal one above [`NORMAL_ABOVE_DOF`].
pub fn t_cdf(x: f64, dof: f64) -> f64 {
    if dof > NORMAL_ABOVE_DOF {
        return standard_normal().cdf(x);
    }
    match StudentsT::new(0.0, 1.0, dof) {
        Ok(t) => t.cdf(x),
        Err(_) => f64::NAN,
    }
}

fn standard_normal() -> Normal {
    Normal::standard()
}

/// Mean with a Student-t 95 % interval:
///
/// ```text
/// mean ± t_{0.975, n-1} · sd / sqrt(n)
/// ```
///
/// `sd` is the sample standard deviation of the `n` values.
pub fn interval(values: &[f64]) -> Interval {
    let n = values.len();
    let centre = mean(values);
    let sd = variance(values).map(f64::sqrt);
    let half = sd.map(|sd| t_quantile(0.975, (n - 1) as f64) * sd / (n as f64).sqrt());
    Interval {
        n,
        mean: centre,
        sd,
        low: half.map(|h| centre - h),
        high: half.map(|h| centre + h),
    }
}

/// Welch's two-sample t-test (unequal variances).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    /// The statistic `t`.
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub dof: f64,
    /// Two-sided p-value.
    pub p_value: f64,
}

/// Welch's t-test of equal means; `None` when a sample has fewer than two
/// values.
///
/// ```text
/// se²  = s1²/n1 + s2²/n2
/// t    = (m1 - m2) / se
/// dof  = se⁴ / ( (s1²/n1)²/(n1-1) + (s2²/n2)²/(n2-1) )
/// p    = 2 · (1 - T_dof(|t|))
/// ```
///
/// With both variances zero, `p` is 1 for equal means and 0 otherwise.
pub fn welch(first: &[f64], second: &[f64]) -> Option<Welch> {
    let (n1, n2) = (first.len() as f64, second.len() as f64);
    let term1 = variance(first)? / n1;
    let term2 = variance(second)? / n2;
    let diff = mean(first) - mean(second);
    let se_sq = term1 + term2;
    if se_sq == 0.0 {
        let p_value = if diff == 0.0 { 1.0 } else { 0.0 };
        return Some(Welch {
            t: if diff == 0.0 {
                0.0
            } else {
                diff.signum() * f64::INFINITY
            },
            dof: n1 + n2 - 2.0,
            p_value,
        });
    }
    let t = diff / se_sq.sqrt();
    let dof = se_sq * se_sq / (term1 * term1 / (n1 - 1.0) + term2 * term2 / (n2 - 1.0));
    let p_value = (2.0 * (1.0 - t_cdf(t.abs(), dof))).clamp(0.0, 1.0);
    Some(Welch { t, dof, p_value })
}

/// Holm's step-down adjustment of `m` p-values (in the given order):
///
/// ```text
/// sort p ascending: p_(1) <= ... <= p_(m)
/// adj_(i) = max_{j <= i} min(1, (m - j + 1) · p_(j))
/// ```
pub fn holm(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]).then(a.cmp(&b)));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0_f64;
    for (rank, &index) in order.iter().enumerate() {
        let scaled = ((m - rank) as f64 * p_values[index]).min(1.0);
        running = running.max(scaled);
        adjusted[index] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_uses_student_t() {
        let values = [1.0, 2.0, 3.0, 4.0];
        let ci = interval(&values);
        let sd = (5.0_f64 / 3.0).sqrt();
        assert!((ci.mean - 2.5).abs() < 1e-12);
        assert!((ci.sd.unwrap_or(0.0) - sd).abs() < 1e-12);
        // t_{0.975, 3} = 3.182446305284263
        let half = 3.182_446_305_284_263 * sd / 2.0;
        assert!((ci.high.unwrap_or(0.0) - 2.5 - half).abs() < 1e-9);
        assert_eq!(interval(&[1.0]).low, None);
    }

    #[test]
    fn large_dof_uses_the_normal_quantile() {
        assert!((t_quantile(0.975, 1e7) - 1.959_963_984_540_054).abs() < 1e-9);
        assert!((t_quantile(0.975, 1001.0) - 1.96).abs() < 1e-3);
    }

    #[test]
    fn welch_matches_a_hand_computation() {
        let first = [1.0, 2.0, 3.0, 4.0, 5.0];
        let second = [2.0, 4.0, 6.0, 8.0, 10.0, 12.0];
        let test = welch(&first, &second).unwrap_or(Welch {
            t: 0.0,
            dof: 0.0,
            p_value: 0.0,
        });
        // m1 = 3, s1² = 2.5; m2 = 7, s2² = 14
        let se_sq: f64 = 2.5 / 5.0 + 14.0 / 6.0;
        assert!((test.t - (-4.0 / se_sq.sqrt())).abs() < 1e-12);
        let dof = se_sq.powi(2) / (0.25 / 4.0 + (14.0_f64 / 6.0).powi(2) / 5.0);
        assert!((test.dof - dof).abs() < 1e-9);
        assert!(test.p_value > 0.0 && test.p_value < 0.05);
        assert_eq!(welch(&[1.0], &second), None);
    }

    #[test]
    fn holm_is_monotone_and_capped() {
        let adjusted = holm(&[0.04, 0.01, 0.03, 0.5]);
        let expected = [0.09, 0.04, 0.09, 0.5];
        for (got, want) in adjusted.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{adjusted:?}");
        }
        assert_eq!(holm(&[0.6, 0.6]), vec![1.0, 1.0]);
    }
}
