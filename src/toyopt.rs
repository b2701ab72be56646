//! Toy optimisation runs: minimise `E[f(b)]` over the logits `φ` of
//! independent bits with any estimator and Adam, logging the exact loss and
//! the estimator's gradient variance along the way (maths.md §5, §8).
//!
//! ```text
//! f(b)    = (1/K) Σ_k (b_k − t)²                 (K bits, target t)
//! E[f]    = (1/K) Σ_k [θ_k (1 − t)² + (1 − θ_k) t²],   θ_k = sigmoid(φ_k)
//! min E[f] = t²  (θ → 0 when t < ½),   excess = E[f] − t² = mean_k θ_k · (1 − 2t)
//! ```
//!
//! Every run starts at `φ = 0` (each bit fair), the classic set-up in which
//! the signal `θ(1 − θ)(1 − 2t)/K` is small next to REINFORCE's noise. At
//! each logged step the run records the exact loss and, when asked, the
//! log10 summed variance of the estimator from extra draws made by a clone
//! of the estimator on a stream of their own: the draws never reach the
//! optimiser and never change its random numbers, and a `rebar-adaptive`
//! clone starts from the `η` and `λ` the training estimator has reached
//! (the training estimator keeps adapting on its own draws only).
//!
//! ```
//! use rebar_optimizer::estimator::EstimatorKind;
//! use rebar_optimizer::rng::stream_from_seed;
//! use rebar_optimizer::toyopt::{ToyRunSettings, ToyTask, optimise};
//!
//! let task = ToyTask::one_bit(0.45);
//! let settings = ToyRunSettings {
//!     estimator: EstimatorKind::from_name("rebar", 0.5, 1.0).unwrap(),
//!     learning_rate: 0.05,
//!     n_steps: 200,
//!     log_every: 50,
//!     variance_draws: 16,
//!     ..ToyRunSettings::default()
//! };
//! let mut logs = Vec::new();
//! let phi = optimise(&task, &settings, &mut stream_from_seed(3), &mut |log| {
//!     logs.push(log.clone())
//! })
//! .unwrap();
//! assert_eq!(logs.len(), 5);
//! assert_eq!(phi.len(), 1);
//! assert!(logs.iter().all(|log| log.loss.is_finite()));
//! ```

use rand::Rng;

use crate::estimator::{Estimator, EstimatorError, EstimatorKind, Variables};
use crate::math::sigmoid;
use crate::optim::Adam;
use crate::problem::BitsTarget;
use crate::rng::stream_from_seed;
use crate::variance::Moments;

/// The toy problems that can be optimised: `n_bits` independent bits
/// pulled towards target `t` (one bit is the classic demonstration).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToyTask {
    /// Number of bits `K` (at least 1).
    pub n_bits: usize,
    /// Target `t` of every bit.
    pub target: f64,
}

impl ToyTask {
    /// One bit, `f(b) = (b − t)²`.
    pub fn one_bit(target: f64) -> Self {
        Self { n_bits: 1, target }
    }

    /// `n_bits` bits, `f(b) = mean_k (b_k − t)²`.
    pub fn bits(n_bits: usize, target: f64) -> Self {
        Self { n_bits, target }
    }

    /// A short stable name: `bit-t0.45` for one bit, `bits100-t0.45`
    /// otherwise.
    pub fn name(&self) -> String {
        match self.n_bits {
            1 => format!("bit-t{}", self.target),
            n => format!("bits{n}-t{}", self.target),
        }
    }

    /// The exact loss at logits `phi`.
    ///
    /// ```text
    /// E[f] = (1/K) Σ_k [θ_k (1 − t)² + (1 − θ_k) t²]
    /// ```
    pub fn exact_loss(&self, phi: &[f64]) -> f64 {
        let t = self.target;
        let total: f64 = phi
            .iter()
            .map(|&p| sigmoid(p) * (1.0 - t).powi(2) + sigmoid(-p) * t * t)
            .sum();
        total / phi.len().max(1) as f64
    }

    /// The loss above its infimum, computed without cancellation.
    ///
    /// ```text
    /// excess = E[f] − min(t, 1 − t)² = (1/K) Σ_k q_k · |1 − 2t|
    /// ```
    ///
    /// `q_k = θ_k` when `t < ½` (the optimum sets every bit to 0) and
    /// `1 − θ_k` otherwise.
    pub fn excess_loss(&self, phi: &[f64]) -> f64 {
        let towards_one = self.target > 0.5;
        let total: f64 = phi
            .iter()
            .map(|&p| if towards_one { sigmoid(-p) } else { sigmoid(p) })
            .sum();
        total / phi.len().max(1) as f64 * (1.0 - 2.0 * self.target).abs()
    }
}

/// Settings of one toy optimisation run.
#[derive(Debug, Clone, PartialEq)]
pub struct ToyRunSettings {
    /// The estimator of `∇_φ E[f]`.
    pub estimator: EstimatorKind,
    /// Samples per estimate (at least 1; RLOO needs 2).
    pub n_samples: usize,
    /// Adam learning rate (positive, finite).
    pub learning_rate: f64,
    /// Optimisation steps (at least 1).
    pub n_steps: usize,
    /// Logging interval in steps (at least 1); step 0 and the last step
    /// are always logged.
    pub log_every: usize,
    /// Extra estimates per logged step for the variance column: 0 turns
    /// it off, otherwise at least 2.
    pub variance_draws: usize,
}

impl Default for ToyRunSettings {
    /// REINFORCE, one sample, learning rate 0.01, 1000 steps logged every
    /// 50, no variance draws.
    fn default() -> Self {
        Self {
            estimator: EstimatorKind::Reinforce,
            n_samples: 1,
            learning_rate: 0.01,
            n_steps: 1000,
            log_every: 50,
            variance_draws: 0,
        }
    }
}

