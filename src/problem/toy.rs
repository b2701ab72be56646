//! The toy objectives of maths.md §5 and the problems built from them.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::estimator::{Objective, Variables};
use crate::math::{fast, sigmoid, softmax_into};
use crate::rng::stream_from_seed;

/// `K` bits pulled towards a target `t`, relaxed the same way:
///
/// ```text
/// f(b) = (1/K) Σ_k (b_k − t)²,   ∂/∂φ_k E[f] = θ_k (1 − θ_k) (1 − 2t) / K
/// ```
///
/// `K` is the number of bits, `t` the target, `θ_k = sigmoid(φ_k)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BitsTarget {
    n_bits: usize,
    target: f64,
}

impl BitsTarget {
    /// The objective over `n_bits` (at least 1) bits with target `target`.
    pub fn new(n_bits: usize, target: f64) -> Self {
        Self {
            n_bits: n_bits.max(1),
            target,
        }
    }

    /// The target `t`.
    pub fn target(&self) -> f64 {
        self.target
    }

    /// Writes the closed-form gradient at logits `phi` into `grad_phi`.
    pub fn exact_gradient(&self, phi: &[f64], grad_phi: &mut [f64]) {
        let factor = (1.0 - 2.0 * self.target) / self.n_bits as f64;
        for (g, &p) in grad_phi.iter_mut().zip(phi) {
            *g = sigmoid(p) * sigmoid(-p) * factor;
        }
    }
}

/// Partial sums per lane, so the sum of squares vectorises; the order of
/// additions is fixed, so results do not depend on the machine.
const SUM_LANES: usize = 4;

/// `Σ_k (x_k − t)²` with [`SUM_LANES`] running partial sums.
fn sum_squared_gaps(x: &[f64], target: f64) -> f64 {
    let mut partial = [0.0; SUM_LANES];
    let mut chunks = x.chunks_exact(SUM_LANES);
    for chunk in &mut chunks {
        for lane in 0..SUM_LANES {
            let gap = chunk[lane] - target;
            partial[lane] += gap * gap;
        }
    }
    let rest: f64 = chunks
        .remainder()
        .iter()
        .map(|&v| (v - target) * (v - target))
        .sum();
    (partial[0] + partial[1]) + (partial[2] + partial[3]) + rest
}

impl Objective for BitsTarget {
    fn value(&self, b: &[f64]) -> f64 {
        sum_squared_gaps(b, self.target) / self.n_bits as f64
    }

    fn relaxed_value_grad(&self, s: &[f64], grad_s: &mut [f64]) -> f64 {
        let scale = 1.0 / self.n_bits as f64;
        let target = self.target;
        fast::zip_map(grad_s, s, s, |_, x, _| 2.0 * (x - target) * scale);
        sum_squared_gaps(s, target) * scale
    }

    fn relaxed_hessian_vector(&self, _s: &[f64], direction: &[f64], out: &mut [f64]) {
        let scale = 2.0 / self.n_bits as f64;
        for (o, &d) in out.iter_mut().zip(direction) {
            *o = scale * d;
        }
    }
}

/// The exact categorical gradient from the values `f(k)` of the `K`
/// one-hot states: `∂/∂φ_j E[f] = θ_j (f(j) − Σ_k θ_k f(k))`.
fn categorical_exact(phi: &[f64], state_values: &[f64], grad_phi: &mut [f64]) {
    let mut theta = vec![0.0; phi.len()];
    softmax_into(phi, &mut theta);
    let mean: f64 = theta.iter().zip(state_values).map(|(&t, &v)| t * v).sum();
    for ((g, &t), &v) in grad_phi.iter_mut().zip(&theta).zip(state_values) {
        *g = t * (v - mean);
    }
}

/// A linear objective of one categorical variable, relaxed the same way:
///
/// ```text
/// f(b) = Σ_k a_k b_k
/// ```
///
/// `a` are the coefficients (one per class).
#[derive(Debug, Clone, PartialEq)]
pub struct CategoricalLinear {
    coefs: Vec<f64>,
}

impl CategoricalLinear {
    /// The objective with coefficients `coefs` (one per class).
    pub fn new(coefs: Vec<f64>) -> Self {
        Self { coefs }
    }

