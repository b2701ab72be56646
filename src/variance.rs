//! Bias, variance, signal-to-noise ratio and cost of an estimator at fixed
//! parameters, measured against the exact gradient (maths.md §7, §8).
//!
//! The variance study of the harness calls [`measure`] once per
//! (estimator, problem, temperature, seed); the tests use
//! [`Moments`] and [`bonferroni_z`] for their unbiasedness checks. No file
//! I/O and no clock here: timings belong to the caller.
//!
//! ```text
//! mean_j   = (1/n) Σ_i ĝ_ij                       (n draws, d coordinates)
//! var_j    = Σ_i (ĝ_ij − mean_j)² / (n − 1)
//! z_j      = |mean_j − exact_j| / sqrt(var_j / n)
//! summed variance = Σ_j var_j,   SNR = ‖mean‖ / sqrt(Σ_j var_j)
//! bound    = Φ⁻¹(1 − α / (2d))                     (Bonferroni, two-sided)
//! ```
//!
//! ```
//! use rebar_optimizer::estimator::{EstimatorKind, Variables};
//! use rebar_optimizer::problem::ToyProblem;
//! use rebar_optimizer::rng::stream_from_seed;
//! use rebar_optimizer::variance::{measure, ALPHA};
//!
//! let problem = ToyProblem::bits(10, 0.45, 3);
//! let kind = EstimatorKind::from_name("rebar", 0.5, 1.0).unwrap();
//! let stats = measure(
//!     &kind, problem.variables, 1, &problem.objective, &problem.phi,
//!     &problem.exact_gradient, 2_000, &mut stream_from_seed(1),
//! ).unwrap();
//! assert_eq!(stats.evals_per_estimate, 3.0);
//! assert!(stats.passes_bias_check(ALPHA));
//! ```

use rand::Rng;
use statrs::distribution::{ContinuousCDF, Normal};

use crate::estimator::{Estimator, EstimatorError, EstimatorKind, Objective, Variables};

/// The family-wise false-alarm rate of the unbiasedness check (maths.md §7).
pub const ALPHA: f64 = 0.001;

/// The two-sided Bonferroni bound on a z-score over `n_coords` coordinates
/// at family-wise level `alpha`.
///
/// ```text
/// z = Φ⁻¹(1 − alpha / (2 n_coords))
/// ```
///
/// `Φ⁻¹` is the standard normal quantile.
pub fn bonferroni_z(alpha: f64, n_coords: usize) -> f64 {
    let standard = Normal::standard();
    standard.inverse_cdf(1.0 - alpha / (2.0 * n_coords.max(1) as f64))
}

/// Running per-coordinate mean and variance of estimates (Welford's
/// update, stable for large means).
#[derive(Debug, Clone, PartialEq)]
pub struct Moments {
    n_draws: usize,
    mean: Vec<f64>,
    sum_sq: Vec<f64>,
}

impl Moments {
    /// Empty moments over `n_coords` coordinates.
    pub fn new(n_coords: usize) -> Self {
        Self {
            n_draws: 0,
            mean: vec![0.0; n_coords],
            sum_sq: vec![0.0; n_coords],
        }
    }

    /// Adds one estimate (`estimate.len()` must be the coordinate count).
    pub fn push(&mut self, estimate: &[f64]) {
        self.n_draws += 1;
        let weight = 1.0 / self.n_draws as f64;
        for ((m, s), &x) in self
            .mean
            .iter_mut()
            .zip(self.sum_sq.iter_mut())
            .zip(estimate)
        {
            let delta = x - *m;
            *m += delta * weight;
            *s += delta * (x - *m);
        }
    }

    /// Number of estimates added.
    pub fn n_draws(&self) -> usize {
        self.n_draws
    }

    /// Per-coordinate mean.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Per-coordinate sample variance (`n − 1` in the denominator; 0 with
    /// fewer than two draws).
    pub fn variance(&self) -> Vec<f64> {
        let denominator = self.n_draws.saturating_sub(1).max(1) as f64;
        self.sum_sq.iter().map(|s| s / denominator).collect()
    }

