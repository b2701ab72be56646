//! What the runner needs from a study of any kind: its source, its cells
//! and how to run one, the headers of its raw tables, and the tables that
//! describe its input data. SVI studies
//! ([`SviPlan`]) and variance studies
//! ([`super::variance::VariancePlan`]) implement [`Plan`]; the staging,
//! resume, sharding and merging machinery is shared.

use std::path::Path;

use super::StudyError;
use super::config::{ConfigError, Study, StudySource, parse_study};
use super::fits::{FITS_HEADER, HISTOGRAMS_HEADER, histogram_rows};
use super::grid::{Cell, Method, cell_key, expand};
use super::runner::{CellError, CellRows, RESULTS_HEADER, TIMINGS_HEADER, run_cell};
use super::variance::{VariancePlan, parse_variance_study};

/// A study the runner can execute.
pub trait Plan: Sync {
    /// Where the study came from.
    fn source(&self) -> &StudySource;
    /// The study kind (`svi` or `variance`).
    fn kind(&self) -> &'static str;
    /// Per-point distance to EM that counts as reached (0, the default,
    /// for kinds that have no EM to reach).
    fn epsilon(&self) -> f64 {
        0.0
    }
    /// Cells in the whole grid.
    fn n_cells(&self) -> usize;
    /// The text that identifies cell `index` (its key and seed); shards
    /// are assigned by its hash.
    fn cell_label(&self, index: usize) -> String;
    /// Runs cell `index`.
    ///
    /// # Errors
    ///
    /// [`CellError`] naming the cell.
    fn run_cell(&self, index: usize) -> Result<CellRows, CellError>;
    /// One line on the work the grid holds, for `study list`.
    fn work_summary(&self) -> String;

    /// The study's name: the stem of its file.
    fn name(&self) -> String {
        self.source()
            .path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| "study".to_string())
    }

    /// The headers of `results.csv` and `timings.csv`.
    fn headers(&self) -> (&'static str, &'static str) {
        headers_of(self.kind())
    }

    /// The header of `fits.csv` when the kind records fitted models.
    fn fits_header(&self) -> Option<&'static str> {
        fits_header_of(self.kind())
    }

    /// Tables describing the input data, written once per run beside the
    /// results: `(file name, text with header)`.
    fn data_tables(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// The header of `fits.csv` for a study kind that has one (`svi`).
pub fn fits_header_of(kind: &str) -> Option<&'static str> {
    (kind == "svi").then_some(FITS_HEADER)
}

/// The headers of `results.csv` and `timings.csv` for a study kind.
pub fn headers_of(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "toy" => (super::toy::RESULTS_HEADER, super::toy::TIMINGS_HEADER),
        "variance" => (
            super::variance::RESULTS_HEADER,
            super::variance::TIMINGS_HEADER,
        ),
        _ => (RESULTS_HEADER, TIMINGS_HEADER),
    }
}

/// An SVI study with its cells expanded.
#[derive(Debug, Clone)]
pub struct SviPlan {
    /// The validated study.
    pub study: Study,
    /// Its cells in grid order.
    pub cells: Vec<Cell>,
}

impl SviPlan {
    /// The plan of `study`.
    pub fn new(study: Study) -> Self {
        let cells = expand(&study);
        Self { study, cells }
    }
}

impl Plan for SviPlan {
    fn source(&self) -> &StudySource {
        &self.study.source
    }

    fn kind(&self) -> &'static str {
        "svi"
    }

    fn epsilon(&self) -> f64 {
        self.study.epsilon
    }

    fn n_cells(&self) -> usize {
        self.cells.len()
    }

    fn cell_label(&self, index: usize) -> String {
        let cell = &self.cells[index];
        format!("{}/seed={}", cell_key(&self.study, cell), cell.seed)
    }

    fn run_cell(&self, index: usize) -> Result<CellRows, CellError> {
        run_cell(&self.study, &self.cells[index])
    }

    fn data_tables(&self) -> Vec<(&'static str, String)> {
        let mut text = format!("{HISTOGRAMS_HEADER}\n");
        for dataset in &self.study.datasets {
            let mut columns = dataset.data.columns.clone();
            if dataset.standardised {
                columns
                    .iter_mut()
                    .for_each(|c| c.push_str(" (standardised)"));
            }
            let points = dataset.data.points.view();
            text.push_str(&histogram_rows(&dataset.name, &columns, points));
        }
        vec![("histograms.csv", text)]
    }

    fn work_summary(&self) -> String {
        let mut n_svi = 0usize;
        let mut estimates = 0.0_f64;
        for cell in self.cells.iter().filter(|c| c.method != Method::Em) {
            n_svi += 1;
            let n_points = self.study.datasets[cell.dataset].data.points.nrows() as f64;
            estimates += self.study.n_steps as f64 * n_points * self.study.n_samples as f64;
        }
        format!(
            "{} EM runs (at most {} iterations each), {n_svi} SVI runs of {} steps \
             ({estimates:.3e} per-point gradient estimates)",
            self.cells.len() - n_svi,
            self.study.em.max_iter,
            self.study.n_steps
        )
    }
}

/// Reads a study file of any kind and validates it.
///
/// # Errors
///
/// [`ConfigError`] naming the field, the value and the rule.
pub fn load_plan(path: &Path) -> Result<Box<dyn Plan>, StudyError> {
    let text = std::fs::read_to_string(path).map_err(|err| ConfigError::Io {
        path: path.to_path_buf(),
        reason: err.to_string(),
    })?;
    let kind = match toml::from_str::<toml::Table>(&text) {
        Ok(table) => table
            .get("kind")
            .and_then(|k| k.as_str().map(str::to_string)),
        Err(_) => None,
    };
    let plan: Box<dyn Plan> = if kind.as_deref() == Some("toy") {
        Box::new(super::toy::ToyPlan::new(super::toy::parse_toy_study(
            path, &text,
        )?))
    } else if kind.as_deref() == Some("variance") {
        Box::new(VariancePlan::new(parse_variance_study(path, &text)?))
    } else {
        Box::new(SviPlan::new(parse_study(path, &text)?))
    };
    Ok(plan)
}
