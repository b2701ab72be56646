//! The study's figures, one set per (data set, `K`):
//!
//! - `convergence-D-kK.svg`: log-likelihood per point vs step for each
//!   estimator variant at its best learning rate, with the 95 % band over
//!   seeds, and EM's mean final level as a dashed line;
//! - `gap-vs-temperature-D-kK.svg`: final gap to EM vs temperature for
//!   each estimator at its best learning rate, with 95 % bands; estimators
//!   without a temperature appear as dashed levels;
//! - `variance-vs-temperature-D-kK.svg`: `log10` of the summed variance of
//!   the `φ`-gradient at the shared initial model vs temperature (when the
//!   study measures it, `svi.variance_draws`);
//! - `final-vs-learning-rate-D-kK.svg`: final log-likelihood per point vs
//!   learning rate, one line per variant, EM dashed;
//! - `wallclock-D-kK.svg`: log-likelihood per point vs mean wall-clock
//!   time, each variant at its best learning rate.
//!
//! The best learning rate of a variant is the one with the highest mean
//! final log-likelihood (the first such in grid order).

use std::path::Path;

use super::plots::{LineChart, PlotError, Series};
use super::stats::Interval;
use super::summary::PointSummary;

/// A drawn figure: its file name under `figures/` and a caption.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// File name, e.g. `convergence-eruptions-k2.svg`.
    pub file: String,
    /// One-line caption.
    pub caption: String,
}

const Y_LOG_LIK: &str = "log-likelihood per point (nats)";

/// The (data set, K) panels of a summary table, in table order.
pub fn panels(summaries: &[PointSummary]) -> Vec<(String, usize)> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for s in summaries {
        let key = (s.point.dataset.clone(), s.point.n_components);
        if !seen.contains(&key) {
            seen.push(key);
        }
    }
    seen
}

/// The SVI variants of a panel in table order, each with its summaries.
pub fn variants<'a>(panel: &[&'a PointSummary]) -> Vec<(String, Vec<&'a PointSummary>)> {
    let mut found: Vec<(String, Vec<&PointSummary>)> = Vec::new();
    for s in panel.iter().filter(|s| !s.point.is_em()) {
        let name = s.point.variant();
        match found.iter_mut().find(|(seen, _)| *seen == name) {
            Some((_, list)) => list.push(s),
            None => found.push((name, vec![s])),
        }
    }
    found
}

/// The summary with the highest mean final log-likelihood.
pub fn best<'a>(candidates: &[&'a PointSummary]) -> Option<&'a PointSummary> {
    candidates.iter().copied().reduce(|best, next| {
        if next.log_lik.mean > best.log_lik.mean {
            next
        } else {
            best
        }
    })
}

/// Draws every figure into `dir` (created if needed).
///
/// # Errors
///
/// [`PlotError`] naming the figure.
pub fn draw_all(dir: &Path, summaries: &[PointSummary]) -> Result<Vec<Figure>, PlotError> {
    std::fs::create_dir_all(dir).map_err(|err| PlotError {
        path: dir.display().to_string(),
        reason: err.to_string(),
    })?;
    let mut figures = Vec::new();
    for (dataset, k) in panels(summaries) {
        let panel: Vec<&PointSummary> = summaries
            .iter()
            .filter(|s| s.point.dataset == dataset && s.point.n_components == k)
            .collect();
        let tag = format!("{dataset}-k{k}");
        let charts = [
            ("convergence", convergence(&panel, &dataset, k)),
            (
                "gap-vs-temperature",
                gap_vs_temperature(&panel, &dataset, k),
            ),
            (
                "variance-vs-temperature",
                variance_vs_temperature(&panel, &dataset, k),
            ),
            (
                "final-vs-learning-rate",
                final_vs_learning_rate(&panel, &dataset, k),
            ),
            ("wallclock", wallclock(&panel, &dataset, k)),
        ];
        for (name, chart) in charts {
            let Some(chart) = chart else { continue };
            let file = format!("{name}-{tag}.svg");
            chart.draw(&dir.join(&file))?;
            figures.push(Figure {
                file,
                caption: chart.title.clone(),
            });
        }
    }
    Ok(figures)
}

fn em_level(panel: &[&PointSummary]) -> Option<f64> {
    panel
        .iter()
        .find(|s| s.point.is_em())
        .map(|s| s.log_lik.mean)
}

