//! Mixture ELBO problems of variance studies (`kind = "mixture"`): the
//! per-point ELBO of a diagonal Gaussian mixture at fixed model and
//! variational parameters, one block of discrete variables per data point.
//!
//! ```toml
//! [[problems]]
//! kind = "mixture"
//! name = "faithful-k2-init"     # optional
//! file = "../data/faithful.csv" # relative to the study file
//! columns = ["eruptions"]
//! n_components = 2              # K = 2: one bit per point, else K classes
//! at = "init"                   # or "em"
//! uniform_mix = 0.3             # optional, only with at = "em"; default 0.3
//! ```
//!
//! The model and the logits, from the problem's seed:
//!
//! ```text
//! init:  model = the shared initial mixture of SVI and EM, φ_n = 0
//! em:    model = EM's fit from that start, r_n = EM's responsibilities,
//!        q_n   = (1 − ε) r_n + ε / K          (ε = uniform_mix)
//!        φ_n   = log q_n  (the logit log q_n1 − log q_n0 when K = 2)
//! ```
//!
//! At EM's optimum with `ε = 0`, `q` is the exact posterior: every
//! `φ`-gradient of the ELBO is 0, and most points have a class of
//! probability below 1e-10 that no finite run samples, so bias z-scores
//! are undefined there. Mixing in the uniform keeps every class at
//! probability at least `ε / K` and moves `q` off the optimum, so the
//! gradient is not 0 and the bias check has power on every coordinate.
//!
//! One estimate is the whole `φ`-gradient: every point's block is
//! estimated once with one estimator (shared across points, as in SVI), so
//! `f`-evaluations and nanoseconds per estimate count all `N` points. The
//! exact gradient is the per-point enumeration of
//! [`crate::gmm::point_elbo_grad_phi`]; the estimators see
//! `f(c) = log p(x_n, c)`; the analytic entropy gradient is added to each
//! estimate, so the spread is the estimator's alone.

use std::path::Path;

use ndarray::Array2;
use rand::Rng;

use crate::estimator::{Estimator, EstimatorError, EstimatorKind, Variables};
use crate::gmm::{
    EmSettings, GmmError, PointObjective, fit_em, initial_mixture, logits_per_point,
    point_elbo_grad_phi,
};
use crate::math::logsumexp;
use crate::rng::stream_from_seed;
use crate::variance::{Draws, EstimatorStats, draw_checked};

/// Where a mixture problem fixes its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MixtureAt {
    /// The shared initial model, `φ = 0`.
    Init,
    /// EM's fit, `φ` = EM's log responsibilities mixed with the uniform.
    Em,
}

impl MixtureAt {
    /// The name used in study files: `init` or `em`.
    pub fn name(&self) -> &'static str {
        match self {
            MixtureAt::Init => "init",
            MixtureAt::Em => "em",
        }
    }
}

/// A mixture ELBO problem as declared in a study file.
#[derive(Debug, Clone, PartialEq)]
pub struct MixtureSpec {
    /// Short name of the data (the file stem and columns).
    pub data_name: String,
    /// The points, `N × D`.
    pub points: Array2<f64>,
    /// Components `K` (at least 2).
    pub n_components: usize,
    /// Where the parameters are fixed.
    pub at: MixtureAt,
    /// Weight `ε` of the uniform mixed into EM's responsibilities.
    pub uniform_mix: f64,
}

/// A mixture problem with its model and logits fixed.
#[derive(Debug, Clone, PartialEq)]
pub struct MixtureProblem {
    /// Binary for `K = 2`, categorical otherwise.
    pub variables: Variables,
    /// `log p(x_n, c_n = k)`, `N × K` row-major.
    pub log_joint: Vec<f64>,
    /// The logits, `N × P` row-major (`P` = 1 for binary, `K` otherwise).
    pub phi: Vec<f64>,
    /// The exact `φ`-gradient of `Σ_n ELBO_n` at `phi`, same layout.
    pub exact_gradient: Vec<f64>,
}

impl MixtureSpec {
    /// The variables of each point's block.
    pub fn variables(&self) -> Variables {
        if self.n_components == 2 {
            Variables::Binary
        } else {
            Variables::Categorical {
                n_classes: self.n_components,
            }
        }
    }

    /// The default problem name, e.g. `mixture-faithful-eruptions-k2-init`.
    pub fn default_name(&self) -> String {
        format!(
            "mixture-{}-k{}-{}",
            self.data_name,
            self.n_components,
            self.at.name()
        )
    }

    /// Fixes the model and logits from `seed` (see the module docs).
    ///
    /// # Errors
    ///
    /// [`GmmError`] when the initial model or EM cannot be computed on the
    /// data (too few distinct points, a constant column, ...).
    pub fn build(&self, seed: u64) -> Result<MixtureProblem, GmmError> {
        let mut rng = stream_from_seed(seed);
        let init = initial_mixture(&self.points, self.n_components, &mut rng)?;
        let mixture = match self.at {
            MixtureAt::Init => init,
            MixtureAt::Em => fit_em(&self.points, &init, &EmSettings::default())?.mixture,
        };
        let n_points = self.points.nrows();
        let k = self.n_components;
        let mut log_joint = vec![0.0; n_points * k];
        mixture.log_joint_into(self.points.view(), &mut log_joint);
        let variables = self.variables();
        let width = logits_per_point(variables);
        let mut phi = vec![0.0; n_points * width];
        if self.at == MixtureAt::Em {
            for (row, logits) in log_joint.chunks(k).zip(phi.chunks_mut(width)) {
                em_logits(row, variables, self.uniform_mix, logits);
            }
        }
        let mut exact_gradient = vec![0.0; phi.len()];
        for ((row, logits), grad) in log_joint
            .chunks(k)
            .zip(phi.chunks(width))
            .zip(exact_gradient.chunks_mut(width))
        {
            point_elbo_grad_phi(row, logits, variables, grad);
        }
        Ok(MixtureProblem {
            variables,
            log_joint,
            phi,
            exact_gradient,
        })
    }
}

