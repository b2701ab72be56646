//! Which estimator, with its fixed settings, and the names study files use.

use super::Variables;

/// How REBAR's conditional sample `z̃ | b` gets its noise (maths.md §8).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Coupling {
    /// Fresh uniforms `v`, independent of the `u` that produced `z`.
    #[default]
    Independent,
    /// The noise that reproduces `z` given `b`, so `z̃ = z` in value (its
    /// Jacobian in `φ` still differs from `∂z/∂φ`).
    SameNoise,
}

impl Coupling {
    /// The name used in study files: `independent` or `same`.
    pub fn name(&self) -> &'static str {
        match self {
            Coupling::Independent => "independent",
            Coupling::SameNoise => "same",
        }
    }

    /// The coupling called `name` (`independent` or `same`), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "independent" => Some(Coupling::Independent),
            "same" => Some(Coupling::SameNoise),
            _ => None,
        }
    }
}

/// Which estimator, with its fixed settings.
#[derive(Debug, Clone, PartialEq)]
pub enum EstimatorKind {
    /// Exact gradient by enumerating every state of the block.
    Exact,
    /// Score function `f(b) ∇_φ log p(b)`, no baseline.
    Reinforce,
    /// Score function with an exponential moving average of past mean
    /// values of `f` as baseline: `c ← decay · c + (1 − decay) · f̄`.
    ReinforceEma {
        /// Weight of the old average, in `[0, 1)`.
        decay: f64,
    },
    /// Score function with the leave-one-out baseline over the
    /// estimator's `n_samples ≥ 2` samples.
    Rloo,
    /// REBAR with control-variate scale `eta` and relaxation temperature
    /// `temperature` (maths.md §4).
    Rebar {
        /// Control-variate scale `η` (any sign).
        eta: f64,
        /// Relaxation temperature `λ > 0`.
        temperature: f64,
        /// Noise of the conditional sample.
        coupling: Coupling,
    },
    /// REBAR whose `η` and `log λ` follow Adam steps on the estimator's
    /// own summed variance, `∂Var/∂(η, λ) = E[2 ĝ · ∂ĝ/∂(η, λ)]`.
    RebarAdaptive {
        /// Initial control-variate scale `η`.
        eta: f64,
        /// Initial temperature `λ`, inside the range below.
        temperature: f64,
        /// Noise of the conditional sample.
        coupling: Coupling,
        /// Smallest allowed `log λ`.
        log_lambda_min: f64,
        /// Largest allowed `log λ`.
        log_lambda_max: f64,
        /// Adam learning rate of the `(η, log λ)` updates.
        adapt_rate: f64,
    },
    /// ARM (binary only).
    Arm,
    /// DisARM (binary only).
    Disarm,
    /// Concrete / Gumbel-softmax: the gradient of the relaxed objective
    /// (biased).
    Gumbel {
        /// Relaxation temperature `λ > 0`.
        temperature: f64,
    },
    /// Straight-through: relaxed chain rule with the objective's gradient
    /// taken at the discrete sample (biased).
    StraightThrough {
        /// Relaxation temperature `λ > 0`.
        temperature: f64,
    },
}

/// The estimator names accepted in study files, in the order reports list
/// them.
pub const ESTIMATOR_NAMES: &[&str] = &[
    "exact",
    "reinforce",
    "reinforce-ema",
    "rloo",
    "rebar",
    "rebar-adaptive",
    "arm",
    "disarm",
    "gumbel",
    "straight-through",
];

/// Settings from which [`EstimatorKind::from_name_with`] builds any
/// estimator; each estimator reads only the ones that apply to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EstimatorSettings {
    /// Relaxation temperature `λ` (REBAR, Gumbel, straight-through; the
    /// adaptive estimator's starting value). Default 0.5.
    pub temperature: f64,
    /// Control-variate scale `η` (REBAR; the adaptive starting value).
    /// Default 1.
    pub eta: f64,
    /// Decay of the moving-average baseline. Default 0.9.
    pub baseline_decay: f64,
    /// REBAR's noise coupling. Default independent.
    pub coupling: Coupling,
    /// Range `[min, max]` of the adaptive `log λ`. Default
    /// `[log 0.01, log 10]`.
    pub log_lambda_range: (f64, f64),
    /// Adam learning rate of the adaptive `(η, log λ)`. Default 0.01.
    pub adapt_rate: f64,
}

impl Default for EstimatorSettings {
    fn default() -> Self {
        Self {
            temperature: 0.5,
            eta: 1.0,
            baseline_decay: 0.9,
            coupling: Coupling::Independent,
            log_lambda_range: (0.01f64.ln(), 10f64.ln()),
            adapt_rate: 0.01,
        }
    }
}

