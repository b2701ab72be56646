//! Adam (Kingma and Ba, 2015) with bias correction, for gradient ascent or
//! descent on a flat parameter vector.

/// Adam state for a flat parameter vector.
///
/// ```text
/// m_t = beta1 m_{t-1} + (1 - beta1) g_t
/// v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
/// step = lr * (m_t / (1 - beta1^t)) / (sqrt(v_t / (1 - beta2^t)) + eps)
/// ```
///
/// `g_t` is the gradient at step `t`; [`Adam::ascend`] adds `step`,
/// [`Adam::descend`] subtracts it.
#[derive(Debug, Clone)]
pub struct Adam {
    /// Learning rate.
    pub learning_rate: f64,
    /// Decay of the first-moment average.
    pub beta1: f64,
    /// Decay of the second-moment average.
    pub beta2: f64,
    /// Added to the root of the second moment.
    pub eps: f64,
    first_moment: Vec<f64>,
    second_moment: Vec<f64>,
    n_steps: i32,
}

impl Adam {
    /// Adam for `n_params` parameters with the usual defaults
    /// (beta1 = 0.9, beta2 = 0.999, eps = 1e-8).
    pub fn new(n_params: usize, learning_rate: f64) -> Self {
        Self {
            learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            first_moment: vec![0.0; n_params],
            second_moment: vec![0.0; n_params],
            n_steps: 0,
        }
    }

    /// One step of gradient ascent: `params += step(grad)`.
    ///
    /// # Panics
    ///
    /// Panics if `params` or `grad` has a length other than `n_params`.
    pub fn ascend(&mut self, params: &mut [f64], grad: &[f64]) {
        self.update(params, grad, 1.0);
    }

    /// One step of gradient descent: `params -= step(grad)`.
    ///
    /// # Panics
    ///
    /// Panics if `params` or `grad` has a length other than `n_params`.
    pub fn descend(&mut self, params: &mut [f64], grad: &[f64]) {
        self.update(params, grad, -1.0);
    }

    fn update(&mut self, params: &mut [f64], grad: &[f64], sign: f64) {
        assert_eq!(params.len(), self.first_moment.len(), "adam: params length");
        assert_eq!(grad.len(), self.first_moment.len(), "adam: grad length");
        self.n_steps = self.n_steps.saturating_add(1);
        let correction1 = 1.0 - self.beta1.powi(self.n_steps);
        let correction2 = 1.0 - self.beta2.powi(self.n_steps);
        let moments = self
            .first_moment
            .iter_mut()
            .zip(self.second_moment.iter_mut());
        for ((param, &g), (m, v)) in params.iter_mut().zip(grad).zip(moments) {
            *m = self.beta1 * *m + (1.0 - self.beta1) * g;
            *v = self.beta2 * *v + (1.0 - self.beta2) * g * g;
            let m_hat = *m / correction1;
            let v_hat = *v / correction2;
            *param += sign * self.learning_rate * m_hat / (v_hat.sqrt() + self.eps);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descends_a_quadratic_to_its_minimum() {
        let mut adam = Adam::new(2, 0.1);
        let mut params = [3.0, -2.0];
        for _ in 0..2000 {
            let grad = [2.0 * (params[0] - 1.0), 2.0 * (params[1] + 0.5)];
            adam.descend(&mut params, &grad);
        }
        assert!((params[0] - 1.0).abs() < 1e-3 && (params[1] + 0.5).abs() < 1e-3);
    }

    #[test]
    fn first_step_has_size_learning_rate() {
        let mut adam = Adam::new(1, 0.01);
        let mut params = [0.0];
        adam.ascend(&mut params, &[123.0]);
        assert!((params[0] - 0.01).abs() < 1e-9);
    }
}