/// One logged point of a toy run.
#[derive(Debug, Clone, PartialEq)]
pub struct ToyLog {
    /// Optimisation steps taken so far.
    pub step: usize,
    /// The exact loss `E[f]` at the current logits.
    pub loss: f64,
    /// The loss above its infimum ([`ToyTask::excess_loss`]).
    pub excess_loss: f64,
    /// `log10 Σ_j Var(ĝ_j)` from the extra draws; `None` when turned off.
    /// An estimator without noise (exact) gives negative infinity.
    pub log10_variance: Option<f64>,
    /// Evaluations of `f` the optimiser has used so far.
    pub n_evals: u64,
    /// The estimator's current `η`, if it has one (adapted for
    /// `rebar-adaptive`).
    pub eta: Option<f64>,
    /// The estimator's current temperature `λ`, if it has one.
    pub temperature: Option<f64>,
}

/// Why a toy run could not start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToyError {
    /// A setting is out of range.
    #[error("toy run: {field} must be {rule}, got {value}")]
    InvalidSetting {
        /// The setting's name.
        field: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        rule: &'static str,
    },
    /// The estimator cannot be built for bits with these samples.
    #[error(transparent)]
    Estimator(#[from] EstimatorError),
}

/// Minimises the task's exact loss from `φ = 0` with `settings`, calling
/// `on_log` at step 0, every `log_every` steps and at the last step;
/// returns the final logits. Deterministic given `rng`.
///
/// # Errors
///
/// [`ToyError::InvalidSetting`] for zero bits, a target outside `[0, 1]`,
/// a learning rate that is not positive and finite, zero steps or logging
/// interval, or one variance draw; [`ToyError::Estimator`] when the
/// estimator does not apply (for example RLOO with one sample).
pub fn optimise<R: Rng + ?Sized>(
    task: &ToyTask,
    settings: &ToyRunSettings,
    rng: &mut R,
    on_log: &mut dyn FnMut(&ToyLog),
) -> Result<Vec<f64>, ToyError> {
    check(task, settings)?;
    let objective = BitsTarget::new(task.n_bits, task.target);
    let mut estimator = Estimator::try_new(
        settings.estimator.clone(),
        Variables::Binary,
        settings.n_samples,
    )?;
    let mut phi = vec![0.0; task.n_bits];
    let mut grad_phi = vec![0.0; task.n_bits];
    let mut adam = Adam::new(task.n_bits, settings.learning_rate);
    // Variance probes draw from their own stream, so turning them on does
    // not change the optimisation's draws.
    let mut probe_rng = stream_from_seed(rng.next_u64());
    let mut n_evals: u64 = 0;

    for step in 0..=settings.n_steps {
        if step % settings.log_every == 0 || step == settings.n_steps {
            let log10_variance = (settings.variance_draws > 0).then(|| {
                let mut probe = estimator.clone();
                let mut moments = Moments::new(task.n_bits);
                for _ in 0..settings.variance_draws {
                    probe.estimate(&phi, &objective, &mut probe_rng, &mut grad_phi);
                    moments.push(&grad_phi);
                }
                moments.variance().iter().sum::<f64>().log10()
            });
            on_log(&ToyLog {
                step,
                loss: task.exact_loss(&phi),
                excess_loss: task.excess_loss(&phi),
                log10_variance,
                n_evals,
                eta: estimator.current_eta(),
                temperature: estimator.current_temperature(),
            });
        }
        if step == settings.n_steps {
            break;
        }
        let cost = estimator.estimate(&phi, &objective, rng, &mut grad_phi);
        n_evals += cost.n_evals as u64;
        adam.descend(&mut phi, &grad_phi);
    }
    Ok(phi)
}

fn check(task: &ToyTask, settings: &ToyRunSettings) -> Result<(), ToyError> {
    let invalid = |field: &'static str, value: String, rule: &'static str| {
        Err(ToyError::InvalidSetting { field, value, rule })
    };
    if task.n_bits == 0 {
        return invalid("n_bits", "0".into(), "at least 1");
    }
    if !(0.0..=1.0).contains(&task.target) {
        return invalid("target", task.target.to_string(), "in [0, 1]");
    }
    let rate = settings.learning_rate;
    if !(rate > 0.0 && rate.is_finite()) {
        return invalid("learning_rate", rate.to_string(), "positive and finite");
    }
    if settings.n_steps == 0 {
        return invalid("n_steps", "0".into(), "at least 1");
    }
    if settings.log_every == 0 {
        return invalid("log_every", "0".into(), "at least 1");
    }
    if settings.variance_draws == 1 {
        return invalid("variance_draws", "1".into(), "0 (off) or at least 2");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_at_fair_bits_is_the_mean_of_both_outcomes() {
        let task = ToyTask::bits(3, 0.45);
        let expected = (0.55f64.powi(2) + 0.45f64.powi(2)) / 2.0;
        assert!((task.exact_loss(&[0.0; 3]) - expected).abs() < 1e-15);
    }

    #[test]
    fn excess_matches_loss_minus_infimum() {
        for &target in &[0.45, 0.499, 0.7] {
            let task = ToyTask::bits(4, target);
            let phi = [0.3, -2.0, 1.5, 0.0];
            let floor = target.min(1.0 - target).powi(2);
            let gap = task.exact_loss(&phi) - floor;
            assert!((task.excess_loss(&phi) - gap).abs() < 1e-12, "t = {target}");
        }
    }

    #[test]
    fn names_are_stable() {
        assert_eq!(ToyTask::one_bit(0.45).name(), "bit-t0.45");
        assert_eq!(ToyTask::bits(100, 0.499).name(), "bits100-t0.499");
    }
}
