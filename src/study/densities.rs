//! The fitted-density figures, `density-D-kK.svg`: for each (data set,
//! `K`), the histogram of the data (density scale) with the fitted mixture
//! density of the best run of each method drawn over it, one panel per
//! data column (at most [`MAX_PANELS`]), each panel the exact marginal
//!
//! ```text
//! p(x_d) = Σ_k π_k N(x_d; μ_kd, σ_kd²)
//! ```
//!
//! The best run of a method is its cell with the highest final
//! log-likelihood per point over seeds, learning rates and temperatures
//! (the first such cell in grid order). Built from `fits.csv` and
//! `histograms.csv` ([`super::fits`]); a folder without both (another
//! study kind, or one written before these tables existed) gets none, and
//! a folder with only one of them is an error.

use std::path::Path;

use super::StudyError;
use super::figures::Figure;
use super::fits::{FitRow, HistogramRow};
use super::format::fmt_f64;
use super::plots::{LineChart, Series, draw_grid};
use super::report::distinct;
use super::tables::read_table;

/// Panels drawn per figure (data sets with more columns show the first).
pub const MAX_PANELS: usize = 4;

/// Points along x on each density curve.
const CURVE_POINTS: usize = 300;

/// The histogram's fill colour (grey, outside the palette's hues).
const HISTOGRAM_GREY: (u8, u8, u8) = (160, 160, 160);

/// One cell's fitted model: its rows of `fits.csv`.
struct CellFit<'a> {
    rows: Vec<&'a FitRow>,
}

impl CellFit<'_> {
    fn first(&self) -> &FitRow {
        self.rows[0]
    }

    /// `Σ_k π_k N(x; μ_kd, σ_kd²)` for dimension `dim`.
    fn marginal_density(&self, dim: usize, x: f64) -> f64 {
        self.rows
            .iter()
            .filter(|r| r.dim == dim)
            .map(|r| {
                let z = (x - r.mean) / r.sd;
                r.weight * (-0.5 * z * z).exp() / (r.sd * (2.0 * std::f64::consts::PI).sqrt())
            })
            .sum()
    }

    fn label(&self) -> String {
        let first = self.first();
        let mut label = if first.method == "em" {
            "EM".to_string()
        } else {
            first.method.clone()
        };
        if let Some(t) = first.temperature {
            label.push_str(&format!(" λ={}", fmt_f64(t)));
        }
        if let Some(lr) = first.learning_rate {
            label.push_str(&format!(" lr={lr}"));
        }
        format!(
            "{label}, seed {}: {:.4} per point",
            first.seed, first.log_lik_per_point
        )
    }
}

/// The two tables the density figures are drawn from.
#[derive(Debug, Clone, Default)]
pub struct DensityTables {
    fits: Vec<FitRow>,
    histograms: Vec<HistogramRow>,
}

impl DensityTables {
    /// The data sets whose columns were standardised (their histogram
    /// columns carry the ` (standardised)` suffix), in table order.
    pub fn standardised_datasets(&self) -> Vec<String> {
        let marked = self
            .histograms
            .iter()
            .filter(|row| row.column.ends_with("(standardised)"));
        distinct(marked.map(|row| row.dataset.clone()))
    }
}

/// Reads `fits.csv` and `histograms.csv` of the folder `dir`; empty tables
/// when neither exists (a folder written before they existed).
///
/// # Errors
///
/// [`StudyError::Table`] when one exists without the other or either is
/// unreadable, so that nothing is deleted before the error is known.
pub fn read_density_tables(dir: &Path) -> Result<DensityTables, StudyError> {
    let (fits_path, histograms_path) = (dir.join("fits.csv"), dir.join("histograms.csv"));
    match (fits_path.exists(), histograms_path.exists()) {
        (false, false) => return Ok(DensityTables::default()),
        (true, true) => {}
        (has_fits, _) => {
            let (present, missing) = if has_fits {
                (&fits_path, &histograms_path)
            } else {
                (&histograms_path, &fits_path)
            };
            return Err(StudyError::Table(format!(
                "{} is missing beside {}; the density figures need both (rerun the study, \
                 or copy the file back)",
                missing.display(),
                present.display()
            )));
        }
    }
    Ok(DensityTables {
        fits: read_table(&fits_path).map_err(StudyError::Table)?,
        histograms: read_table(&histograms_path).map_err(StudyError::Table)?,
    })
}

