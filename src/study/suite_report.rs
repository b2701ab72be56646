//! The top-level report of a suite, built only from the parts' tables
//! (`summary.csv`, `comparisons.csv`, `timings.csv`, `timing_summary.csv`,
//! `manifest.json`):
//! every number in `OUT/report.md` is read from them, so
//! `study report OUT` rebuilds the same text without running anything.
//!
//! Rules the findings follow (all on the parts' 95 % intervals and
//! Holm-adjusted Welch p-values at level 0.05):
//!
//! ```text
//! SVI variant shown       the learning rate with the highest mean final log-likelihood
//! toy variant shown       the rate marked best_rate (lowest mean final loss)
//! "REBAR wins"            SVI: a REBAR-vs-REINFORCE comparison with p_holm < 0.05 in
//!                         REBAR's favour; toy: REBAR's final-loss interval entirely
//!                         below REINFORCE's; variance: ratio interval below 1
//! original claim          in the part named `original`, fixed-η REBAR (each
//!                         temperature) against plain REINFORCE and against
//!                         REINFORCE with a moving-average baseline at each rate:
//!                         "holds" when REBAR is significantly better (p_holm < 0.05)
//!                         in every such comparison, "holds only in part" when in
//!                         some, "does not hold" when in none
//! ```

use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

use super::StudyError;
use super::store::{io_context, remove_dir_if_exists, write_atomic};
use super::suite::{SuiteRecord, read_record};
use super::tables::{Comparison, SummaryRow, read_table};

use super::suite_findings as findings;
use super::suite_sections::{self as sections, Ctx, PartTables};

/// Holm-adjusted level of the report's tests.
pub const LEVEL: f64 = 0.05;

/// One row of a toy part's `summary.csv` (the columns the report uses).
#[derive(Debug, Clone, Deserialize)]
pub struct ToySummaryRow {
    /// Problem name.
    pub problem: String,
    /// Estimator.
    pub method: String,
    /// Temperature.
    pub temperature: Option<f64>,
    /// Learning rate.
    pub learning_rate: f64,
    /// Seeds.
    pub n_seeds: usize,
    /// Steps.
    pub n_steps: usize,
    /// Mean final loss.
    pub final_loss_mean: f64,
    /// Its interval.
    pub final_loss_ci_low: Option<f64>,
    /// Its interval.
    pub final_loss_ci_high: Option<f64>,
    /// Mean log10 variance at step 0.
    pub log10_variance_start_mean: Option<f64>,
    /// Mean log10 variance at the last step.
    pub log10_variance_final_mean: Option<f64>,
    /// Evaluations of f per step.
    pub evals_per_step: f64,
    /// Whether this is the best rate of its variant.
    pub best_rate: bool,
}

/// One row of a variance part's `summary.csv` (the columns used).
#[derive(Debug, Clone, Deserialize)]
pub struct VarianceSummaryRow {
    /// Problem name.
    pub problem: String,
    /// Estimator.
    pub method: String,
    /// Temperature.
    pub temperature: Option<f64>,
    /// Seeds.
    pub n_seeds: usize,
    /// Mean log10 summed variance.
    pub log10_variance_mean: f64,
    /// Paired log10 ratio to REINFORCE, interval ends.
    pub log10_ratio_to_reinforce_ci_low: Option<f64>,
    /// See above.
    pub log10_ratio_to_reinforce_ci_high: Option<f64>,
    /// `10^mean log10 ratio`.
    pub variance_ratio_to_reinforce: Option<f64>,
    /// Seeds whose mean misses the exact gradient beyond the Bonferroni
    /// bound (0 in folders written before this column existed).
    #[serde(default)]
    pub n_seeds_biased: usize,
}

/// One row of an SVI part's `timings.csv`.
#[derive(Debug, Clone, Deserialize)]
pub struct TimingRow {
    /// Cell index.
    pub cell: usize,
    /// Data set.
    pub dataset: String,
    /// Method.
    pub method: String,
    /// Components.
    pub n_components: usize,
    /// Step or EM iteration.
    pub step: usize,
    /// Seconds since the cell started.
    pub wall_seconds: f64,
}

/// Rebuilds `dir/report.md` and `dir/figures/` of a suite's output folder
/// from its parts' tables.
///
/// # Errors
///
/// [`StudyError`] when `dir/suite.json` or a part's table cannot be read,
/// or a file cannot be written.
pub fn build_suite_report(dir: &Path) -> Result<(), StudyError> {
    let record = read_record(dir).ok_or_else(|| {
        StudyError::Manifest(format!("{} has no readable suite.json", dir.display()))
    })?;
    let mut parts = Vec::new();
    for part in &record.parts {
        parts.push(PartTables::read(&dir.join(&part.name), part)?);
    }
    let figures = copy_figures(dir, &parts)?;
    let text = render(&record, &parts, &figures);
    write_atomic(&dir.join("report.md"), text.as_bytes())?;
    Ok(())
}

/// Copies each part's figures into `dir/figures/` as `<part>-<file>`;
/// returns the copied names in part order.
fn copy_figures(dir: &Path, parts: &[PartTables]) -> Result<Vec<String>, StudyError> {
    let target = dir.join("figures");
    remove_dir_if_exists(&target)?;
    io_context(std::fs::create_dir_all(&target), "cannot create", &target)?;
    let mut copied = Vec::new();
    for part in parts {
        let source = dir.join(&part.name).join("figures");
        let Ok(entries) = std::fs::read_dir(&source) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".svg") && sections::key_figure(&part.kind, n))
            .collect();
        names.sort();
        for name in names {
            let copy = format!("{}-{name}", part.name);
            let bytes = io_context(std::fs::read(source.join(&name)), "cannot read", &source)?;
            write_atomic(&target.join(&copy), &bytes)?;
            copied.push(copy);
        }
    }
    Ok(copied)
}

fn render(record: &SuiteRecord, parts: &[PartTables], figures: &[String]) -> String {
    let ctx = Ctx {
        parts,
        figures,
        threats: &record.threats,
    };
    let stem = Path::new(&record.study_file)
        .file_stem()
        .map_or_else(|| "suite".to_string(), |s| s.to_string_lossy().into_owned());
    let mut out = format!(
        "# The {stem} study: when does REBAR beat REINFORCE, and does anything beat EM?\n\n"
    );
    if let Some(description) = &record.description {
        let _ = writeln!(out, "{description}\n");
    }
    sections::header(&mut out, &ctx);
    for part in parts {
        sections::part(&mut out, &ctx, part);
    }
    findings::rebar_wins(&mut out, &ctx);
    findings::gap_to_em(&mut out, &ctx);
    findings::cost(&mut out, &ctx);
    findings::threats(&mut out, &ctx);
    findings::original_claim(&mut out, &ctx);
    out
}

/// Reads a table that may be absent (an empty list then).
pub(crate) fn optional_table<T: for<'de> Deserialize<'de>>(
    path: &Path,
) -> Result<Vec<T>, StudyError> {
    if path.exists() {
        read_table(path).map_err(StudyError::Table)
    } else {
        Ok(Vec::new())
    }
}

/// The SVI tables of a part.
#[derive(Debug, Clone, Default)]
pub struct SviTables {
    /// `summary.csv`.
    pub summary: Vec<SummaryRow>,
    /// `comparisons.csv`.
    pub comparisons: Vec<Comparison>,
    /// `timings.csv`.
    pub timings: Vec<TimingRow>,
    /// `timing_summary.csv`.
    pub timing_summary: Vec<super::report::TimingSummaryRow>,
}
