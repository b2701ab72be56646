//! Convergence statistics of an SVI run against a reference
//! log-likelihood (typically EM's).

use std::fmt;

use super::SviLog;

/// When a run first came within `ε` per point of a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Convergence {
    /// First reached at this logged step.
    Reached {
        /// The optimisation step.
        step: usize,
        /// Its position in the log (to look up the wall time the caller
        /// measured there).
        log_index: usize,
    },
    /// Never within `ε` per point at a logged step.
    NotReached,
}

impl Convergence {
    /// The step, or `None` when not reached.
    pub fn step(self) -> Option<usize> {
        match self {
            Self::Reached { step, .. } => Some(step),
            Self::NotReached => None,
        }
    }
}

impl fmt::Display for Convergence {
    /// The step number, or `not reached`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reached { step, .. } => write!(f, "{step}"),
            Self::NotReached => f.write_str("not reached"),
        }
    }
}

/// The first logged step at which the run's log-likelihood came within
/// `epsilon` per point of `reference_log_lik` (being above it counts).
///
/// ```text
/// reached at step t  ⇔  (reference − Σ_n log p(x_n) at t) / N <= ε
/// ```
pub fn steps_to_reach(
    logs: &[SviLog],
    reference_log_lik: f64,
    n_points: usize,
    epsilon: f64,
) -> Convergence {
    let n_points = n_points.max(1) as f64;
    logs.iter()
        .position(|log| (reference_log_lik - log.log_lik) / n_points <= epsilon)
        .map_or(Convergence::NotReached, |log_index| Convergence::Reached {
            step: logs[log_index].step,
            log_index,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(step: usize, log_lik: f64) -> SviLog {
        SviLog {
            step,
            elbo: log_lik - 1.0,
            log_lik,
            n_evals: 0,
            grad_variance: None,
        }
    }

    #[test]
    fn first_step_within_epsilon_per_point_or_not_reached() {
        let logs = [
            log(0, -300.0),
            log(25, -120.0),
            log(50, -100.5),
            log(75, -99.0),
        ];
        let reached = steps_to_reach(&logs, -100.0, 100, 1e-2);
        assert_eq!(
            reached,
            Convergence::Reached {
                step: 50,
                log_index: 2
            }
        );
        assert_eq!(reached.to_string(), "50");
        let missed = steps_to_reach(&logs[..2], -100.0, 100, 1e-2);
        assert_eq!(missed, Convergence::NotReached);
        assert_eq!(missed.to_string(), "not reached");
        assert_eq!(missed.step(), None);
    }
}
