//! Small dense linear algebra on row-major `D × D` slices: the Cholesky
//! factor of a covariance and the inverse of a lower-triangular factor.

/// Writes the lower Cholesky factor `L` of the symmetric matrix `a` into
/// `factor` (upper part zeroed).
///
/// ```text
/// a = L Lᵀ,   L_jj = sqrt(a_jj − Σ_{m<j} L_jm²),
///             L_ij = (a_ij − Σ_{m<j} L_im L_jm) / L_jj   (i > j)
/// ```
///
/// # Errors
///
/// The pivot index `j` at which `a` stops being positive definite.
pub(crate) fn cholesky(a: &[f64], n_dims: usize, factor: &mut [f64]) -> Result<(), usize> {
    factor.fill(0.0);
    for j in 0..n_dims {
        let mut pivot = a[j * n_dims + j];
        for m in 0..j {
            pivot -= factor[j * n_dims + m] * factor[j * n_dims + m];
        }
        if !(pivot > 0.0 && pivot.is_finite()) {
            return Err(j);
        }
        let diag = pivot.sqrt();
        factor[j * n_dims + j] = diag;
        for i in j + 1..n_dims {
            let mut value = a[i * n_dims + j];
            for m in 0..j {
                value -= factor[i * n_dims + m] * factor[j * n_dims + m];
            }
            factor[i * n_dims + j] = value / diag;
        }
    }
    Ok(())
}

/// Writes `L⁻¹` (lower triangular) into `inverse` by forward substitution
/// on the columns of the identity.
///
/// ```text
/// (L⁻¹)_ii = 1 / L_ii,   (L⁻¹)_ij = −(Σ_{j<=m<i} L_im (L⁻¹)_mj) / L_ii   (i > j)
/// ```
pub(crate) fn invert_lower(factor: &[f64], n_dims: usize, inverse: &mut [f64]) {
    inverse.fill(0.0);
    for j in 0..n_dims {
        inverse[j * n_dims + j] = 1.0 / factor[j * n_dims + j];
        for i in j + 1..n_dims {
            let mut sum = 0.0;
            for m in j..i {
                sum += factor[i * n_dims + m] * inverse[m * n_dims + j];
            }
            inverse[i * n_dims + j] = -sum / factor[i * n_dims + i];
        }
    }
}

/// `Σ_i log L_ii`, half the log-determinant of `L Lᵀ`.
pub(crate) fn half_log_det(factor: &[f64], n_dims: usize) -> f64 {
    (0..n_dims).map(|i| factor[i * n_dims + i].ln()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_and_inverse_reproduce_the_matrix() {
        let a = [4.0, 2.0, 0.6, 2.0, 5.0, 1.0, 0.6, 1.0, 3.0];
        let mut factor = [0.0; 9];
        cholesky(&a, 3, &mut factor).expect("positive definite");
        for i in 0..3 {
            for j in 0..3 {
                let product: f64 = (0..3).map(|m| factor[i * 3 + m] * factor[j * 3 + m]).sum();
                assert!((product - a[i * 3 + j]).abs() < 1e-12);
            }
        }
        let mut inverse = [0.0; 9];
        invert_lower(&factor, 3, &mut inverse);
        for i in 0..3 {
            for j in 0..3 {
                let product: f64 = (0..3).map(|m| inverse[i * 3 + m] * factor[m * 3 + j]).sum();
                let identity = if i == j { 1.0 } else { 0.0 };
                assert!((product - identity).abs() < 1e-12);
            }
        }
        let det = 4.0 * (5.0 * 3.0 - 1.0) - 2.0 * (2.0 * 3.0 - 0.6) + 0.6 * (2.0 - 5.0 * 0.6);
        assert!((2.0 * half_log_det(&factor, 3) - f64::ln(det)).abs() < 1e-12);
    }

    #[test]
    fn cholesky_reports_the_failing_pivot() {
        let singular = [1.0, 1.0, 1.0, 1.0];
        let mut factor = [0.0; 4];
        assert_eq!(cholesky(&singular, 2, &mut factor), Err(1));
    }
}