fn level_series(label: &str, y: f64, x_low: f64, x_high: f64) -> Series {
    Series {
        label: label.to_string(),
        points: vec![(x_low, y), (x_high, y)],
        dashed: true,
        ..Series::default()
    }
}

fn convergence(panel: &[&PointSummary], dataset: &str, k: usize) -> Option<LineChart> {
    let mut series = Vec::new();
    let mut max_step = 1.0_f64;
    for (name, list) in variants(panel) {
        let Some(s) = best(&list) else { continue };
        let lr = s.point.learning_rate.unwrap_or(f64::NAN);
        let mut line = Series {
            label: format!("{name}, lr={lr}"),
            ..Series::default()
        };
        for (step, ci) in s.steps.iter().zip(&s.curve) {
            let x = *step as f64;
            max_step = max_step.max(x);
            line.points.push((x, ci.mean));
            if let (Some(low), Some(high)) = (ci.low, ci.high) {
                line.band.push((x, low, high));
            }
        }
        series.push(line);
    }
    if series.is_empty() {
        return None;
    }
    if let Some(em) = em_level(panel) {
        series.push(level_series("EM (mean final)", em, 0.0, max_step));
    }
    Some(LineChart {
        title: format!("Convergence on {dataset}, K = {k} (mean, 95% band)"),
        x_label: "optimisation step".to_string(),
        y_label: Y_LOG_LIK.to_string(),
        x_log: false,
        series,
        legend_above: false,
    })
}

/// The SVI grid points of one method at its best learning rate (the rate
/// of the method's best grid point), in table order.
fn at_best_rate<'a>(panel: &[&'a PointSummary], method: &str) -> Vec<&'a PointSummary> {
    let of_method: Vec<&PointSummary> = panel
        .iter()
        .copied()
        .filter(|s| s.point.method == method)
        .collect();
    let Some(top) = best(&of_method) else {
        return Vec::new();
    };
    let rate = top.point.learning_rate;
    of_method
        .into_iter()
        .filter(|s| s.point.learning_rate == rate)
        .collect()
}

/// The SVI methods of a panel, in table order.
fn methods(panel: &[&PointSummary]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for s in panel.iter().filter(|s| !s.point.is_em()) {
        if !found.contains(&s.point.method) {
            found.push(s.point.method.clone());
        }
    }
    found
}

/// A chart against temperature: one line (with band) per method that uses
/// a temperature, one dashed level per method that does not, each taken
/// from `value` (an interval) of the method's grid points at `pick`.
fn against_temperature(
    panel: &[&PointSummary],
    pick: impl Fn(&[&PointSummary], &str) -> Vec<PointSummary>,
    value: impl Fn(&PointSummary) -> Option<Interval>,
) -> Vec<Series> {
    let temperatures: Vec<f64> = panel.iter().filter_map(|s| s.point.temperature).collect();
    let low = temperatures.iter().copied().fold(f64::INFINITY, f64::min);
    let high = temperatures
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let mut series = Vec::new();
    for method in methods(panel) {
        let chosen = pick(panel, &method);
        let Some(first) = chosen.first() else {
            continue;
        };
        let lr = first.point.learning_rate.unwrap_or(f64::NAN);
        let label = format!("{method}, lr={lr}");
        let mut line = Series {
            label,
            ..Series::default()
        };
        for s in &chosen {
            let Some(ci) = value(s) else { continue };
            match s.point.temperature {
                Some(t) => {
                    line.points.push((t, ci.mean));
                    if let (Some(lo), Some(hi)) = (ci.low, ci.high) {
                        line.band.push((t, lo, hi));
                    }
                }
                None => {
                    line = level_series(&line.label, ci.mean, low, high);
                    if let (Some(lo), Some(hi)) = (ci.low, ci.high) {
                        line.band = vec![(low, lo, hi), (high, lo, hi)];
                    }
                }
            }
        }
        if !line.points.is_empty() {
            series.push(line);
        }
    }
    series
}

fn distinct_temperatures(panel: &[&PointSummary]) -> usize {
    let mut seen: Vec<f64> = Vec::new();
    for t in panel.iter().filter_map(|s| s.point.temperature) {
        if !seen.contains(&t) {
            seen.push(t);
        }
    }
    seen.len()
}

