//! Toy objectives with closed-form gradients (maths.md §5), and the toy
//! problems of the variance study (objective, logits and exact gradient
//! bundled in [`ToyProblem`]).

mod toy;

pub use toy::{BitsTarget, CategoricalLinear, CategoricalTarget, ToyObjective, ToyProblem};
