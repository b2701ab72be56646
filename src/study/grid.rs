//! The grid of a study: its cells, their fixed order, their stable keys and
//! their assignment to shards.
//!
//! Grid order (results files list cells in this order):
//!
//! ```text
//! for each data set (file order)
//!   for each K (file order)
//!     EM:         for each seed
//!     for each estimator (file order)
//!       for each temperature (only if the estimator uses one)
//!         for each learning rate
//!           for each seed
//! ```
//!
//! Seeds are innermost, so the runs of one grid point sit together. A
//! cell's key spells its coordinates (not its position), so adding a value
//! to one axis leaves every other cell's random stream unchanged:
//!
//! ```text
//! em/data=eruptions/k=2
//! svi/data=eruptions/k=2/est=rebar/lambda=0.1/lr=0.03/eta=1/n=1
//! init/data=eruptions/k=2        (the initial model shared by EM and SVI)
//! ```
//!
//! The seed is not part of the key: it enters the stream as the replicate
//! seed of [`crate::rng::cell_stream`].

use crate::estimator::EstimatorKind;
use crate::rng::fnv1a64;

use super::config::Study;

/// What a cell runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// EM from the shared initial model.
    Em,
    /// SVI with the estimator at index `estimator` of the study.
    Svi {
        /// Index into the study's estimators.
        estimator: usize,
        /// Index into the study's temperatures, when the estimator uses one.
        temperature: Option<usize>,
        /// Index into the study's learning rates.
        learning_rate: usize,
    },
}

/// One cell of the grid: one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// Position in grid order (0-based).
    pub index: usize,
    /// Index into the study's data sets.
    pub dataset: usize,
    /// Number of mixture components `K`.
    pub n_components: usize,
    /// Replicate seed.
    pub seed: u64,
    /// What runs.
    pub method: Method,
}

/// A shard of a grid: shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, from 1 to `count`.
    pub index: usize,
    /// How many shards.
    pub count: usize,
}

impl Shard {
    /// The whole grid as one shard.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Whether this shard runs `cell` (a stable assignment by key):
    ///
    /// ```text
    /// shard(cell) = FNV-1a-64(key + "/seed=" + seed) mod count + 1
    /// ```
    pub fn owns(&self, study: &Study, cell: &Cell) -> bool {
        self.owns_label(&format!("{}/seed={}", cell_key(study, cell), cell.seed))
    }

    /// Whether this shard runs the cell labelled `label` (its key, `/seed=`
    /// and its seed): `FNV-1a-64(label) mod count + 1 == index`.
    pub fn owns_label(&self, label: &str) -> bool {
        self.count <= 1
            || (fnv1a64(label.as_bytes()) % self.count as u64) as usize + 1 == self.index
    }

    /// Text such as `2/8`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.index, self.count)
    }
}

/// Expands a study into its cells, in grid order (see the module docs).
pub fn expand(study: &Study) -> Vec<Cell> {
    let mut cells = Vec::new();
    let mut push = |dataset, n_components, seed, method| {
        let index = cells.len();
        cells.push(Cell {
            index,
            dataset,
            n_components,
            seed,
            method,
        });
    };
    for dataset in 0..study.datasets.len() {
        for &n_components in &study.n_components {
            for &seed in &study.seeds {
                push(dataset, n_components, seed, Method::Em);
            }
            for (estimator, temperature) in estimator_variants(study) {
                for learning_rate in 0..study.learning_rates.len() {
                    for &seed in &study.seeds {
                        let method = Method::Svi {
                            estimator,
                            temperature,
                            learning_rate,
                        };
                        push(dataset, n_components, seed, method);
                    }
                }
            }
        }
    }
    cells
}

/// The (estimator, temperature) pairs of a study in grid order; an
/// estimator without a temperature appears once with `None`.
pub fn estimator_variants(study: &Study) -> Vec<(usize, Option<usize>)> {
    let mut variants = Vec::new();
    for (estimator, name) in study.estimators.iter().enumerate() {
        if uses_temperature(name) {
            variants.extend((0..study.temperatures.len()).map(|t| (estimator, Some(t))));
        } else {
            variants.push((estimator, None));
        }
    }
    variants
}

/// Whether the estimator called `name` uses a temperature.
pub fn uses_temperature(name: &str) -> bool {
    EstimatorKind::from_name(name, 1.0, 1.0).is_ok_and(|kind| kind.uses_temperature())
}

/// Whether the estimator called `name` uses `η`.
pub fn uses_eta(name: &str) -> bool {
    EstimatorKind::from_name(name, 1.0, 1.0).is_ok_and(|kind| kind.uses_eta())
}

/// The stable text key of a cell (see the module docs).
pub fn cell_key(study: &Study, cell: &Cell) -> String {
    let data = &study.datasets[cell.dataset].name;
    let k = cell.n_components;
    match cell.method {
        Method::Em => format!("em/data={data}/k={k}"),
        Method::Svi {
            estimator,
            temperature,
            learning_rate,
        } => {
            let name = &study.estimators[estimator];
            let mut key = format!("svi/data={data}/k={k}/est={name}");
            if let Some(t) = temperature {
                key.push_str(&format!("/lambda={}", study.temperatures[t]));
            }
            key.push_str(&format!("/lr={}", study.learning_rates[learning_rate]));
            if uses_eta(name) {
                key.push_str(&format!("/eta={}", study.eta));
            }
            key.push_str(&format!("/n={}", study.n_samples));
            key
        }
    }
}

/// The key of the stream that draws the initial model of (data set, K),
/// shared by the EM and SVI cells of every seed.
pub fn init_key(study: &Study, cell: &Cell) -> String {
    format!(
        "init/data={}/k={}",
        study.datasets[cell.dataset].name, cell.n_components
    )
}
