//! The exact gradient by enumeration of every state of a block.
//!
//! ```text
//! ∇_φ E[f(b)] = Σ_b p(b|φ) f(b) ∇_φ log p(b|φ)
//! binary:      ∂ log p(b)/∂φ_i    = b_i − θ_i,         θ_i = sigmoid(φ_i)
//! categorical: ∂ log p(b)/∂φ_{ik} = b_{ik} − θ_{ik},   θ_i = softmax(φ_i)
//! ```
//!
//! Only small blocks can be enumerated (see [`MAX_ENUMERATED_STATES`]);
//! separable problems supply their own closed forms for larger ones.

use super::{Estimate, Objective, Variables};
use crate::math::{sigmoid, softmax_into};

/// The largest number of joint states [`exact_gradient`] enumerates.
pub const MAX_ENUMERATED_STATES: usize = 1 << 20;

/// Writes the exact gradient of `E_{b~p(b|φ)}[f(b)]` into `grad_phi` and
/// returns the number of evaluations of `f` (the number of states).
///
/// # Panics
///
/// Panics if the block has more than [`MAX_ENUMERATED_STATES`] states, if
/// `grad_phi.len() != phi.len()`, or if a categorical block's length is
/// not a multiple of its class count.
pub fn exact_gradient<O: Objective + ?Sized>(
    variables: Variables,
    phi: &[f64],
    f: &O,
    grad_phi: &mut [f64],
) -> Estimate {
    assert_eq!(
        phi.len(),
        grad_phi.len(),
        "exact: phi and grad_phi lengths differ"
    );
    let (theta, n_classes) = match variables {
        Variables::Binary => (phi.iter().map(|&p| sigmoid(p)).collect::<Vec<_>>(), 2),
        Variables::Categorical { n_classes } => {
            assert!(
                n_classes >= 2 && phi.len().is_multiple_of(n_classes),
                "exact: bad categorical block"
            );
            let mut theta = vec![0.0; phi.len()];
            for (row, out) in phi.chunks(n_classes).zip(theta.chunks_mut(n_classes)) {
                softmax_into(row, out);
            }
            (theta, n_classes)
        }
    };
    let n_vars = match variables {
        Variables::Binary => phi.len(),
        Variables::Categorical { n_classes } => phi.len() / n_classes,
    };
    let n_states = (0..n_vars).try_fold(1usize, |acc, _| acc.checked_mul(n_classes));
    let n_states = match n_states {
        Some(n) if n <= MAX_ENUMERATED_STATES => n,
        _ => panic!("exact: block too large to enumerate ({n_vars} variables)"),
    };

    grad_phi.fill(0.0);
    let mut b = vec![0.0; phi.len()];
    let mut digits = vec![0usize; n_vars];
    for _ in 0..n_states {
        // Build the state from its digits and its probability.
        let mut prob = 1.0;
        b.fill(0.0);
        for (i, &digit) in digits.iter().enumerate() {
            match variables {
                Variables::Binary => {
                    b[i] = digit as f64;
                    prob *= if digit == 1 { theta[i] } else { 1.0 - theta[i] };
                }
                Variables::Categorical { .. } => {
                    b[i * n_classes + digit] = 1.0;
                    prob *= theta[i * n_classes + digit];
                }
            }
        }
        let weight = prob * f.value(&b);
        for ((g, &bj), &tj) in grad_phi.iter_mut().zip(&b).zip(&theta) {
            *g += weight * (bj - tj);
        }
        // Advance the odometer.
        for digit in digits.iter_mut() {
            *digit += 1;
            if *digit < n_classes {
                break;
            }
            *digit = 0;
        }
    }
    Estimate { n_evals: n_states }
}
