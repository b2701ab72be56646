//! Many estimates per call: [`Estimator::estimate_batch`].
//!
//! A caller that needs many independent estimates at the same logits (a
//! variance study, a throughput benchmark, several samples of one
//! gradient step kept apart) can ask for them in one call. Plain REBAR
//! (one sample per estimate) then draws all of them at once: its
//! element-wise passes run once over the logits repeated `B` times
//! (`rebar::sample_batch`), so short blocks lose no time to per-call
//! work and loop remainders. Every other estimator, and REBAR with more
//! than one sample per estimate, makes `B` calls of
//! [`Estimator::estimate`] in a row, the same values those calls would
//! give.

use rand::Rng;

use super::driver::Estimator;
use super::rebar::{self, RebarParams};
use super::variable::{Bernoulli, Categorical, VariableKind};
use super::workspace::Workspace;
use super::{Estimate, EstimatorKind, Objective, Variables};

/// Buffers of [`Estimator::estimate_batch`]: the logits it last drew at,
/// repeated once per estimate, and a workspace prepared for them.
#[derive(Debug, Clone, Default)]
pub(super) struct BatchBuffers {
    phi_tiled: Vec<f64>,
    workspace: Workspace,
}

impl Estimator {
    /// Writes `grads.len() / phi.len()` independent estimates of
    /// `∇_φ E[f(b)]` at `phi` into consecutive segments of `grads` and
    /// returns their total cost (see the module docs for how they are
    /// drawn). Stateful estimators update their state after each
    /// estimate, as [`Estimator::estimate`] does.
    ///
    /// # Panics
    ///
    /// Panics if `phi` is empty or `grads.len()` is not a multiple of
    /// `phi.len()`, and where [`Estimator::estimate`] panics.
    pub fn estimate_batch<O, R>(
        &mut self,
        phi: &[f64],
        f: &O,
        rng: &mut R,
        grads: &mut [f64],
    ) -> Estimate
    where
        O: Objective + ?Sized,
        R: Rng + ?Sized,
    {
        let n = phi.len();
        assert!(n > 0, "estimate_batch: phi is empty");
        assert!(
            grads.len().is_multiple_of(n),
            "estimate_batch: {} gradient values are not whole blocks of {n}",
            grads.len()
        );
        let EstimatorKind::Rebar {
            eta,
            temperature,
            coupling,
        } = self.kind
        else {
            return self.estimate_each(phi, f, rng, grads);
        };
        if self.n_samples != 1 || grads.is_empty() {
            return self.estimate_each(phi, f, rng, grads);
        }
        let params = RebarParams {
            eta,
            temperature,
            coupling,
        };
        match self.variables {
            Variables::Binary => self.rebar_batch(&Bernoulli, phi, params, f, rng, grads),
            Variables::Categorical { n_classes } => {
                assert!(
                    n.is_multiple_of(n_classes),
                    "estimate_batch: block length {n} is not a multiple of {n_classes} classes"
                );
                self.rebar_batch(&Categorical { n_classes }, phi, params, f, rng, grads)
            }
        }
    }

    /// One [`Estimator::estimate`] call per segment of `grads`.
    fn estimate_each<O, R>(
        &mut self,
        phi: &[f64],
        f: &O,
        rng: &mut R,
        grads: &mut [f64],
    ) -> Estimate
    where
        O: Objective + ?Sized,
        R: Rng + ?Sized,
    {
        let mut n_evals = 0;
        for grad in grads.chunks_mut(phi.len()) {
            n_evals += self.estimate(phi, f, rng, grad).n_evals;
        }
        Estimate { n_evals }
    }