fn gap_vs_temperature(panel: &[&PointSummary], dataset: &str, k: usize) -> Option<LineChart> {
    if distinct_temperatures(panel) < 2 {
        return None;
    }
    let pick = |panel: &[&PointSummary], method: &str| -> Vec<PointSummary> {
        at_best_rate(panel, method).into_iter().cloned().collect()
    };
    let series = against_temperature(panel, pick, |s| s.gap);
    (!series.is_empty()).then(|| LineChart {
        title: format!("Final gap to EM vs temperature on {dataset}, K = {k} (best rate)"),
        x_label: "temperature λ (log scale)".to_string(),
        y_label: "log-lik. minus EM's, per point (nats)".to_string(),
        x_log: true,
        series,
        legend_above: false,
    })
}

/// log10 of the summed gradient variance at the shared initial model vs
/// temperature (grid points of the first learning rate: at the first
/// logged step the rate has not acted yet).
fn variance_vs_temperature(panel: &[&PointSummary], dataset: &str, k: usize) -> Option<LineChart> {
    if distinct_temperatures(panel) < 2 || panel.iter().all(|s| s.log10_variance_start.is_none()) {
        return None;
    }
    let pick = |panel: &[&PointSummary], method: &str| -> Vec<PointSummary> {
        let of_method: Vec<&PointSummary> = panel
            .iter()
            .copied()
            .filter(|s| s.point.method == method)
            .collect();
        let rate = of_method.first().and_then(|s| s.point.learning_rate);
        of_method
            .into_iter()
            .filter(|s| s.point.learning_rate == rate)
            .cloned()
            .collect()
    };
    let series = against_temperature(panel, pick, |s| s.log10_variance_start);
    (!series.is_empty()).then(|| LineChart {
        title: format!("Gradient variance at the start vs temperature on {dataset}, K = {k}"),
        x_label: "temperature λ (log scale)".to_string(),
        y_label: "log10 summed variance of the φ-gradient (log10 nats²)".to_string(),
        x_log: true,
        series,
        legend_above: false,
    })
}

fn final_vs_learning_rate(panel: &[&PointSummary], dataset: &str, k: usize) -> Option<LineChart> {
    let mut rates: Vec<f64> = Vec::new();
    for lr in panel.iter().filter_map(|s| s.point.learning_rate) {
        if !rates.contains(&lr) {
            rates.push(lr);
        }
    }
    if rates.len() < 2 {
        return None;
    }
    let mut series = Vec::new();
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    for (name, list) in variants(panel) {
        let points: Vec<(f64, f64)> = list
            .iter()
            .filter_map(|s| s.point.learning_rate.map(|lr| (lr, s.log_lik.mean)))
            .collect();
        for &(lr, _) in &points {
            low = low.min(lr);
            high = high.max(lr);
        }
        series.push(Series {
            label: name,
            points,
            ..Series::default()
        });
    }
    if series.is_empty() {
        return None;
    }
    if let Some(em) = em_level(panel) {
        series.push(level_series("EM (mean final)", em, low, high));
    }
    Some(LineChart {
        title: format!("Final log-likelihood vs learning rate on {dataset}, K = {k}"),
        x_label: "Adam learning rate (log scale)".to_string(),
        y_label: Y_LOG_LIK.to_string(),
        x_log: true,
        series,
        legend_above: false,
    })
}

fn wallclock(panel: &[&PointSummary], dataset: &str, k: usize) -> Option<LineChart> {
    let mut series = Vec::new();
    let mut max_seconds = 0.0_f64;
    for (name, list) in variants(panel) {
        let Some(s) = best(&list) else { continue };
        let points: Vec<(f64, f64)> = s
            .curve_seconds
            .iter()
            .zip(&s.curve)
            .filter_map(|(seconds, ci)| seconds.map(|x| (x, ci.mean)))
            .collect();
        max_seconds = points.iter().fold(max_seconds, |m, p| m.max(p.0));
        let lr = s.point.learning_rate.unwrap_or(f64::NAN);
        series.push(Series {
            label: format!("{name}, lr={lr}"),
            points,
            ..Series::default()
        });
    }
    if series.iter().all(|line| line.points.is_empty()) {
        return None;
    }
    if let Some(em) = em_level(panel) {
        series.push(level_series("EM (mean final)", em, 0.0, max_seconds));
    }
    Some(LineChart {
        title: format!("Log-likelihood vs wall-clock time on {dataset}, K = {k}"),
        x_label: "wall-clock time per run (s)".to_string(),
        y_label: Y_LOG_LIK.to_string(),
        x_log: false,
        series,
        legend_above: false,
    })
}
