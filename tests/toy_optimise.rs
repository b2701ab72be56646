//! Toy optimisation runs: exact loss bookkeeping, determinism, probes that
//! leave the optimisation alone, and settings refused with clear messages.

use rebar_optimizer::estimator::EstimatorKind;
use rebar_optimizer::rng::stream_from_seed;
use rebar_optimizer::toyopt::{ToyError, ToyLog, ToyRunSettings, ToyTask, optimise};

fn run(task: &ToyTask, settings: &ToyRunSettings, seed: u64) -> (Vec<ToyLog>, Vec<f64>) {
    let mut logs = Vec::new();
    let phi = optimise(task, settings, &mut stream_from_seed(seed), &mut |log| {
        logs.push(log.clone())
    })
    .expect("valid settings");
    (logs, phi)
}

fn settings(name: &str, variance_draws: usize) -> ToyRunSettings {
    ToyRunSettings {
        estimator: EstimatorKind::from_name(name, 0.5, 1.0).expect("known"),
        n_samples: if name == "rloo" { 2 } else { 1 },
        learning_rate: 0.05,
        n_steps: 300,
        log_every: 100,
        variance_draws,
    }
}

#[test]
fn exact_gradient_descent_lowers_the_loss_at_every_logged_step() {
    let task = ToyTask::bits(5, 0.45);
    let (logs, phi) = run(&task, &settings("exact", 0), 1);
    assert_eq!(
        logs.iter().map(|l| l.step).collect::<Vec<_>>(),
        [0, 100, 200, 300]
    );
    for pair in logs.windows(2) {
        assert!(pair[1].loss < pair[0].loss, "{pair:?}");
    }
    // With the exact gradient every bit moves towards 0 (t < 1/2).
    assert!(phi.iter().all(|&p| p < 0.0));
    assert!((logs[3].loss - task.exact_loss(&phi)).abs() < 1e-15);
}

#[test]
fn runs_repeat_bit_for_bit_and_differ_across_seeds() {
    let task = ToyTask::one_bit(0.499);
    for name in [
        "reinforce",
        "rebar",
        "rebar-adaptive",
        "disarm",
        "gumbel",
        "rloo",
    ] {
        let first = run(&task, &settings(name, 8), 4);
        assert_eq!(first, run(&task, &settings(name, 8), 4), "{name}");
        assert_ne!(first.1, run(&task, &settings(name, 8), 5).1, "{name}");
    }
}

#[test]
fn variance_probes_do_not_change_the_trajectory() {
    let task = ToyTask::bits(10, 0.45);
    for name in ["reinforce-ema", "rebar", "rebar-adaptive"] {
        let (quiet, phi_quiet) = run(&task, &settings(name, 0), 9);
        let (probed, phi_probed) = run(&task, &settings(name, 16), 9);
        assert_eq!(phi_quiet, phi_probed, "{name}");
        for (a, b) in quiet.iter().zip(&probed) {
            assert_eq!(
                (a.loss, a.n_evals, a.eta),
                (b.loss, b.n_evals, b.eta),
                "{name}"
            );
            assert!(a.log10_variance.is_none());
            assert!(b.log10_variance.is_some_and(f64::is_finite), "{name}");
        }
    }
}

#[test]
fn exact_estimator_has_no_variance_and_adaptive_reports_its_settings() {
    let task = ToyTask::one_bit(0.45);
    let (logs, _) = run(&task, &settings("exact", 4), 2);
    assert!(
        logs.iter()
            .all(|l| l.log10_variance == Some(f64::NEG_INFINITY))
    );
    let (logs, _) = run(&task, &settings("rebar-adaptive", 0), 2);
    assert!(
        logs.iter()
            .all(|l| l.eta.is_some() && l.temperature.is_some())
    );
    assert_eq!(logs[0].temperature, Some(0.5));
    assert_eq!(logs[0].n_evals, 0);
    assert!(logs[3].n_evals > 0);
}

#[test]
fn bad_settings_are_refused_with_the_field_named() {
    let task = ToyTask::one_bit(0.45);
    let cases = [
        (
            ToyRunSettings {
                learning_rate: 0.0,
                ..settings("reinforce", 0)
            },
            "learning_rate",
        ),
        (
            ToyRunSettings {
                n_steps: 0,
                ..settings("reinforce", 0)
            },
            "n_steps",
        ),
        (
            ToyRunSettings {
                log_every: 0,
                ..settings("reinforce", 0)
            },
            "log_every",
        ),
        (
            ToyRunSettings {
                variance_draws: 1,
                ..settings("reinforce", 0)
            },
            "variance_draws",
        ),
    ];
    for (bad, field) in cases {
        let err = optimise(&task, &bad, &mut stream_from_seed(1), &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains(field), "{err}");
    }
    let rloo_one = ToyRunSettings {
        n_samples: 1,
        ..settings("rloo", 0)
    };
    let err = optimise(&task, &rloo_one, &mut stream_from_seed(1), &mut |_| {}).unwrap_err();
    assert!(matches!(err, ToyError::Estimator(_)), "{err}");
    let zero = ToyTask::bits(0, 0.45);
    let err = optimise(
        &zero,
        &settings("reinforce", 0),
        &mut stream_from_seed(1),
        &mut |_| {},
    );
    assert!(err.unwrap_err().to_string().contains("n_bits"));
}
