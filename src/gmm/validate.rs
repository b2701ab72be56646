//! Up-front checks of the data and settings, so that every fit fails
//! before it starts, with a message naming what to change.

use ndarray::ArrayView2;

use super::GmmError;

/// Checks that `points` can hold a mixture of `n_components` components.
///
/// ```text
/// K >= 1,  D >= 1,  N >= 2,  N >= K,  every x_nd finite
/// ```
///
/// # Errors
///
/// The first rule broken, in the order above; a non-finite value names its
/// row and column (both counted from 0).
pub(crate) fn check_points(points: ArrayView2<f64>, n_components: usize) -> Result<(), GmmError> {
    let (n_points, n_dims) = points.dim();
    if n_components == 0 {
        return Err(GmmError::InvalidSetting {
            field: "n_components",
            value: "0".to_string(),
            rule: "at least 1",
        });
    }
    if n_dims == 0 {
        return Err(GmmError::NoDimensions);
    }
    if n_points < 2 {
        return Err(GmmError::TooFewPoints { n_points });
    }
    if n_points < n_components {
        return Err(GmmError::FewerPointsThanComponents {
            n_points,
            n_components,
        });
    }
    for ((row, column), &value) in points.indexed_iter() {
        if !value.is_finite() {
            return Err(GmmError::NonFinite { row, column, value });
        }
    }
    Ok(())
}

/// The number of distinct rows of `points`, counted up to `limit` (the
/// count stops growing there, which keeps the check cheap for large N).
pub(crate) fn count_distinct(points: ArrayView2<f64>, limit: usize) -> usize {
    let mut distinct: Vec<usize> = Vec::with_capacity(limit);
    for (n, row) in points.rows().into_iter().enumerate() {
        if distinct.len() >= limit {
            break;
        }
        if distinct.iter().all(|&m| points.row(m) != row) {
            distinct.push(n);
        }
    }
    distinct.len()
}

/// Checks that a numeric setting is finite and strictly positive.
pub(crate) fn check_positive(field: &'static str, value: f64) -> Result<(), GmmError> {
    if value.is_finite() && value > 0.0 {
        return Ok(());
    }
    Err(GmmError::InvalidSetting {
        field,
        value: value.to_string(),
        rule: "finite and greater than 0",
    })
}

/// Checks that a numeric setting is finite and not negative.
pub(crate) fn check_non_negative(field: &'static str, value: f64) -> Result<(), GmmError> {
    if value.is_finite() && value >= 0.0 {
        return Ok(());
    }
    Err(GmmError::InvalidSetting {
        field,
        value: value.to_string(),
        rule: "finite and at least 0",
    })
}
