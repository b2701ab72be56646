//! Finite-difference checks of the hand-written derivatives of the
//! variable kinds (maths.md §2, §3, §8) and of the toy objectives:
//! `∂z̃/∂φ` for fresh and same noise, the relaxation's pull-back and its
//! derivatives in `λ`, and the relaxed objectives' gradients and
//! Hessian-vector products. (`∂ĝ/∂λ` of REBAR is checked beside its code.)

use rebar_optimizer::estimator::Objective;
use rebar_optimizer::estimator::variable::{Bernoulli, Categorical, VariableKind};
use rebar_optimizer::problem::{BitsTarget, CategoricalLinear, CategoricalTarget};
use rebar_optimizer::rng::{open_uniform, stream_from_seed};

/// Central-difference step and tolerance: the truncation error is
/// O(h²) ≈ 1e-10 and the rounding error O(ε/h) ≈ 1e-10 for O(1) values.
const STEP: f64 = 1e-5;
const TOLERANCE: f64 = 1e-6;

fn close(analytic: f64, numeric: f64, what: &str) {
    let scale = 1.0f64.max(analytic.abs()).max(numeric.abs());
    assert!(
        (analytic - numeric).abs() <= TOLERANCE * scale,
        "{what}: analytic {analytic} vs finite difference {numeric}"
    );
}

/// `z̃` at `phi` for fixed `b` and `v`, and its Jacobian as a dense matrix
/// (row k, column j) built from the (diag, coef) form.
fn conditional_dense<V: VariableKind>(
    kind: &V,
    phi: &[f64],
    b: &[f64],
    v: &[f64],
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = phi.len();
    let (mut theta, mut aux) = (vec![0.0; n], vec![0.0; n]);
    kind.probabilities(phi, &mut theta, &mut aux);
    let (mut z_tilde, mut diag, mut coef) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    kind.conditional(phi, &theta, &aux, b, v, &mut z_tilde, &mut diag, &mut coef);
    (z_tilde, dense_jacobian(kind, &theta, &diag, &coef))
}

/// The dense Jacobian from the (diag, coef) form, by pulling back unit
/// vectors (so `pull_back` is checked too).
fn dense_jacobian<V: VariableKind>(
    kind: &V,
    theta: &[f64],
    diag: &[f64],
    coef: &[f64],
) -> Vec<Vec<f64>> {
    let n = theta.len();
    (0..n)
        .map(|k| {
            let mut unit = vec![0.0; n];
            unit[k] = 1.0;
            let mut row = vec![0.0; n];
            kind.pull_back(theta, diag, coef, &unit, 1.0, &mut row);
            row
        })
        .collect()
}

fn check_conditional_jacobian<V: VariableKind>(
    kind: &V,
    phi: &[f64],
    b: &[f64],
    v: &[f64],
    label: &str,
) {
    let (_, jacobian) = conditional_dense(kind, phi, b, v);
    for j in 0..phi.len() {
        let shifted = |delta: f64| {
            let mut p = phi.to_vec();
            p[j] += delta;
            conditional_dense(kind, &p, b, v).0
        };
        let (plus, minus) = (shifted(STEP), shifted(-STEP));
        for k in 0..phi.len() {
            let numeric = (plus[k] - minus[k]) / (2.0 * STEP);
            close(jacobian[k][j], numeric, &format!("{label} dz̃_{k}/dφ_{j}"));
        }
    }
}

#[test]
fn binary_conditional_jacobian_matches_finite_differences() {
    let mut rng = stream_from_seed(21);
    for &phi in &[-6.0, -1.3, 0.0, 0.4, 2.5, 8.0] {
        for &b in &[0.0, 1.0] {
            for _ in 0..20 {
                let v = open_uniform(&mut rng);
                check_conditional_jacobian(
                    &Bernoulli,
                    &[phi],
                    &[b],
                    &[v],
                    &format!("bit φ={phi} b={b}"),
                );
            }
        }
    }
}