    /// Plain REBAR's batch, through `rebar::sample_batch`.
    fn rebar_batch<V, O, R>(
        &mut self,
        variable: &V,
        phi: &[f64],
        params: RebarParams,
        f: &O,
        rng: &mut R,
        grads: &mut [f64],
    ) -> Estimate
    where
        V: VariableKind,
        O: Objective + ?Sized,
        R: Rng + ?Sized,
    {
        // The tiling is unchanged when it has the right length and starts
        // with `phi` (its length is a multiple of `phi.len()`, so it is then
        // `phi` repeated).
        let batch = &mut self.batch;
        let same = batch.phi_tiled.len() == grads.len()
            && batch.phi_tiled[..phi.len()]
                .iter()
                .zip(phi)
                .all(|(a, b)| a.to_bits() == b.to_bits());
        if !same {
            batch.phi_tiled.clear();
            for _ in 0..grads.len() / phi.len() {
                batch.phi_tiled.extend_from_slice(phi);
            }
            // Unchanged logits keep the workspace as prepared last time.
            batch.workspace.prepare(variable, &batch.phi_tiled);
        }
        let ws = &mut batch.workspace;
        let n_evals =
            rebar::sample_batch(variable, ws, &batch.phi_tiled, phi.len(), params, f, rng);
        grads.copy_from_slice(&ws.g_hat);
        Estimate { n_evals }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimator::{Coupling, EstimatorSettings};
    use crate::problem::ToyProblem;
    use crate::rng::stream_from_seed;
    use crate::variance::{ALPHA, Moments, bonferroni_z};

    /// Every segment of a batch is an unbiased estimate: the mean over all
    /// segments of many batches meets the exact gradient within the
    /// Bonferroni bound (maths.md §7), for bits and for classes, with
    /// both couplings.
    #[test]
    fn batched_rebar_is_unbiased() {
        let problems = [
            ToyProblem::bits(10, 0.45, 3),
            ToyProblem::categorical_target(5, 4),
        ];
        for problem in &problems {
            for coupling in [Coupling::Independent, Coupling::SameNoise] {
                let settings = EstimatorSettings {
                    temperature: 0.5,
                    eta: 1.0,
                    coupling,
                    ..EstimatorSettings::default()
                };
                let kind = EstimatorKind::from_name_with("rebar", &settings).expect("rebar");
                let mut estimator = Estimator::new(kind, problem.variables, 1);
                let n = problem.phi.len();
                let batch = 37; // not a power of two
                let mut grads = vec![0.0; batch * n];
                let mut rng = stream_from_seed(5);
                let mut moments = Moments::new(n);
                for _ in 0..400 {
                    let cost = estimator.estimate_batch(
                        &problem.phi,
                        &problem.objective,
                        &mut rng,
                        &mut grads,
                    );
                    assert_eq!(cost.n_evals, 3 * batch);
                    grads.chunks(n).for_each(|g| moments.push(g));
                }
                let z = moments.max_bias_z(&problem.exact_gradient);
                assert!(
                    z <= bonferroni_z(ALPHA, n),
                    "{coupling:?} on {n} logits: z {z} over {} draws",
                    moments.n_draws()
                );
            }
        }
    }

    /// The batch draws differ from one call per estimate, but their
    /// variance is the same within sampling error.
    #[test]
    fn batched_rebar_has_the_variance_of_single_calls() {
        let problem = ToyProblem::bits(20, 0.45, 1);
        let kind = EstimatorKind::from_name("rebar", 0.5, 1.0).expect("rebar");
        let n = problem.phi.len();
        let (mut batched, mut single) = (Moments::new(n), Moments::new(n));
        let mut estimator = Estimator::new(kind.clone(), problem.variables, 1);
        let mut grads = vec![0.0; 50 * n];
        let mut rng = stream_from_seed(8);
        for _ in 0..400 {
            estimator.estimate_batch(&problem.phi, &problem.objective, &mut rng, &mut grads);
            grads.chunks(n).for_each(|g| batched.push(g));
        }
        let mut estimator = Estimator::new(kind, problem.variables, 1);
        let mut grad = vec![0.0; n];
        for _ in 0..20_000 {
            estimator.estimate(&problem.phi, &problem.objective, &mut rng, &mut grad);
            single.push(&grad);
        }
        // Summed variances from 20 000 draws each: the relative standard
        // error of each is sqrt((kurtosis − 1) / n), about 2 % for a
        // kurtosis near 9, so [0.9, 1.1] spans about 3.5 standard errors of
        // the ratio and a batch that drew differently would leave it.
        let total = |m: &Moments| m.variance().iter().sum::<f64>();
        let ratio = total(&batched) / total(&single);
        assert!((0.9..=1.1).contains(&ratio), "variance ratio {ratio}");
    }

    /// Estimators without a batched path give exactly the values of
    /// consecutive single calls.
    #[test]
    fn other_estimators_batch_as_consecutive_calls() {
        let problem = ToyProblem::bits(6, 0.45, 2);
        let n = problem.phi.len();
        for name in [
            "reinforce",
            "reinforce-ema",
            "disarm",
            "gumbel",
            "rebar-adaptive",
        ] {
            let kind = EstimatorKind::from_name(name, 0.5, 1.0).expect("estimator");
            let samples = kind.min_samples();
            let mut batched = Estimator::new(kind.clone(), problem.variables, samples);
            let mut single = Estimator::new(kind, problem.variables, samples);
            let mut grads = vec![0.0; 4 * n];
            let mut rng = stream_from_seed(3);
            batched.estimate_batch(&problem.phi, &problem.objective, &mut rng, &mut grads);
            let mut rng = stream_from_seed(3);
            let mut grad = vec![0.0; n];
            for segment in grads.chunks(n) {
                single.estimate(&problem.phi, &problem.objective, &mut rng, &mut grad);
                assert_eq!(segment, &grad[..], "{name}");
            }
        }
    }
}
