//! Every estimator's output stays finite at extreme settings: logits in
//! [−50, 50], temperatures in [0.01, 10], and uniforms forced to the
//! smallest and largest values the generator can return
//! (`OPEN_UNIFORM_MIN`, `OPEN_UNIFORM_MAX`). 10⁶ REBAR draws per kind of
//! variable (one bit; one 10-class variable) plus 10⁵ for each other
//! estimator.

use std::convert::Infallible;

use rand::TryRng;
use rebar_optimizer::estimator::{
    Coupling, Estimator, EstimatorKind, EstimatorSettings, Objective, Variables,
};
use rebar_optimizer::problem::{BitsTarget, CategoricalTarget};
use rebar_optimizer::rng::{OPEN_UNIFORM_MAX, OPEN_UNIFORM_MIN, open_uniform, stream_from_seed};

/// A generator whose `open_uniform` draws are only the two extremes: word
/// 0 gives `OPEN_UNIFORM_MIN` and `u64::MAX` gives `OPEN_UNIFORM_MAX`,
/// in a pattern set by `mode` (all low, all high, alternating, or a
/// pseudo-random mix).
struct ExtremeWords {
    mode: u64,
    counter: u64,
}

impl TryRng for ExtremeWords {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.try_next_u64()? as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.counter = self.counter.wrapping_add(1);
        let high = match self.mode {
            0 => false,
            1 => true,
            2 => self.counter.is_multiple_of(2),
            _ => rebar_optimizer::rng::splitmix64(self.counter ^ self.mode).is_multiple_of(3),
        };
        Ok(if high { u64::MAX } else { 0 })
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        dst.fill(0);
        Ok(())
    }
}

#[test]
fn extreme_words_give_the_extreme_uniforms() {
    let mut low = ExtremeWords {
        mode: 0,
        counter: 0,
    };
    let mut high = ExtremeWords {
        mode: 1,
        counter: 0,
    };
    assert_eq!(open_uniform(&mut low), OPEN_UNIFORM_MIN);
    assert_eq!(open_uniform(&mut high), OPEN_UNIFORM_MAX);
}

const TEMPERATURES: [f64; 5] = [0.01, 0.1, 0.5, 1.0, 10.0];

/// Every estimator at `temperature`, with `n_samples` 2 for RLOO.
fn all_kinds(temperature: f64, variables: Variables) -> Vec<(EstimatorKind, usize)> {
    let mut kinds = Vec::new();
    for (name, eta, coupling) in [
        ("reinforce", 1.0, Coupling::Independent),
        ("reinforce-ema", 1.0, Coupling::Independent),
        ("rloo", 1.0, Coupling::Independent),
        ("rebar", 1.0, Coupling::Independent),
        ("rebar", -2.0, Coupling::SameNoise),
        ("rebar-adaptive", 1.0, Coupling::Independent),
        ("arm", 1.0, Coupling::Independent),
        ("disarm", 1.0, Coupling::Independent),
        ("gumbel", 1.0, Coupling::Independent),
        ("straight-through", 1.0, Coupling::Independent),
    ] {
        let settings = EstimatorSettings {
            temperature,
            eta,
            coupling,
            ..EstimatorSettings::default()
        };
        let kind = EstimatorKind::from_name_with(name, &settings).expect("valid settings");
        if kind.supports(variables) {
            let n_samples = kind.min_samples();
            kinds.push((kind, n_samples));
        }
    }
    kinds
}

/// Runs `n_draws` estimates of every estimator (REBAR: `n_rebar`) over the
/// logits and temperatures with a seeded stream, then a batch with each
/// extreme-uniform pattern, asserting every coordinate is finite.
fn assert_finite<O: Objective>(
    variables: Variables,
    f: &O,
    logits: &[Vec<f64>],
    n_draws: usize,
    n_rebar: usize,
) {
    let n = logits[0].len();
    let mut grad_phi = vec![0.0; n];
    let mut rng = stream_from_seed(99);
    for &temperature in &TEMPERATURES {
        for (kind, n_samples) in all_kinds(temperature, variables) {
            let mut estimator =
                Estimator::try_new(kind.clone(), variables, n_samples).expect("supported");
            let draws = if kind.name() == "rebar" {
                n_rebar
            } else {
                n_draws
            };
            let per_setting = draws / (TEMPERATURES.len() * logits.len());
            for phi in logits {
                for _ in 0..per_setting {
                    estimator.estimate(phi, f, &mut rng, &mut grad_phi);
                    assert!(
                        grad_phi.iter().all(|g| g.is_finite()),
                        "{kind:?} at φ={phi:?}: {grad_phi:?}"
                    );
                }
                for mode in 0..6 {
                    let mut extreme = ExtremeWords { mode, counter: 0 };
                    for _ in 0..20 {
                        estimator.estimate(phi, f, &mut extreme, &mut grad_phi);
                        assert!(
                            grad_phi.iter().all(|g| g.is_finite()),
                            "{kind:?} at φ={phi:?} with extreme uniforms {mode}: {grad_phi:?}"
                        );
                    }
                }
            }
            if let (Some(eta), Some(t)) = (estimator.current_eta(), estimator.current_temperature())
            {
                assert!(
                    eta.is_finite() && t.is_finite() && t > 0.0,
                    "{kind:?}: η={eta} λ={t}"
                );
            }
        }
    }
}

#[test]
fn one_bit_estimates_are_finite_at_extremes() {
    let logits: Vec<Vec<f64>> = [-50.0, -20.0, -3.0, 0.0, 0.5, 3.0, 20.0, 50.0]
        .iter()
        .map(|&p| vec![p])
        .collect();
    // Six settings of each non-REBAR estimator, each drawn n_draws times;
    // REBAR (two settings) 10⁶ times in all.
    assert_finite(
        Variables::Binary,
        &BitsTarget::new(1, 0.45),
        &logits,
        100_000,
        500_000,
    );
}

#[test]
fn ten_class_estimates_are_finite_at_extremes() {
    let mut rng = stream_from_seed(5);
    let mut logits: Vec<Vec<f64>> = (0..6)
        .map(|_| {
            (0..10)
                .map(|_| 100.0 * open_uniform(&mut rng) - 50.0)
                .collect()
        })
        .collect();
    logits.push(vec![
        50.0, -50.0, 50.0, -50.0, 0.0, 0.0, 50.0, -50.0, 25.0, -25.0,
    ]);
    logits.push(vec![-50.0; 10]);
    let target: Vec<f64> = (1..=10).map(|k| k as f64 / 55.0).collect();
    assert_finite(
        Variables::Categorical { n_classes: 10 },
        &CategoricalTarget::new(target),
        &logits,
        100_000,
        500_000,
    );
}