#[test]
fn categorical_conditional_jacobian_matches_finite_differences() {
    let mut rng = stream_from_seed(22);
    for n_classes in [2, 4, 10] {
        let kind = Categorical { n_classes };
        for trial in 0..20 {
            // Unnormalised logits, far from zero mean.
            let phi: Vec<f64> = (0..n_classes)
                .map(|_| 3.0 + 2.0 * (open_uniform(&mut rng) - 0.5) * 4.0)
                .collect();
            let winner = trial % n_classes;
            let mut b = vec![0.0; n_classes];
            b[winner] = 1.0;
            let v: Vec<f64> = (0..n_classes).map(|_| open_uniform(&mut rng)).collect();
            check_conditional_jacobian(&kind, &phi, &b, &v, &format!("K={n_classes} b={winner}"));
        }
    }
}

/// The noise `v` that makes the fresh-noise conditional reproduce `z`
/// given `b` (maths.md §8), so that same-noise Jacobians can be checked as
/// derivatives of the fresh-noise sampler at that `v`.
fn binary_noise_for(phi: f64, u: f64, b: f64) -> f64 {
    let theta = 1.0 / (1.0 + (-phi).exp());
    if b > 0.5 {
        (u - (1.0 - theta)) / theta
    } else {
        1.0 - u / (1.0 - theta)
    }
}

#[test]
fn binary_same_noise_matches_the_fresh_sampler_at_the_recovered_noise() {
    let mut rng = stream_from_seed(23);
    for &phi in &[-2.0, -0.5, 0.0, 0.7, 3.0] {
        for _ in 0..50 {
            let u = 0.02 + 0.96 * open_uniform(&mut rng);
            let (mut z, mut b) = ([0.0], [0.0]);
            Bernoulli.reparameterise(&[phi], &[u], &mut z, &mut b);
            let v = binary_noise_for(phi, u, b[0]);
            let (z_fresh, jac_fresh) = conditional_dense(&Bernoulli, &[phi], &b, &[v]);
            close(z_fresh[0], z[0], "same-noise value");

            let (mut theta, mut aux) = ([0.0], [0.0]);
            Bernoulli.probabilities(&[phi], &mut theta, &mut aux);
            let (mut zt, mut diag, mut coef) = ([0.0], [0.0], [0.0]);
            Bernoulli.conditional_same_noise(&theta, &aux, &b, &z, &mut zt, &mut diag, &mut coef);
            assert_eq!(zt[0], z[0]);
            close(diag[0], jac_fresh[0][0], "same-noise dz̃/dφ");
        }
    }
}

#[test]
fn categorical_same_noise_matches_the_fresh_sampler_at_the_recovered_noise() {
    let mut rng = stream_from_seed(24);
    let kind = Categorical { n_classes: 4 };
    for _ in 0..50 {
        let phi: Vec<f64> = (0..4)
            .map(|_| 4.0 * (open_uniform(&mut rng) - 0.5) + 1.0)
            .collect();
        let u: Vec<f64> = (0..4).map(|_| open_uniform(&mut rng)).collect();
        let (mut z, mut b) = (vec![0.0; 4], vec![0.0; 4]);
        kind.reparameterise(&phi, &u, &mut z, &mut b);
        let winner = b.iter().position(|&x| x > 0.5).expect("one-hot");

        // Noise reproducing z: v_b = exp(−e^{ℓ − z_b}), v_k = exp(−e^{φ_k}(e^{−z_k} − e^{−z_b})).
        let lse = phi.iter().map(|p| p.exp()).sum::<f64>().ln();
        let v: Vec<f64> = (0..4)
            .map(|k| {
                if k == winner {
                    (-(lse - z[winner]).exp()).exp()
                } else {
                    (-phi[k].exp() * ((-z[k]).exp() - (-z[winner]).exp())).exp()
                }
            })
            .collect();
        let (z_fresh, jac_fresh) = conditional_dense(&kind, &phi, &b, &v);
        for k in 0..4 {
            close(z_fresh[k], z[k], "categorical same-noise value");
        }

        let (mut theta, mut aux) = (vec![0.0; 4], vec![0.0; 4]);
        kind.probabilities(&phi, &mut theta, &mut aux);
        let (mut zt, mut diag, mut coef) = (vec![0.0; 4], vec![0.0; 4], vec![0.0; 4]);
        kind.conditional_same_noise(&theta, &aux, &b, &z, &mut zt, &mut diag, &mut coef);
        let jacobian = dense_jacobian(&kind, &theta, &diag, &coef);
        for k in 0..4 {
            for j in 0..4 {
                close(
                    jacobian[k][j],
                    jac_fresh[k][j],
                    "categorical same-noise Jacobian",
                );
            }
        }
    }
}