    /// Writes the exact gradient at logits `phi` (one row) into `grad_phi`.
    pub fn exact_gradient(&self, phi: &[f64], grad_phi: &mut [f64]) {
        categorical_exact(phi, &self.coefs, grad_phi);
    }
}

impl Objective for CategoricalLinear {
    fn value(&self, b: &[f64]) -> f64 {
        b.iter().zip(&self.coefs).map(|(&x, &a)| x * a).sum()
    }

    fn relaxed_value_grad(&self, s: &[f64], grad_s: &mut [f64]) -> f64 {
        grad_s.copy_from_slice(&self.coefs[..s.len()]);
        self.value(s)
    }

    fn relaxed_hessian_vector(&self, _s: &[f64], _direction: &[f64], out: &mut [f64]) {
        out.fill(0.0);
    }
}

/// Squared distance of one categorical variable to a fixed target `p`,
/// relaxed as `‖s − p‖²`:
///
/// ```text
/// f(b) = ‖b − p‖² = Σ_k (b_k − p_k)²
/// ```
///
/// A target with distinct entries keeps the gradient away from 0.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoricalTarget {
    target: Vec<f64>,
}

impl CategoricalTarget {
    /// The objective with target `target` (one entry per class).
    pub fn new(target: Vec<f64>) -> Self {
        Self { target }
    }

    /// Writes the exact gradient at logits `phi` (one row) into `grad_phi`.
    pub fn exact_gradient(&self, phi: &[f64], grad_phi: &mut [f64]) {
        // f(e_k) = 1 − 2 p_k + ‖p‖².
        let norm_sq: f64 = self.target.iter().map(|p| p * p).sum();
        let values: Vec<f64> = self
            .target
            .iter()
            .map(|p| 1.0 - 2.0 * p + norm_sq)
            .collect();
        categorical_exact(phi, &values, grad_phi);
    }
}

impl Objective for CategoricalTarget {
    fn value(&self, b: &[f64]) -> f64 {
        b.iter()
            .zip(&self.target)
            .map(|(&x, &p)| (x - p) * (x - p))
            .sum()
    }

    fn relaxed_value_grad(&self, s: &[f64], grad_s: &mut [f64]) -> f64 {
        for ((g, &x), &p) in grad_s.iter_mut().zip(s).zip(&self.target) {
            *g = 2.0 * (x - p);
        }
        self.value(s)
    }

    fn relaxed_hessian_vector(&self, _s: &[f64], direction: &[f64], out: &mut [f64]) {
        for (o, &d) in out.iter_mut().zip(direction) {
            *o = 2.0 * d;
        }
    }
}

/// Any of the toy objectives, so problems can be held in one list.
#[derive(Debug, Clone, PartialEq)]
pub enum ToyObjective {
    /// [`BitsTarget`].
    Bits(BitsTarget),
    /// [`CategoricalLinear`].
    Linear(CategoricalLinear),
    /// [`CategoricalTarget`].
    Target(CategoricalTarget),
}

impl Objective for ToyObjective {
    fn value(&self, b: &[f64]) -> f64 {
        match self {
            ToyObjective::Bits(f) => f.value(b),
            ToyObjective::Linear(f) => f.value(b),
            ToyObjective::Target(f) => f.value(b),
        }
    }

    fn relaxed_value_grad(&self, s: &[f64], grad_s: &mut [f64]) -> f64 {
        match self {
            ToyObjective::Bits(f) => f.relaxed_value_grad(s, grad_s),
            ToyObjective::Linear(f) => f.relaxed_value_grad(s, grad_s),
            ToyObjective::Target(f) => f.relaxed_value_grad(s, grad_s),
        }
    }

    fn relaxed_hessian_vector(&self, s: &[f64], direction: &[f64], out: &mut [f64]) {
        match self {
            ToyObjective::Bits(f) => f.relaxed_hessian_vector(s, direction, out),
            ToyObjective::Linear(f) => f.relaxed_hessian_vector(s, direction, out),
            ToyObjective::Target(f) => f.relaxed_hessian_vector(s, direction, out),
        }
    }
}

