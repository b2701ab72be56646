//! From the two raw tables of a folder to everything derived from them:
//! `summary.csv`, `comparisons.csv`, `timing_summary.csv`, `figures/*.svg`
//! (the density figures also from `fits.csv` and `histograms.csv`) and
//! `report.md`. Used after a run, after a merge, and by `study report`.

use std::path::Path;

use super::StudyError;
use super::densities::{draw_densities, read_density_tables};
use super::figures::draw_all;
use super::report::{ReportInputs, TimingSummaryRow, render};
use super::store::{remove_dir_if_exists, write_atomic};
use super::summary::summarise;
use super::tables::{
    Comparison, SummaryRow, comparisons, read_table, write_comparisons, write_summary,
    write_timing_summary,
};

/// Rebuilds every derived file of `dir`, a folder of a study of `kind`
/// (`svi` or `variance`), from its `results.csv` and `timings.csv`.
///
/// # Errors
///
/// [`StudyError`] naming the file that could not be read or written.
pub fn build_for_kind(
    kind: &str,
    dir: &Path,
    name: &str,
    epsilon: f64,
    n_cells: usize,
) -> Result<(), StudyError> {
    match kind {
        "variance" => super::variance::build_outputs(dir, name, n_cells),
        "toy" => super::toy_analysis::build_outputs(dir, name, n_cells),
        _ => build_outputs(dir, name, epsilon, n_cells),
    }
}

/// Rebuilds every derived file of an SVI study's folder `dir` from its
/// `results.csv` and `timings.csv`.
///
/// # Errors
///
/// [`StudyError`] naming the file that could not be read or written.
pub fn build_outputs(
    dir: &Path,
    name: &str,
    epsilon: f64,
    n_cells: usize,
) -> Result<(), StudyError> {
    let summaries = summarise(dir, epsilon)?;
    write_summary(&dir.join("summary.csv"), &summaries)?;
    write_comparisons(&dir.join("comparisons.csv"), &comparisons(&summaries))?;
    write_timing_summary(&dir.join("timing_summary.csv"), &summaries)?;
    // Read everything the figures need before the old figures go.
    let density_tables = read_density_tables(dir)?;
    let figures_dir = dir.join("figures");
    remove_dir_if_exists(&figures_dir)?;
    let mut figures = draw_all(&figures_dir, &summaries)?;
    drop(summaries);
    figures.extend(draw_densities(&density_tables, &figures_dir)?);
    let summary: Vec<SummaryRow> =
        read_table(&dir.join("summary.csv")).map_err(StudyError::Table)?;
    let compared: Vec<Comparison> =
        read_table(&dir.join("comparisons.csv")).map_err(StudyError::Table)?;
    let timings: Vec<TimingSummaryRow> =
        read_table(&dir.join("timing_summary.csv")).map_err(StudyError::Table)?;
    let report = render(&ReportInputs {
        name,
        epsilon,
        n_cells,
        summary: &summary,
        comparisons: &compared,
        timings: &timings,
        figures: &figures,
        standardised: &density_tables.standardised_datasets(),
    });
    write_atomic(&dir.join("report.md"), report.as_bytes())?;
    Ok(())
}