/// Draws every density figure of `tables` into `figures_dir`.
///
/// # Errors
///
/// [`StudyError`] when a figure cannot be drawn.
pub fn draw_densities(
    tables: &DensityTables,
    figures_dir: &Path,
) -> Result<Vec<Figure>, StudyError> {
    let (fits, histograms) = (&tables.fits, &tables.histograms);
    let cells = group_cells(fits);
    let mut figures = Vec::new();
    let panels = distinct(
        cells
            .iter()
            .map(|cell| (cell.first().dataset.clone(), cell.first().n_components)),
    );
    for (dataset, k) in panels {
        let best = best_per_method(&cells, &dataset, k);
        let charts: Vec<LineChart> = (0..MAX_PANELS)
            .filter_map(|dim| density_chart(histograms, &best, &dataset, k, dim))
            .collect();
        if charts.is_empty() {
            continue;
        }
        let file = format!("density-{dataset}-k{k}.svg");
        draw_grid(&charts, 2, &figures_dir.join(&file))?;
        let n_dims = histograms
            .iter()
            .filter(|h| h.dataset == dataset)
            .map(|h| h.dim + 1)
            .max()
            .unwrap_or(0);
        let shown = if n_dims > MAX_PANELS {
            format!(" (the first {MAX_PANELS} of its {n_dims} columns)")
        } else {
            String::new()
        };
        figures.push(Figure {
            file,
            caption: format!(
                "{dataset}, K = {k}: fitted densities of each method's best run over the \
                 data's histogram{shown}"
            ),
        });
    }
    Ok(figures)
}

/// The rows of each cell, in file (grid) order.
fn group_cells(fits: &[FitRow]) -> Vec<CellFit<'_>> {
    let mut cells: Vec<CellFit<'_>> = Vec::new();
    for row in fits {
        match cells.last_mut() {
            Some(cell) if cell.first().cell == row.cell => cell.rows.push(row),
            _ => cells.push(CellFit { rows: vec![row] }),
        }
    }
    cells
}

/// Each method's best cell on (dataset, K), methods in order of first
/// appearance.
fn best_per_method<'c, 'a>(
    cells: &'c [CellFit<'a>],
    dataset: &str,
    k: usize,
) -> Vec<&'c CellFit<'a>> {
    let mut best: Vec<&CellFit<'_>> = Vec::new();
    let here = cells
        .iter()
        .filter(|c| c.first().dataset == dataset && c.first().n_components == k);
    for cell in here {
        let score = cell.first().log_lik_per_point;
        match best
            .iter_mut()
            .find(|b| b.first().method == cell.first().method)
        {
            Some(slot) if score > slot.first().log_lik_per_point => *slot = cell,
            Some(_) => {}
            None => best.push(cell),
        }
    }
    best
}

/// One panel: the histogram of column `dim` and every best fit's marginal.
fn density_chart(
    histograms: &[HistogramRow],
    best: &[&CellFit<'_>],
    dataset: &str,
    k: usize,
    dim: usize,
) -> Option<LineChart> {
    let bins: Vec<&HistogramRow> = histograms
        .iter()
        .filter(|h| h.dataset == dataset && h.dim == dim)
        .collect();
    let (first, last) = (bins.first()?, bins.last()?);
    let span = last.bin_high - first.bin_low;
    let (x_low, x_high) = (first.bin_low - 0.1 * span, last.bin_high + 0.1 * span);
    let mut histogram = Series {
        label: "data (histogram)".to_string(),
        colour: Some(HISTOGRAM_GREY),
        ..Series::default()
    };
    for bin in &bins {
        histogram.points.push((bin.bin_low, bin.density));
        histogram.points.push((bin.bin_high, bin.density));
        histogram.band.push((bin.bin_low, 0.0, bin.density));
        histogram.band.push((bin.bin_high, 0.0, bin.density));
    }
    let mut series = vec![histogram];
    for cell in best {
        let points = (0..CURVE_POINTS)
            .map(|i| {
                let x = x_low + (x_high - x_low) * i as f64 / (CURVE_POINTS - 1) as f64;
                (x, cell.marginal_density(dim, x))
            })
            .collect();
        series.push(Series {
            label: cell.label(),
            points,
            dashed: cell.first().method == "em",
            ..Series::default()
        });
    }
    Some(LineChart {
        title: format!("{dataset}, K = {k}: fitted density of {}", first.column),
        x_label: first.column.clone(),
        y_label: "density (1 / unit of x)".to_string(),
        x_log: false,
        series,
        legend_above: true,
    })
}
