//! Two-sample Kolmogorov–Smirnov tests that the conditional samplers
//! `z̃ | b` (fresh noise) draw from the same law as rejection-sampled
//! `z | b`: draw `z` by the reparameterisation and keep the draws whose
//! gate equals `b`. One check per (logits, b, coordinate), each at level
//! `α / n_checks` with `α = 0.001`, using the asymptotic critical value
//!
//! ```text
//! D > c · sqrt((n + m) / (n m)),   c = sqrt(−ln(α' / 2) / 2)
//! ```
//!
//! and a sanity check that the same test rejects a sampler at wrong logits.

use rebar_optimizer::estimator::variable::{Bernoulli, Categorical, VariableKind};
use rebar_optimizer::rng::{Stream, open_uniform, stream_from_seed};

const ALPHA: f64 = 0.001;
const N_DRAWS: usize = 20_000;

/// The two-sample KS statistic `sup_x |F_a(x) − F_b(x)|`.
fn ks_statistic(mut a: Vec<f64>, mut b: Vec<f64>) -> f64 {
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut largest) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        largest = largest.max((i as f64 / n - j as f64 / m).abs());
    }
    largest
}

/// The critical value of the two-sample KS statistic at level `alpha`.
fn ks_critical(alpha: f64, n: usize, m: usize) -> f64 {
    let c = (-(alpha / 2.0).ln() / 2.0).sqrt();
    c * ((n + m) as f64 / (n as f64 * m as f64)).sqrt()
}

/// Coordinates of `z | b`: reparameterised draws at `phi` kept when their
/// gate equals `b`, until `N_DRAWS` are kept.
fn rejection_sample<V: VariableKind>(
    kind: &V,
    phi: &[f64],
    b: &[f64],
    rng: &mut Stream,
) -> Vec<Vec<f64>> {
    let n = phi.len();
    let mut kept = vec![Vec::with_capacity(N_DRAWS); n];
    let (mut u, mut z, mut gate) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    while kept[0].len() < N_DRAWS {
        u.iter_mut().for_each(|x| *x = open_uniform(rng));
        kind.reparameterise(phi, &u, &mut z, &mut gate);
        if gate == b {
            kept.iter_mut()
                .zip(&z)
                .for_each(|(column, &value)| column.push(value));
        }
    }
    kept
}

/// Coordinates of `z̃ | b` from the conditional sampler at `phi`.
fn conditional_sample<V: VariableKind>(
    kind: &V,
    phi: &[f64],
    b: &[f64],
    rng: &mut Stream,
) -> Vec<Vec<f64>> {
    let n = phi.len();
    let (mut theta, mut aux) = (vec![0.0; n], vec![0.0; n]);
    kind.probabilities(phi, &mut theta, &mut aux);
    let mut drawn = vec![Vec::with_capacity(N_DRAWS); n];
    let (mut v, mut zt, mut d, mut c) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    for _ in 0..N_DRAWS {
        v.iter_mut().for_each(|x| *x = open_uniform(rng));
        kind.conditional(phi, &theta, &aux, b, &v, &mut zt, &mut d, &mut c);
        drawn
            .iter_mut()
            .zip(&zt)
            .for_each(|(column, &value)| column.push(value));
    }
    drawn
}

/// Largest KS statistic over coordinates, with its critical value.
fn compare<V: VariableKind>(
    kind: &V,
    phi_target: &[f64],
    phi_sampler: &[f64],
    b: &[f64],
    n_checks: usize,
    seed: u64,
) -> (f64, f64) {
    let mut rng = stream_from_seed(seed);
    let reference = rejection_sample(kind, phi_target, b, &mut rng);
    let candidate = conditional_sample(kind, phi_sampler, b, &mut rng);
    let statistic = reference
        .into_iter()
        .zip(candidate)
        .map(|(a, c)| ks_statistic(a, c))
        .fold(0.0, f64::max);
    (
        statistic,
        ks_critical(ALPHA / n_checks as f64, N_DRAWS, N_DRAWS),
    )
}

const BINARY_LOGITS: [f64; 4] = [-1.5, 0.0, 0.4, 2.0];

#[test]
fn binary_conditional_matches_rejection_sampling() {
    let n_checks = BINARY_LOGITS.len() * 2;
    for (index, &phi) in BINARY_LOGITS.iter().enumerate() {
        for b in [0.0, 1.0] {
            let (d, critical) = compare(
                &Bernoulli,
                &[phi],
                &[phi],
                &[b],
                n_checks,
                40 + index as u64,
            );
            assert!(d <= critical, "φ={phi} b={b}: KS {d} > {critical}");
        }
    }
}

#[test]
fn categorical_conditional_matches_rejection_sampling() {
    // Unnormalised logits (the log-sum-exp form must not care).
    let kind = Categorical { n_classes: 4 };
    let phi = [1.3, 0.2, 2.0, 1.0];
    let n_checks = 4 * 4;
    for winner in 0..4 {
        let mut b = [0.0; 4];
        b[winner] = 1.0;
        let (d, critical) = compare(&kind, &phi, &phi, &b, n_checks, 50 + winner as u64);
        assert!(d <= critical, "b={winner}: KS {d} > {critical}");
    }
}

#[test]
fn the_test_rejects_a_sampler_at_wrong_logits() {
    let (d, critical) = compare(&Bernoulli, &[0.4], &[0.9], &[1.0], 1, 60);
    assert!(d > critical, "binary: KS {d} <= {critical}");
    let kind = Categorical { n_classes: 4 };
    let b = [0.0, 0.0, 1.0, 0.0];
    let (d, critical) = compare(
        &kind,
        &[1.3, 0.2, 2.0, 1.0],
        &[1.3, 0.7, 2.0, 1.0],
        &b,
        1,
        61,
    );
    assert!(d > critical, "categorical: KS {d} <= {critical}");
}