/// A study file named an estimator this crate does not have.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unknown estimator {name:?}; known estimators: {known}")]
pub struct UnknownEstimator {
    /// The name given.
    pub name: String,
    /// The known names, comma-separated.
    pub known: String,
}

/// Why an estimator could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EstimatorError {
    /// The name is not one of [`ESTIMATOR_NAMES`].
    #[error(transparent)]
    Unknown(#[from] UnknownEstimator),
    /// A setting is out of range.
    #[error("estimator {estimator}: {field} must be {rule}, got {value}")]
    InvalidSetting {
        /// The estimator's name.
        estimator: &'static str,
        /// The setting's name.
        field: &'static str,
        /// The value given.
        value: f64,
        /// What is allowed.
        rule: &'static str,
    },
    /// The estimator does not apply to this kind of variable.
    #[error(
        "estimator {estimator} supports binary variables only, got {variables}; \
         use reinforce, rloo, rebar or gumbel for categorical variables"
    )]
    Unsupported {
        /// The estimator's name.
        estimator: &'static str,
        /// The kind of variable given.
        variables: &'static str,
    },
    /// Too few samples per estimate.
    #[error("estimator {estimator}: n_samples must be at least {min}, got {n_samples}")]
    TooFewSamples {
        /// The estimator's name.
        estimator: &'static str,
        /// The number given.
        n_samples: usize,
        /// The least allowed.
        min: usize,
    },
    /// A categorical variable with fewer than two classes.
    #[error("n_classes must be at least 2, got {n_classes}")]
    TooFewClasses {
        /// The number given.
        n_classes: usize,
    },
}

impl EstimatorKind {
    /// The estimator called `name` (one of [`ESTIMATOR_NAMES`]) with the
    /// given temperature `λ` and control-variate scale `η` and the other
    /// settings at their defaults; settings that do not apply to it are
    /// ignored, and values are not range-checked (see
    /// [`EstimatorKind::from_name_with`]).
    ///
    /// # Errors
    ///
    /// [`UnknownEstimator`] when the name is not known.
    pub fn from_name(name: &str, temperature: f64, eta: f64) -> Result<Self, UnknownEstimator> {
        let settings = EstimatorSettings {
            temperature,
            eta,
            ..EstimatorSettings::default()
        };
        Self::build(name, &settings)
    }

    /// The estimator called `name` with its settings taken from `settings`,
    /// range-checked.
    ///
    /// # Errors
    ///
    /// [`EstimatorError::Unknown`] for an unknown name;
    /// [`EstimatorError::InvalidSetting`] when a setting the estimator uses
    /// is out of range (temperature not positive and finite, `η` not
    /// finite, decay outside `[0, 1)`, an empty or non-finite `log λ`
    /// range or a starting temperature outside it, adapt rate not positive).
    pub fn from_name_with(
        name: &str,
        settings: &EstimatorSettings,
    ) -> Result<Self, EstimatorError> {
        let kind = Self::build(name, settings)?;
        kind.validate()?;
        Ok(kind)
    }

    fn build(name: &str, settings: &EstimatorSettings) -> Result<Self, UnknownEstimator> {
        let EstimatorSettings {
            temperature,
            eta,
            baseline_decay,
            coupling,
            log_lambda_range,
            adapt_rate,
        } = *settings;
        Ok(match name {
            "exact" => EstimatorKind::Exact,
            "reinforce" => EstimatorKind::Reinforce,
            "reinforce-ema" => EstimatorKind::ReinforceEma {
                decay: baseline_decay,
            },
            "rloo" => EstimatorKind::Rloo,
            "rebar" => EstimatorKind::Rebar {
                eta,
                temperature,
                coupling,
            },
            "rebar-adaptive" => EstimatorKind::RebarAdaptive {
                eta,
                temperature,
                coupling,
                log_lambda_min: log_lambda_range.0,
                log_lambda_max: log_lambda_range.1,
                adapt_rate,
            },
            "arm" => EstimatorKind::Arm,
            "disarm" => EstimatorKind::Disarm,
            "gumbel" => EstimatorKind::Gumbel { temperature },
            "straight-through" => EstimatorKind::StraightThrough { temperature },
            _ => {
                return Err(UnknownEstimator {
                    name: name.to_string(),
                    known: ESTIMATOR_NAMES.join(", "),
                });
            }
        })
    }

