//! Toy objectives with closed-form gradients (maths.md §5).
