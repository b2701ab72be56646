//! The fitted models of an SVI study and the data they were fitted to, as
//! two tidy tables beside `results.csv`, so that the density figures can be
//! rebuilt from the output folder alone (by `study report` and after
//! `study merge`):
//!
//! - `fits.csv`: one row per (cell, component, dimension) with the final
//!   model's weight, mean and standard deviation, and the cell's final
//!   log-likelihood per point. For a full-covariance model the standard
//!   deviation is the marginal one, so every row describes the exact
//!   one-dimensional marginal `Σ_k π_k N(x_d; μ_kd, σ_kd²)`.
//! - `histograms.csv`: a histogram of every column of every data set, with
//!   `n_bins = clamp(ceil(2 · N^(1/3)), 10, 60)` equal bins over
//!   `[min, max]` (Rice's rule) and `density = count / (N · width)`.
//!
//! Both are deterministic (no times), so they repeat byte for byte.

use std::fmt::Write as _;

use ndarray::ArrayView2;
use serde::Deserialize;

use super::format::fmt_f64;
use crate::gmm::Mixture;

/// Header of `fits.csv`.
pub const FITS_HEADER: &str = "cell,dataset,method,seed,n_components,temperature,\
learning_rate,log_lik_per_point,component,dim,weight,mean,sd";

/// Header of `histograms.csv`.
pub const HISTOGRAMS_HEADER: &str = "dataset,dim,column,bin_low,bin_high,count,density";

/// One row of `fits.csv` as read back.
#[derive(Debug, Clone, Deserialize)]
pub struct FitRow {
    /// The cell's index in the grid.
    pub cell: usize,
    /// Data set name.
    pub dataset: String,
    /// `em` or the estimator name.
    pub method: String,
    /// The replicate seed.
    pub seed: u64,
    /// Mixture components `K`.
    pub n_components: usize,
    /// Temperature `λ` (estimators that have one).
    pub temperature: Option<f64>,
    /// Learning rate (SVI).
    pub learning_rate: Option<f64>,
    /// The cell's final log-likelihood per point.
    pub log_lik_per_point: f64,
    /// Component index `k`.
    pub component: usize,
    /// Dimension index `d`.
    pub dim: usize,
    /// Weight `π_k`.
    pub weight: f64,
    /// Mean `μ_kd`.
    pub mean: f64,
    /// Standard deviation `σ_kd`.
    pub sd: f64,
}

/// One row of `histograms.csv` as read back.
#[derive(Debug, Clone, Deserialize)]
pub struct HistogramRow {
    /// Data set name.
    pub dataset: String,
    /// Dimension index.
    pub dim: usize,
    /// Column name in the data file.
    pub column: String,
    /// Left edge of the bin.
    pub bin_low: f64,
    /// Right edge of the bin.
    pub bin_high: f64,
    /// Points in the bin (the last bin includes its right edge).
    pub count: usize,
    /// `count / (N · width)`.
    pub density: f64,
}

/// The rows of `fits.csv` for one cell: `prefix` holds the columns from
/// `cell` to `learning_rate`; one row per component and dimension.
pub fn fit_rows(prefix: &str, mixture: &Mixture, log_lik_per_point: f64) -> String {
    let mut rows = String::new();
    let log_lik = fmt_f64(log_lik_per_point);
    for (k, weight) in mixture.weights.iter().enumerate() {
        for d in 0..mixture.n_dims() {
            let _ = writeln!(
                rows,
                "{prefix},{log_lik},{k},{d},{},{},{}",
                fmt_f64(*weight),
                fmt_f64(mixture.means[[k, d]]),
                fmt_f64(mixture.log_sigma[[k, d]].exp())
            );
        }
    }
    rows
}

/// The rows of `histograms.csv` for one data set (`points` is `N × D`,
/// `columns` its `D` column names).
pub fn histogram_rows(dataset: &str, columns: &[String], points: ArrayView2<f64>) -> String {
    let n_points = points.nrows();
    let n_bins = ((2.0 * (n_points as f64).cbrt()).ceil() as usize).clamp(10, 60);
    let mut rows = String::new();
    for (d, column) in points.columns().into_iter().enumerate() {
        let low = column.iter().copied().fold(f64::INFINITY, f64::min);
        let high = column.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let width = if high > low {
            (high - low) / n_bins as f64
        } else {
            1.0
        };
        let mut counts = vec![0usize; n_bins];
        for &x in column {
            let bin = ((x - low) / width).floor();
            counts[(bin.max(0.0) as usize).min(n_bins - 1)] += 1;
        }
        let name = columns.get(d).map_or("", String::as_str);
        for (bin, &count) in counts.iter().enumerate() {
            let density = count as f64 / (n_points as f64 * width);
            let _ = writeln!(
                rows,
                "{dataset},{d},{name},{},{},{count},{}",
                fmt_f64(low + bin as f64 * width),
                fmt_f64(low + (bin + 1) as f64 * width),
                fmt_f64(density)
            );
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn histogram_counts_every_point_and_integrates_to_one() {
        let points = array![[0.0, 5.0], [1.0, 5.5], [1.0, 6.0], [10.0, 9.0]];
        let columns = vec!["a".to_string(), "b".to_string()];
        let text = histogram_rows("toy", &columns, points.view());
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        let mut total = [0usize; 2];
        let mut area = [0.0f64; 2];
        for record in reader.records() {
            let record = record.expect("row");
            let dim: usize = record[1].parse().expect("dim");
            let low: f64 = record[3].parse().expect("low");
            let high: f64 = record[4].parse().expect("high");
            total[dim] += record[5].parse::<usize>().expect("count");
            area[dim] += (high - low) * record[6].parse::<f64>().expect("density");
        }
        assert_eq!(total, [4, 4]);
        assert!((area[0] - 1.0).abs() < 1e-12 && (area[1] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn fit_rows_list_every_component_and_dimension() {
        let mixture = Mixture {
            weights: vec![0.25, 0.75],
            means: array![[0.0, 1.0], [2.0, 3.0]],
            log_sigma: array![[0.0, 0.0], [2f64.ln(), 0.0]],
        };
        let text = fit_rows("7,x,em,1,2,,", &mixture, -1.5);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[2], "7,x,em,1,2,,,-1.5,1,0,0.75,2,2");
    }
}