    /// The largest z-score of the mean against `exact` over coordinates,
    ///
    /// ```text
    /// z_j = |mean_j − exact_j| / sqrt(var_j / n + r_j²),   r_j = 1e-12 (|mean_j| + |exact_j|)
    /// ```
    ///
    /// where `r_j` allows for round-off, so an estimator that is exact up to
    /// rounding (DisARM on one bit at `φ = 0` has zero variance) scores
    /// about 0 rather than infinity; a coordinate with zero variance and a
    /// real gap still scores very high.
    pub fn max_bias_z(&self, exact: &[f64]) -> f64 {
        let n = self.n_draws.max(1) as f64;
        let variance = self.variance();
        let scores = self
            .mean
            .iter()
            .zip(exact)
            .zip(&variance)
            .map(|((&m, &e), &v)| {
                let gap = (m - e).abs();
                let rounding = ROUNDING * (m.abs() + e.abs());
                if gap == 0.0 {
                    0.0
                } else {
                    gap / (v / n + rounding * rounding).sqrt()
                }
            });
        scores.fold(0.0, f64::max)
    }
}

/// Relative round-off allowed in [`Moments::max_bias_z`].
const ROUNDING: f64 = 1e-12;

/// Statistics of one estimator at fixed parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct EstimatorStats {
    /// The estimator's name ([`EstimatorKind::name`]).
    pub name: &'static str,
    /// Draws of the estimator.
    pub n_draws: usize,
    /// Mean estimate per coordinate.
    pub mean: Vec<f64>,
    /// `max_j |mean_j − exact_j| / (sd_j / sqrt(n))`.
    pub max_bias_z: f64,
    /// `Σ_j Var(ĝ_j)`.
    pub summed_variance: f64,
    /// `log10` of the summed variance (`-inf` for an estimator with zero
    /// variance, such as DisARM on one bit at `φ = 0`, which is exact).
    pub log10_summed_variance: f64,
    /// `‖mean‖ / sqrt(summed variance)` (`inf` for zero variance and a
    /// non-zero mean, `NaN` when both are zero).
    pub snr: f64,
    /// Evaluations of `f` per estimate.
    pub evals_per_estimate: f64,
    /// Draws of the first (screening) sample; below `n_draws` when a
    /// flagged sample was extended ([`measure_confirmed`]).
    pub screen_draws: usize,
    /// `max_bias_z` after the screening sample.
    pub screen_max_bias_z: f64,
}

impl EstimatorStats {
    /// Whether the bias z-score stays within the Bonferroni bound at level
    /// `alpha` (maths.md §7): true for an unbiased estimator except with
    /// probability at most `alpha`.
    pub fn passes_bias_check(&self, alpha: f64) -> bool {
        self.max_bias_z <= bonferroni_z(alpha, self.mean.len())
    }
}

/// Draws `n_draws` estimates of the estimator `kind` for `variables` with
/// `n_samples` samples each at logits `phi`, and summarises them against
/// `exact` (the exact gradient at `phi`).
///
/// Stateful estimators keep their state across the draws (a moving-average
/// baseline warms up, `rebar-adaptive` adapts), as they would in training.
///
/// # Errors
///
/// [`EstimatorError`] when the estimator cannot be built for `variables`
/// with `n_samples` (see [`Estimator::try_new`]).
///
/// # Panics
///
/// Panics if `exact.len() != phi.len()`.
#[allow(clippy::too_many_arguments)]
pub fn measure<O, R>(
    kind: &EstimatorKind,
    variables: Variables,
    n_samples: usize,
    objective: &O,
    phi: &[f64],
    exact: &[f64],
    n_draws: usize,
    rng: &mut R,
) -> Result<EstimatorStats, EstimatorError>
where
    O: Objective + ?Sized,
    R: Rng + ?Sized,
{
    let draws = Draws {
        n_draws,
        confirm_draws: &[],
    };
    measure_confirmed(
        kind, variables, n_samples, objective, phi, exact, draws, rng,
    )
}