/// A toy problem of the variance study: objective, logits and the exact
/// gradient at those logits.
#[derive(Debug, Clone, PartialEq)]
pub struct ToyProblem {
    /// A short stable name, e.g. `bit-t0.45`, `bits100`, `cat4-target`.
    pub name: String,
    /// The kind of variable.
    pub variables: Variables,
    /// The logits at which estimators are compared.
    pub phi: Vec<f64>,
    /// The objective.
    pub objective: ToyObjective,
    /// The exact gradient at `phi`.
    pub exact_gradient: Vec<f64>,
}

/// `n` standard normal draws from the stream of `seed`.
fn normal_logits(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = stream_from_seed(seed);
    (0..n).map(|_| normal(&mut rng)).collect()
}

fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    StandardNormal.sample(rng)
}

impl ToyProblem {
    /// One bit, `f(b) = (b − t)²`, at logit `phi`.
    pub fn one_bit(target: f64, phi: f64) -> Self {
        Self::bits_at(format!("bit-t{target}"), vec![phi], target)
    }

    /// `n_bits` bits, `f = mean_k (b_k − t)²`, with logits drawn from
    /// `N(0, 1)` by `seed` (maths.md §5).
    pub fn bits(n_bits: usize, target: f64, seed: u64) -> Self {
        let phi = normal_logits(n_bits.max(1), seed);
        Self::bits_at(format!("bits{}-t{target}", phi.len()), phi, target)
    }

    fn bits_at(name: String, phi: Vec<f64>, target: f64) -> Self {
        let objective = BitsTarget::new(phi.len(), target);
        let mut exact_gradient = vec![0.0; phi.len()];
        objective.exact_gradient(&phi, &mut exact_gradient);
        Self {
            name,
            variables: Variables::Binary,
            phi,
            objective: ToyObjective::Bits(objective),
            exact_gradient,
        }
    }

    /// One categorical variable with `n_classes` (at least 2) classes,
    /// logits from `N(0, 1)` by `seed`, and the linear objective
    /// `f(b) = Σ_k a_k b_k` with `a_k = k / (K − 1)`.
    pub fn categorical_linear(n_classes: usize, seed: u64) -> Self {
        let n_classes = n_classes.max(2);
        let phi = normal_logits(n_classes, seed);
        let coefs: Vec<f64> = (0..n_classes)
            .map(|k| k as f64 / (n_classes - 1) as f64)
            .collect();
        let objective = CategoricalLinear::new(coefs);
        let mut exact_gradient = vec![0.0; n_classes];
        objective.exact_gradient(&phi, &mut exact_gradient);
        Self {
            name: format!("cat{n_classes}-linear"),
            variables: Variables::Categorical { n_classes },
            phi,
            objective: ToyObjective::Linear(objective),
            exact_gradient,
        }
    }

    /// One categorical variable with `n_classes` (at least 2) classes,
    /// logits from `N(0, 1)` by `seed`, and `f(b) = ‖b − p‖²` with the
    /// distinct target `p_k = (k + 1) / (K (K + 1) / 2)` (for `K = 4`,
    /// `p = (0.1, 0.2, 0.3, 0.4)`).
    pub fn categorical_target(n_classes: usize, seed: u64) -> Self {
        let n_classes = n_classes.max(2);
        let phi = normal_logits(n_classes, seed);
        let total = (n_classes * (n_classes + 1) / 2) as f64;
        let target: Vec<f64> = (0..n_classes).map(|k| (k + 1) as f64 / total).collect();
        let objective = CategoricalTarget::new(target);
        let mut exact_gradient = vec![0.0; n_classes];
        objective.exact_gradient(&phi, &mut exact_gradient);
        Self {
            name: format!("cat{n_classes}-target"),
            variables: Variables::Categorical { n_classes },
            phi,
            objective: ToyObjective::Target(objective),
            exact_gradient,
        }
    }

    /// The problems of the variance study: one bit with `t = 0.45` and
    /// `t = 0.499` at `φ = 0`, 100 bits with `t = 0.45`, and categorical
    /// targets with 4 and 10 classes, logits drawn by `seed`.
    pub fn standard_set(seed: u64) -> Vec<Self> {
        vec![
            Self::one_bit(0.45, 0.0),
            Self::one_bit(0.499, 0.0),
            Self::bits(100, 0.45, seed),
            Self::categorical_target(4, seed),
            Self::categorical_target(10, seed),
        ]
    }
}