    /// Checks every setting against its allowed range.
    ///
    /// # Errors
    ///
    /// [`EstimatorError::InvalidSetting`] naming the first bad setting.
    pub fn validate(&self) -> Result<(), EstimatorError> {
        let estimator = self.name();
        let invalid = |field, value, rule| {
            Err(EstimatorError::InvalidSetting {
                estimator,
                field,
                value,
                rule,
            })
        };
        let temperature_ok = |t: f64| t > 0.0 && t.is_finite();
        match *self {
            EstimatorKind::ReinforceEma { decay } if !(0.0..1.0).contains(&decay) => {
                invalid("baseline_decay", decay, "in [0, 1)")
            }
            EstimatorKind::Rebar { eta, .. } | EstimatorKind::RebarAdaptive { eta, .. }
                if !eta.is_finite() =>
            {
                invalid("eta", eta, "finite")
            }
            EstimatorKind::Rebar { temperature, .. }
            | EstimatorKind::RebarAdaptive { temperature, .. }
            | EstimatorKind::Gumbel { temperature }
            | EstimatorKind::StraightThrough { temperature }
                if !temperature_ok(temperature) =>
            {
                invalid("temperature", temperature, "positive and finite")
            }
            EstimatorKind::RebarAdaptive {
                temperature,
                log_lambda_min,
                log_lambda_max,
                adapt_rate,
                ..
            } => {
                if !(log_lambda_min.is_finite() && log_lambda_max.is_finite())
                    || log_lambda_min >= log_lambda_max
                {
                    invalid("log_lambda_range", log_lambda_min, "finite with min < max")
                } else if !(log_lambda_min..=log_lambda_max).contains(&temperature.ln()) {
                    invalid("temperature", temperature, "inside exp(log_lambda_range)")
                } else if !(adapt_rate > 0.0 && adapt_rate.is_finite()) {
                    invalid("adapt_rate", adapt_rate, "positive and finite")
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// The name used in study files and in the `method` column of results.
    pub fn name(&self) -> &'static str {
        match self {
            EstimatorKind::Exact => "exact",
            EstimatorKind::Reinforce => "reinforce",
            EstimatorKind::ReinforceEma { .. } => "reinforce-ema",
            EstimatorKind::Rloo => "rloo",
            EstimatorKind::Rebar { .. } => "rebar",
            EstimatorKind::RebarAdaptive { .. } => "rebar-adaptive",
            EstimatorKind::Arm => "arm",
            EstimatorKind::Disarm => "disarm",
            EstimatorKind::Gumbel { .. } => "gumbel",
            EstimatorKind::StraightThrough { .. } => "straight-through",
        }
    }

    /// Whether the relaxation temperature `λ` changes this estimator (so
    /// that a grid of temperatures multiplies its cells).
    pub fn uses_temperature(&self) -> bool {
        matches!(
            self,
            EstimatorKind::Rebar { .. }
                | EstimatorKind::RebarAdaptive { .. }
                | EstimatorKind::Gumbel { .. }
                | EstimatorKind::StraightThrough { .. }
        )
    }

    /// Whether the control-variate scale `η` applies to this estimator.
    pub fn uses_eta(&self) -> bool {
        matches!(
            self,
            EstimatorKind::Rebar { .. } | EstimatorKind::RebarAdaptive { .. }
        )
    }

    /// Whether the estimator's mean is the exact gradient (false for the
    /// relaxed Gumbel-softmax and straight-through estimators).
    pub fn is_unbiased(&self) -> bool {
        !matches!(
            self,
            EstimatorKind::Gumbel { .. } | EstimatorKind::StraightThrough { .. }
        )
    }

    /// Whether the estimator applies to `variables` (ARM and DisARM are
    /// binary only).
    pub fn supports(&self, variables: Variables) -> bool {
        match self {
            EstimatorKind::Arm | EstimatorKind::Disarm => variables == Variables::Binary,
            _ => true,
        }
    }

    /// The least number of samples per estimate (2 for RLOO, else 1).
    pub fn min_samples(&self) -> usize {
        match self {
            EstimatorKind::Rloo => 2,
            _ => 1,
        }
    }

    /// Evaluations of `f` per sample (the exact gradient's depend on the
    /// block; reported here as 0).
    pub fn evals_per_sample(&self) -> usize {
        match self {
            EstimatorKind::Exact => 0,
            EstimatorKind::Rebar { .. } | EstimatorKind::RebarAdaptive { .. } => 3,
            EstimatorKind::Arm | EstimatorKind::Disarm => 2,
            _ => 1,
        }
    }
}