/// [`measure`] with confirmation draws: a sample whose bias check fails is
/// extended as [`draw_checked`] describes.
///
/// # Errors
///
/// As [`measure`].
///
/// # Panics
///
/// Panics if `exact.len() != phi.len()`.
#[allow(clippy::too_many_arguments)]
pub fn measure_confirmed<O, R>(
    kind: &EstimatorKind,
    variables: Variables,
    n_samples: usize,
    objective: &O,
    phi: &[f64],
    exact: &[f64],
    draws: Draws<'_>,
    rng: &mut R,
) -> Result<EstimatorStats, EstimatorError>
where
    O: Objective + ?Sized,
    R: Rng + ?Sized,
{
    assert_eq!(
        exact.len(),
        phi.len(),
        "measure: exact and phi lengths differ"
    );
    let mut estimator = Estimator::try_new(kind.clone(), variables, n_samples)?;
    Ok(draw_checked(kind.name(), exact, draws, |grad_phi| {
        estimator.estimate(phi, objective, rng, grad_phi).n_evals
    }))
}

/// How many estimates a bias check draws (maths.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Draws<'a> {
    /// Estimates of the first, screening sample.
    pub n_draws: usize,
    /// Larger sample sizes, in increasing order, that a sample failing the
    /// check is extended to, one after another, until it passes; empty
    /// for a single fixed-size sample.
    pub confirm_draws: &'a [usize],
}

/// Draws estimates with `draw_one` (which writes one estimate of all
/// `exact.len()` coordinates and returns its evaluations of `f`) and
/// summarises them against `exact`.
///
/// First `draws.n_draws` estimates; then, while the largest bias z-score
/// exceeds the Bonferroni bound at [`ALPHA`] and `draws.confirm_draws`
/// holds a larger size, the same sample is extended to that size and
/// checked again. A fixed bias `δ` grows the z-score like
/// `δ sqrt(n) / sd`, so extending cannot clear it; a rare, large estimate
/// that the first sample missed (a heavy tail, which shrinks the sample
/// variance and inflates z) is found by the longer sample. The result's
/// `screen_*` fields describe the first sample; every other field, the
/// whole sample.
pub fn draw_checked(
    name: &'static str,
    exact: &[f64],
    draws: Draws<'_>,
    mut draw_one: impl FnMut(&mut [f64]) -> usize,
) -> EstimatorStats {
    let bound = bonferroni_z(ALPHA, exact.len());
    let mut moments = Moments::new(exact.len());
    let mut estimate = vec![0.0; exact.len()];
    let mut total_evals = 0usize;
    let mut draw_to = |target: usize, moments: &mut Moments, total_evals: &mut usize| {
        while moments.n_draws() < target {
            *total_evals += draw_one(&mut estimate);
            moments.push(&estimate);
        }
    };
    draw_to(draws.n_draws, &mut moments, &mut total_evals);
    let screen_draws = moments.n_draws();
    let screen_max_bias_z = moments.max_bias_z(exact);
    let mut max_bias_z = screen_max_bias_z;
    for &target in draws.confirm_draws {
        if max_bias_z <= bound {
            break;
        }
        draw_to(target, &mut moments, &mut total_evals);
        max_bias_z = moments.max_bias_z(exact);
    }
    EstimatorStats {
        screen_draws,
        screen_max_bias_z,
        ..summarise(name, &moments, exact, total_evals)
    }
}