/// `f(relax(z, λ))` for a relaxed objective.
fn relaxed_value<V: VariableKind, O: Objective>(
    kind: &V,
    f: &O,
    z: &[f64],
    temperature: f64,
) -> f64 {
    let mut s = vec![0.0; z.len()];
    kind.relax(z, temperature, &mut s);
    let mut grad = vec![0.0; z.len()];
    f.relaxed_value_grad(&s, &mut grad)
}

/// Checks the pull-back `(∂s/∂z)ᵀ ∇f`, the tangent `ds/dλ` and the
/// derivative in `λ` of the pull-back against finite differences.
fn check_relaxation<V: VariableKind, O: Objective>(
    kind: &V,
    f: &O,
    z: &[f64],
    temperature: f64,
    label: &str,
) {
    let n = z.len();
    let mut s = vec![0.0; n];
    let mut grad_s = vec![0.0; n];
    let mut grad_z = vec![0.0; n];
    kind.relax(z, temperature, &mut s);
    f.relaxed_value_grad(&s, &mut grad_s);
    kind.relax_pull_back(&s, &grad_s, temperature, &mut grad_z);
    for j in 0..n {
        let mut plus = z.to_vec();
        let mut minus = z.to_vec();
        plus[j] += STEP;
        minus[j] -= STEP;
        let numeric = (relaxed_value(kind, f, &plus, temperature)
            - relaxed_value(kind, f, &minus, temperature))
            / (2.0 * STEP);
        close(grad_z[j], numeric, &format!("{label} d f(s)/dz_{j}"));
    }

    // Tangents in λ.
    let mut ds = vec![0.0; n];
    let mut dgrad_s = vec![0.0; n];
    let mut dgrad_z = vec![0.0; n];
    kind.relax_tangent(z, &s, temperature, &mut ds);
    f.relaxed_hessian_vector(&s, &ds, &mut dgrad_s);
    kind.relax_pull_back_tangent(
        &s,
        &ds,
        &grad_s,
        &dgrad_s,
        temperature,
        &grad_z,
        &mut dgrad_z,
    );
    let at = |t: f64| {
        let mut s_t = vec![0.0; n];
        let mut gs_t = vec![0.0; n];
        let mut gz_t = vec![0.0; n];
        kind.relax(z, t, &mut s_t);
        f.relaxed_value_grad(&s_t, &mut gs_t);
        kind.relax_pull_back(&s_t, &gs_t, t, &mut gz_t);
        (s_t, gz_t)
    };
    let h = STEP * temperature;
    let ((s_plus, gz_plus), (s_minus, gz_minus)) = (at(temperature + h), at(temperature - h));
    for j in 0..n {
        close(
            ds[j],
            (s_plus[j] - s_minus[j]) / (2.0 * h),
            &format!("{label} ds_{j}/dλ"),
        );
        close(
            dgrad_z[j],
            (gz_plus[j] - gz_minus[j]) / (2.0 * h),
            &format!("{label} d grad_z_{j}/dλ"),
        );
    }
}

#[test]
fn binary_relaxation_derivatives_match_finite_differences() {
    let f = BitsTarget::new(5, 0.45);
    let z = [-2.0, -0.3, 0.1, 0.8, 3.0];
    for temperature in [0.3, 0.5, 1.0, 2.0] {
        check_relaxation(
            &Bernoulli,
            &f,
            &z,
            temperature,
            &format!("bits λ={temperature}"),
        );
    }
}