/// EM's responsibilities of one point, mixed with the uniform, as logits.
///
/// ```text
/// log r_k = L_k − logsumexp(L),   q_k = (1 − ε) r_k + ε / K
/// categorical:  φ_k = log q_k
/// binary:       φ   = log q_1 − log q_0
/// ```
fn em_logits(log_joint: &[f64], variables: Variables, uniform_mix: f64, logits: &mut [f64]) {
    let lse = logsumexp(log_joint);
    let floor = uniform_mix / log_joint.len() as f64;
    let log_q = |l: f64| ((1.0 - uniform_mix) * (l - lse).exp() + floor).ln();
    match variables {
        Variables::Binary => logits[0] = log_q(log_joint[1]) - log_q(log_joint[0]),
        Variables::Categorical { .. } => {
            for (logit, &l) in logits.iter_mut().zip(log_joint) {
                *logit = log_q(l);
            }
        }
    }
}

impl MixtureProblem {
    /// Draws estimates of the whole `φ`-gradient with the estimator `kind`
    /// (`n_samples` samples per point) as `draws` says
    /// ([`draw_checked`]) and summarises them against the exact gradient;
    /// evaluations count all points.
    ///
    /// # Errors
    ///
    /// [`EstimatorError`] when the estimator cannot be built for the
    /// problem's variables.
    pub fn measure<R: Rng + ?Sized>(
        &self,
        kind: &EstimatorKind,
        n_samples: usize,
        draws: Draws<'_>,
        rng: &mut R,
    ) -> Result<EstimatorStats, EstimatorError> {
        let mut estimator = Estimator::try_new(kind.clone(), self.variables, n_samples)?;
        let width = logits_per_point(self.variables);
        let k = self.log_joint.len() / (self.phi.len() / width).max(1);
        // The entropy term is analytic: the same exact gradient goes into
        // every estimate, so the variance is the estimator's alone.
        let mut entropy = vec![0.0; self.phi.len()];
        for (logits, grad) in self.phi.chunks(width).zip(entropy.chunks_mut(width)) {
            crate::gmm::add_entropy_grad(logits, self.variables, grad);
        }
        let draw_one = |estimate: &mut [f64]| {
            let mut n_evals = 0;
            for ((row, logits), (grad, entropy)) in self
                .log_joint
                .chunks(k)
                .zip(self.phi.chunks(width))
                .zip(estimate.chunks_mut(width).zip(entropy.chunks(width)))
            {
                let objective = PointObjective::new(row, self.variables);
                n_evals += estimator.estimate(logits, &objective, rng, grad).n_evals;
                for (g, e) in grad.iter_mut().zip(entropy) {
                    *g += e;
                }
            }
            n_evals
        };
        Ok(draw_checked(
            kind.name(),
            &self.exact_gradient,
            draws,
            draw_one,
        ))
    }
}

/// Reads a mixture problem's data and checks its settings; `Err` holds
/// `(field, value, rule)` for the caller's error.
pub(super) fn parse_mixture(
    study_path: &Path,
    file: Option<&str>,
    columns: Option<&[String]>,
    n_components: Option<usize>,
    at: Option<&str>,
    uniform_mix: Option<f64>,
) -> Result<MixtureSpec, (&'static str, String, String)> {
    let Some(file) = file else {
        return Err(("file", "None".into(), "must name a CSV data file".into()));
    };
    let columns = match columns {
        Some(c) if !c.is_empty() => c.to_vec(),
        _ => {
            let rule = "must list at least one numeric column".to_string();
            return Err(("columns", format!("{columns:?}"), rule));
        }
    };
    let n_components = match n_components {
        Some(k) if k >= 2 => k,
        other => {
            return Err((
                "n_components",
                format!("{other:?}"),
                "must be at least 2".into(),
            ));
        }
    };
    let at = match at {
        Some("init") => MixtureAt::Init,
        Some("em") => MixtureAt::Em,
        other => {
            return Err((
                "at",
                format!("{other:?}"),
                "must be \"init\" or \"em\"".into(),
            ));
        }
    };
    let uniform_mix = uniform_mix.unwrap_or(0.3);
    if !(0.0..=1.0).contains(&uniform_mix) {
        let rule = "must be a number from 0 to 1".to_string();
        return Err(("uniform_mix", uniform_mix.to_string(), rule));
    }
    let base = study_path.parent().unwrap_or(Path::new("."));
    let data_path = base.join(file);
    let data = crate::data::read_columns(&data_path, &columns).map_err(|err| {
        (
            "file",
            format!("{file:?}"),
            format!("must be readable: {err}"),
        )
    })?;
    let n_points = data.points.nrows();
    if n_points < n_components {
        let rule = format!("must be at most the data's {n_points} points");
        return Err(("n_components", n_components.to_string(), rule));
    }
    let stem = Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into());
    Ok(MixtureSpec {
        data_name: format!("{stem}-{}", columns.join("-")),
        points: data.points,
        n_components,
        at,
        uniform_mix,
    })
}
