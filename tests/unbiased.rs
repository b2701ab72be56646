//! Unbiasedness of every unbiased estimator against the exact gradient on
//! the toy problems (maths.md §5, §7), detection of the biased ones, and a
//! check that the test itself rejects a deliberately biased estimate.
//!
//! Each check draws `n` estimates with a fixed seed and requires
//! `|mean_j − exact_j| ≤ z · sd_j / sqrt(n)` in every coordinate, with the
//! Bonferroni bound `z = Φ⁻¹(1 − α/(2d))` at `α = 0.001`.

use rebar_optimizer::estimator::{
    Coupling, EstimatorKind, EstimatorSettings, Variables, exact_gradient,
};
use rebar_optimizer::math::sigmoid;
use rebar_optimizer::problem::ToyProblem;
use rebar_optimizer::rng::{open_uniform, stream_from_seed};
use rebar_optimizer::variance::{ALPHA, EstimatorStats, Moments, bonferroni_z, measure};

/// Every unbiased estimator, with the settings under test.
fn unbiased_kinds(variables: Variables) -> Vec<(EstimatorKind, usize)> {
    let settings = |temperature, eta, coupling| EstimatorSettings {
        temperature,
        eta,
        coupling,
        ..EstimatorSettings::default()
    };
    let build = |name: &str, s: EstimatorSettings| {
        EstimatorKind::from_name_with(name, &s).expect("known estimator")
    };
    let base = EstimatorSettings::default();
    let mut kinds = vec![
        (build("reinforce", base), 1),
        (build("reinforce-ema", base), 1),
        (build("rloo", base), 2),
        (build("rloo", base), 5),
        (build("rebar", settings(0.5, 1.0, Coupling::Independent)), 1),
        (
            build("rebar", settings(0.1, -0.7, Coupling::Independent)),
            1,
        ),
        (build("rebar", settings(2.0, 1.0, Coupling::SameNoise)), 1),
        (build("rebar", settings(0.3, 0.5, Coupling::SameNoise)), 3),
        (
            build("rebar-adaptive", settings(0.5, 1.0, Coupling::Independent)),
            1,
        ),
    ];
    if variables == Variables::Binary {
        kinds.push((build("arm", base), 1));
        kinds.push((build("disarm", base), 1));
    }
    kinds
}

fn check(
    problem: &ToyProblem,
    kind: &EstimatorKind,
    n_samples: usize,
    n_draws: usize,
    seed: u64,
) -> EstimatorStats {
    let mut rng = stream_from_seed(seed);
    measure(
        kind,
        problem.variables,
        n_samples,
        &problem.objective,
        &problem.phi,
        &problem.exact_gradient,
        n_draws,
        &mut rng,
    )
    .expect("estimator applies to the problem")
}

fn assert_unbiased(problem: &ToyProblem, n_draws: usize) {
    for (index, (kind, n_samples)) in unbiased_kinds(problem.variables).iter().enumerate() {
        let stats = check(problem, kind, *n_samples, n_draws, 100 + index as u64);
        let bound = bonferroni_z(ALPHA, problem.phi.len());
        assert!(
            stats.passes_bias_check(ALPHA),
            "{} ({kind:?}, m = {n_samples}) on {}: bias z = {} > {bound}",
            stats.name,
            problem.name,
            stats.max_bias_z,
        );
    }
}

#[test]
fn one_bit_with_target_045_away_from_zero_logit() {
    assert_unbiased(&ToyProblem::one_bit(0.45, 0.3), 100_000);
    assert_unbiased(&ToyProblem::one_bit(0.45, -1.5), 100_000);
}

#[test]
fn one_bit_with_target_0499() {
    assert_unbiased(&ToyProblem::one_bit(0.499, 0.8), 100_000);
}

/// The problems of the variance study (one bit at `φ = 0` with both
/// targets, 100 bits, 4 and 10 classes); at `φ = 0` DisARM is exact
/// (zero variance), which the check must accept.
#[test]
fn variance_study_problems() {
    for problem in ToyProblem::standard_set(0) {
        let n_draws = match problem.variables {
            Variables::Binary if problem.phi.len() == 1 => 60_000,
            Variables::Binary => 12_000,
            Variables::Categorical { .. } => 25_000,
        };
        assert_unbiased(&problem, n_draws);
    }
}

#[test]
fn categorical_four_classes_linear() {
    assert_unbiased(&ToyProblem::categorical_linear(4, 12), 40_000);
}

#[test]
fn closed_form_gradients_match_enumeration() {
    let problems = [
        ToyProblem::bits(8, 0.45, 1),
        ToyProblem::categorical_linear(4, 2),
        ToyProblem::categorical_target(10, 3),
    ];
    for problem in &problems {
        let mut enumerated = vec![0.0; problem.phi.len()];
        exact_gradient(
            problem.variables,
            &problem.phi,
            &problem.objective,
            &mut enumerated,
        );
        for (a, b) in enumerated.iter().zip(&problem.exact_gradient) {
            assert!((a - b).abs() < 1e-12, "{}: {a} vs {b}", problem.name);
        }
        assert!(problem.exact_gradient.iter().any(|g| g.abs() > 1e-3));
    }
}

#[test]
fn biased_estimators_are_detected() {
    let base = EstimatorSettings {
        temperature: 1.0,
        ..EstimatorSettings::default()
    };
    let problems = [
        ToyProblem::bits(100, 0.45, 11),
        ToyProblem::categorical_target(4, 13),
    ];
    for name in ["gumbel", "straight-through"] {
        let kind = EstimatorKind::from_name_with(name, &base).expect("known estimator");
        assert!(!kind.is_unbiased());
        for problem in &problems {
            let stats = check(problem, &kind, 1, 50_000, 7);
            assert!(
                !stats.passes_bias_check(ALPHA),
                "{name} on {}: bias not detected (z = {})",
                problem.name,
                stats.max_bias_z
            );
        }
    }
}

/// A deliberately wrong score-function estimator: it draws `b` from
/// `sigmoid(φ)` but scores with `sigmoid(φ + 0.3)`.
#[test]
fn the_check_rejects_a_deliberately_biased_estimate() {
    let problem = ToyProblem::bits(100, 0.45, 11);
    let mut rng = stream_from_seed(5);
    let mut moments = Moments::new(problem.phi.len());
    let mut b = vec![0.0; problem.phi.len()];
    let mut estimate = vec![0.0; problem.phi.len()];
    for _ in 0..20_000 {
        for (bj, &p) in b.iter_mut().zip(&problem.phi) {
            *bj = if open_uniform(&mut rng) < sigmoid(p) {
                1.0
            } else {
                0.0
            };
        }
        let value = rebar_optimizer::estimator::Objective::value(&problem.objective, &b);
        for ((g, &bj), &p) in estimate.iter_mut().zip(&b).zip(&problem.phi) {
            *g = value * (bj - sigmoid(p + 0.3));
        }
        moments.push(&estimate);
    }
    let z = moments.max_bias_z(&problem.exact_gradient);
    assert!(z > bonferroni_z(ALPHA, problem.phi.len()), "bias z = {z}");
}