/// Summarises moments of `n` draws that cost `total_evals` evaluations.
pub fn summarise(
    name: &'static str,
    moments: &Moments,
    exact: &[f64],
    total_evals: usize,
) -> EstimatorStats {
    let summed_variance: f64 = moments.variance().iter().sum();
    let max_bias_z = moments.max_bias_z(exact);
    let mean_norm = moments.mean().iter().map(|m| m * m).sum::<f64>().sqrt();
    EstimatorStats {
        name,
        n_draws: moments.n_draws(),
        mean: moments.mean().to_vec(),
        max_bias_z,
        summed_variance,
        log10_summed_variance: summed_variance.log10(),
        snr: mean_norm / summed_variance.sqrt(),
        evals_per_estimate: total_evals as f64 / moments.n_draws().max(1) as f64,
        screen_draws: moments.n_draws(),
        screen_max_bias_z: max_bias_z,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bonferroni_bound_matches_known_quantiles() {
        // Φ⁻¹(0.9995) ≈ 3.2905 for one coordinate at α = 0.001.
        assert!((bonferroni_z(0.001, 1) - 3.290_526_7).abs() < 1e-5);
        assert!(bonferroni_z(0.001, 100) > bonferroni_z(0.001, 10));
    }

    #[test]
    fn moments_match_two_pass_formulas() {
        let data = [[1.0, 10.0], [2.0, 10.0], [4.0, 13.0]];
        let mut moments = Moments::new(2);
        data.iter().for_each(|row| moments.push(row));
        assert!((moments.mean()[0] - 7.0 / 3.0).abs() < 1e-12);
        let var0 = data.iter().map(|r| (r[0] - 7.0 / 3.0).powi(2)).sum::<f64>() / 2.0;
        assert!((moments.variance()[0] - var0).abs() < 1e-12);
        assert!((moments.variance()[1] - 3.0).abs() < 1e-12);
        assert!(moments.max_bias_z(&[7.0 / 3.0, 11.0]) < 1e-9);
        assert!((moments.max_bias_z(&[7.0 / 3.0, 12.0]) - 1.0).abs() < 1e-9);
    }

    /// Estimates that are 0 except for a spike of `period` every `period`
    /// draws (mean exactly 1 over whole periods).
    fn spiky(period: usize) -> impl FnMut(&mut [f64]) -> usize {
        let mut count = 0;
        move |estimate: &mut [f64]| {
            count += 1;
            estimate[0] = if count % period == 0 {
                period as f64
            } else {
                0.0
            };
            1
        }
    }

    #[test]
    fn a_heavy_tail_missed_by_the_screening_sample_is_cleared_by_confirmation() {
        // 1000 draws see no spike: zero variance and a gap of 1, flagged.
        let draws = Draws {
            n_draws: 1000,
            confirm_draws: &[50_000, 100_000],
        };
        let stats = draw_checked("spiky", &[1.0], draws, spiky(10_000));
        assert!(stats.screen_max_bias_z > 1e6);
        assert_eq!(stats.screen_draws, 1000);
        // 50 000 draws hold 5 whole periods: the mean is exact.
        assert_eq!(stats.n_draws, 50_000);
        assert!(stats.passes_bias_check(ALPHA), "z {}", stats.max_bias_z);
    }

    #[test]
    fn a_real_bias_stays_flagged_through_every_confirmation() {
        // Alternating ±1 around 0.2 with an exact gradient of 0: z grows
        // like sqrt(n) from about 6.3 at 1000 draws.
        let mut count = 0;
        let draws = Draws {
            n_draws: 1000,
            confirm_draws: &[4000, 16_000],
        };
        let stats = draw_checked("biased", &[0.0], draws, |estimate| {
            count += 1;
            estimate[0] = if count % 2 == 0 { 1.2 } else { -0.8 };
            1
        });
        assert!(stats.screen_max_bias_z > bonferroni_z(ALPHA, 1));
        assert_eq!(stats.n_draws, 16_000);
        assert!(stats.max_bias_z > 3.5 * stats.screen_max_bias_z);
        assert!(!stats.passes_bias_check(ALPHA));
    }

    #[test]
    fn a_passing_sample_is_not_extended() {
        let draws = Draws {
            n_draws: 20_000,
            confirm_draws: &[40_000],
        };
        let stats = draw_checked("spiky", &[1.0], draws, spiky(10));
        assert_eq!((stats.n_draws, stats.screen_draws), (20_000, 20_000));
        assert_eq!(stats.max_bias_z, stats.screen_max_bias_z);
    }

    #[test]
    fn a_constant_estimate_is_judged_up_to_round_off() {
        let mut moments = Moments::new(1);
        (0..100).for_each(|_| moments.push(&[0.25]));
        assert!(moments.max_bias_z(&[0.25 * (1.0 + 1e-15)]) < 1.0);
        assert!(moments.max_bias_z(&[0.26]) > 1e6);
    }
}