#[test]
fn categorical_relaxation_derivatives_match_finite_differences() {
    let kind = Categorical { n_classes: 4 };
    let target = CategoricalTarget::new(vec![0.1, 0.2, 0.3, 0.4]);
    let linear = CategoricalLinear::new(vec![0.5, -1.0, 2.0, 0.0]);
    let z = [0.3, -0.8, 1.1, 0.2];
    for temperature in [0.3, 0.5, 1.0, 2.0] {
        check_relaxation(
            &kind,
            &target,
            &z,
            temperature,
            &format!("target λ={temperature}"),
        );
        check_relaxation(
            &kind,
            &linear,
            &z,
            temperature,
            &format!("linear λ={temperature}"),
        );
    }
}

/// Checks `relaxed_value_grad` against differences of the value and
/// `relaxed_hessian_vector` against differences of the gradient.
fn check_objective<O: Objective>(f: &O, s: &[f64], direction: &[f64], label: &str) {
    let n = s.len();
    let mut grad = vec![0.0; n];
    f.relaxed_value_grad(s, &mut grad);
    let mut scratch = vec![0.0; n];
    for j in 0..n {
        let mut plus = s.to_vec();
        let mut minus = s.to_vec();
        plus[j] += STEP;
        minus[j] -= STEP;
        let numeric = (f.relaxed_value_grad(&plus, &mut scratch)
            - f.relaxed_value_grad(&minus, &mut scratch))
            / (2.0 * STEP);
        close(grad[j], numeric, &format!("{label} ∂f/∂s_{j}"));
    }
    let mut hv = vec![0.0; n];
    f.relaxed_hessian_vector(s, direction, &mut hv);
    let shifted_grad = |sign: f64| {
        let point: Vec<f64> = s
            .iter()
            .zip(direction)
            .map(|(&x, &d)| x + sign * STEP * d)
            .collect();
        let mut g = vec![0.0; n];
        f.relaxed_value_grad(&point, &mut g);
        g
    };
    let (plus, minus) = (shifted_grad(1.0), shifted_grad(-1.0));
    for j in 0..n {
        close(
            hv[j],
            (plus[j] - minus[j]) / (2.0 * STEP),
            &format!("{label} (H d)_{j}"),
        );
    }
}

#[test]
fn toy_objective_gradients_match_finite_differences() {
    let direction = [0.3, -1.2, 0.5, 2.0];
    let s = [0.2, 0.9, 0.4, 0.05];
    check_objective(&BitsTarget::new(4, 0.45), &s, &direction, "bits");
    check_objective(
        &CategoricalTarget::new(vec![0.1, 0.2, 0.3, 0.4]),
        &s,
        &direction,
        "target",
    );
    check_objective(
        &CategoricalLinear::new(vec![1.0, -2.0, 0.5, 3.0]),
        &s,
        &direction,
        "linear",
    );
}

/// An objective without its own Hessian-vector product exercises the
/// trait's finite-difference default.
struct Cubic;

impl Objective for Cubic {
    fn value(&self, b: &[f64]) -> f64 {
        b.iter().map(|x| x * x * x).sum()
    }

    fn relaxed_value_grad(&self, s: &[f64], grad_s: &mut [f64]) -> f64 {
        for (g, &x) in grad_s.iter_mut().zip(s) {
            *g = 3.0 * x * x;
        }
        self.value(s)
    }
}

#[test]
fn default_hessian_vector_product_is_accurate() {
    let s = [0.2, 0.7, 0.5];
    let direction = [1.0, -0.5, 2.0];
    let mut out = [0.0; 3];
    Cubic.relaxed_hessian_vector(&s, &direction, &mut out);
    for j in 0..3 {
        close(
            out[j],
            6.0 * s[j] * direction[j],
            "default Hessian-vector product",
        );
    }
    Cubic.relaxed_hessian_vector(&s, &[0.0; 3], &mut out);
    assert_eq!(out, [0.0; 3]);
}
