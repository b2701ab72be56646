//! Tables, figures and report of a toy optimisation study, from its
//! `results.csv` and `timings.csv` alone (so `study report DIR` rebuilds
//! them without running anything).
//!
//! Per grid point (problem, estimator, temperature, learning rate), over
//! seeds, with Student-t 95 % intervals:
//!
//! ```text
//! final loss            E[f] at the last step
//! final log10 excess    log10(E[f] − min E[f]) at the last step
//! log10 variance        log10 Σ_j Var(ĝ_j) from the probe draws, first and last step
//! best_rate             whether this rate has the lowest mean final loss among
//!                       the rates of its (problem, estimator, temperature)
//! ```
//!
//! `curves.csv` holds, per grid point and logged step, the mean and interval
//! of the log10 excess loss and of the log10 variance; the figures draw
//! each (estimator, temperature) at its best rate.

use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

use super::StudyError;
use super::format::{fmt_f64, fmt_opt};
use super::plots::{LineChart, Series};
use super::stats::{Interval, interval, mean};
use super::store::{remove_dir_if_exists, write_atomic};
use super::tables::read_table;

#[derive(Debug, Clone, Deserialize)]
struct Row {
    problem: String,
    n_bits: usize,
    target: f64,
    method: String,
    temperature: Option<f64>,
    eta: Option<f64>,
    learning_rate: f64,
    n_samples: usize,
    seed: u64,
    step: usize,
    loss: f64,
    excess_loss: f64,
    log10_variance: Option<f64>,
    n_evals: u64,
}

#[derive(Debug, Clone, Deserialize)]
struct TimingRow {
    problem: String,
    method: String,
    temperature: Option<f64>,
    learning_rate: f64,
    wall_seconds: f64,
}

/// Statistics of one grid point over seeds.
#[derive(Debug, Clone)]
struct Point {
    first: Row,
    n_seeds: usize,
    n_steps: usize,
    final_loss: Interval,
    final_log10_excess: Interval,
    variance_start: Option<Interval>,
    variance_final: Option<Interval>,
    evals_per_step: f64,
    best_rate: bool,
    /// `(step, log10 excess, log10 variance)` per logged step.
    curve: Vec<(usize, Interval, Option<Interval>)>,
}

impl Point {
    fn variant(&self) -> String {
        match self.first.temperature {
            Some(t) => format!("{} λ={}", self.first.method, fmt_f64(t)),
            None => self.first.method.clone(),
        }
    }

    fn same_variant(&self, other: &Point) -> bool {
        self.first.problem == other.first.problem
            && self.first.method == other.first.method
            && self.first.temperature == other.first.temperature
    }
}

/// Header of a toy study's `summary.csv`.
pub const SUMMARY_HEADER: &str = "problem,n_bits,target,method,temperature,eta,learning_rate,\
n_samples,n_seeds,n_steps,final_loss_mean,final_loss_sd,final_loss_ci_low,final_loss_ci_high,\
final_log10_excess_mean,final_log10_excess_ci_low,final_log10_excess_ci_high,\
log10_variance_start_mean,log10_variance_final_mean,log10_variance_final_ci_low,\
log10_variance_final_ci_high,evals_per_step,best_rate";

const CURVES_HEADER: &str = "problem,method,temperature,learning_rate,step,\
log10_excess_mean,log10_excess_ci_low,log10_excess_ci_high,log10_variance_mean,\
log10_variance_ci_low,log10_variance_ci_high";

const TIMING_HEADER: &str = "problem,method,temperature,learning_rate,n_seeds,\
wall_seconds_mean,seconds_per_step_mean";

/// Rebuilds `summary.csv`, `curves.csv`, `timing_summary.csv`, the figures
/// and `report.md` of a toy study's folder.
///
/// # Errors
///
/// [`StudyError`] naming the file that could not be read or written.
pub fn build_outputs(dir: &Path, name: &str, n_cells: usize) -> Result<(), StudyError> {
    let rows: Vec<Row> = read_table(&dir.join("results.csv")).map_err(StudyError::Table)?;
    let timings: Vec<TimingRow> =
        read_table(&dir.join("timings.csv")).map_err(StudyError::Table)?;
    let points = summarise(&rows);
    drop(rows);
    write_atomic(&dir.join("summary.csv"), summary_text(&points).as_bytes())?;
    write_atomic(&dir.join("curves.csv"), curves_text(&points).as_bytes())?;
    let timing = timing_text(&points, &timings);
    write_atomic(&dir.join("timing_summary.csv"), timing.as_bytes())?;
    let figures_dir = dir.join("figures");
    remove_dir_if_exists(&figures_dir)?;
    let figures = draw(&figures_dir, &points)?;
    let report = report(name, n_cells, &points, &figures);
    write_atomic(&dir.join("report.md"), report.as_bytes())?;
    Ok(())
}

/// Groups rows (in grid order: point, seed, step) into grid points.
fn summarise(rows: &[Row]) -> Vec<Point> {
    let same = |a: &Row, b: &Row| {
        a.problem == b.problem
            && a.method == b.method
            && a.temperature == b.temperature
            && a.learning_rate == b.learning_rate
    };
    let mut points = Vec::new();
    let mut start = 0;
    while start < rows.len() {
        let mut end = start + 1;
        while end < rows.len() && same(&rows[start], &rows[end]) {
            end += 1;
        }
        points.push(point(&rows[start..end]));
        start = end;
    }
    mark_best_rates(&mut points);
    points
}

fn point(runs: &[Row]) -> Point {
    let mut seeds: Vec<u64> = runs.iter().map(|r| r.seed).collect();
    seeds.dedup();
    let last_step = runs.iter().map(|r| r.step).max().unwrap_or(0);
    let mut steps: Vec<usize> = runs.iter().map(|r| r.step).collect();
    steps.sort_unstable();
    steps.dedup();
    let at = |step: usize| -> Vec<&Row> { runs.iter().filter(|r| r.step == step).collect() };
    let variance_at = |step: usize| {
        let values: Vec<f64> = at(step).iter().filter_map(|r| r.log10_variance).collect();
        (!values.is_empty()).then(|| interval(&values))
    };
    let finals = at(last_step);
    let losses: Vec<f64> = finals.iter().map(|r| r.loss).collect();
    let excess: Vec<f64> = finals.iter().map(|r| r.excess_loss.log10()).collect();
    let evals: Vec<f64> = finals
        .iter()
        .map(|r| r.n_evals as f64 / last_step.max(1) as f64)
        .collect();
    let curve = steps
        .iter()
        .map(|&step| {
            let excess: Vec<f64> = at(step).iter().map(|r| r.excess_loss.log10()).collect();
            (step, interval(&excess), variance_at(step))
        })
        .collect();
    Point {
        first: runs[0].clone(),
        n_seeds: seeds.len(),
        n_steps: last_step,
        final_loss: interval(&losses),
        final_log10_excess: interval(&excess),
        variance_start: variance_at(0),
        variance_final: variance_at(last_step),
        evals_per_step: mean(&evals),
        best_rate: false,
        curve,
    }
}

/// Marks, per (problem, estimator, temperature), the rate with the lowest
/// mean final loss (the first such rate on ties).
fn mark_best_rates(points: &mut [Point]) {
    for i in 0..points.len() {
        let beaten = points.iter().enumerate().any(|(j, other)| {
            other.same_variant(&points[i])
                && (other.final_loss.mean < points[i].final_loss.mean
                    || (other.final_loss.mean == points[i].final_loss.mean && j < i))
        });
        points[i].best_rate = !beaten;
    }
}

fn ci_cells(ci: Option<&Interval>, with_sd: bool) -> String {
    let Some(ci) = ci else {
        return if with_sd { ",,," } else { ",," }.to_string();
    };
    let sd = if with_sd {
        format!("{},", fmt_opt(ci.sd))
    } else {
        String::new()
    };
    format!(
        "{},{sd}{},{}",
        fmt_f64(ci.mean),
        fmt_opt(ci.low),
        fmt_opt(ci.high)
    )
}

fn summary_text(points: &[Point]) -> String {
    let mut out = format!("{SUMMARY_HEADER}\n");
    for p in points {
        let r = &p.first;
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.problem,
            r.n_bits,
            fmt_f64(r.target),
            r.method,
            fmt_opt(r.temperature),
            fmt_opt(r.eta),
            fmt_f64(r.learning_rate),
            r.n_samples,
            p.n_seeds,
            p.n_steps,
            ci_cells(Some(&p.final_loss), true),
            ci_cells(Some(&p.final_log10_excess), false),
            fmt_opt(p.variance_start.map(|v| v.mean)),
            ci_cells(p.variance_final.as_ref(), false),
            fmt_f64(p.evals_per_step),
            p.best_rate
        );
    }
    out
}

fn curves_text(points: &[Point]) -> String {
    let mut out = format!("{CURVES_HEADER}\n");
    for p in points {
        let r = &p.first;
        for (step, excess, variance) in &p.curve {
            let _ = writeln!(
                out,
                "{},{},{},{},{step},{},{}",
                r.problem,
                r.method,
                fmt_opt(r.temperature),
                fmt_f64(r.learning_rate),
                ci_cells(Some(excess), false),
                ci_cells(variance.as_ref(), false)
            );
        }
    }
    out
}

fn timing_text(points: &[Point], timings: &[TimingRow]) -> String {
    let mut out = format!("{TIMING_HEADER}\n");
    for p in points {
        let r = &p.first;
        let seconds: Vec<f64> = timings
            .iter()
            .filter(|t| {
                t.problem == r.problem
                    && t.method == r.method
                    && t.temperature == r.temperature
                    && t.learning_rate == r.learning_rate
            })
            .map(|t| t.wall_seconds)
            .collect();
        if seconds.is_empty() {
            continue;
        }
        let wall = mean(&seconds);
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{}",
            r.problem,
            r.method,
            fmt_opt(r.temperature),
            fmt_f64(r.learning_rate),
            seconds.len(),
            fmt_f64(wall),
            fmt_f64(wall / p.n_steps.max(1) as f64)
        );
    }
    out
}

fn problems(points: &[Point]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for p in points {
        if !seen.contains(&p.first.problem) {
            seen.push(p.first.problem.clone());
        }
    }
    seen
}

/// Draws, per problem, the log10 excess loss and the log10 variance
/// against the step; returns (file, caption) pairs.
fn draw(dir: &Path, points: &[Point]) -> Result<Vec<(String, String)>, StudyError> {
    std::fs::create_dir_all(dir)
        .map_err(|err| StudyError::Table(format!("cannot create {}: {err}", dir.display())))?;
    let mut figures = Vec::new();
    for problem in problems(points) {
        let best: Vec<&Point> = points
            .iter()
            .filter(|p| p.first.problem == problem && p.best_rate)
            .collect();
        let charts = [
            (
                "loss-vs-step",
                "log10 excess loss E[f] − min E[f] (log10 units)",
                false,
            ),
            (
                "log-variance-vs-step",
                "log10 summed gradient variance (log10 units²)",
                true,
            ),
        ];
        for (stem, y_label, variance) in charts {
            let series: Vec<Series> = best.iter().filter_map(|p| curve(p, variance)).collect();
            if series.is_empty() {
                continue;
            }
            let what = if variance {
                "Gradient variance"
            } else {
                "Excess loss"
            };
            let chart = LineChart {
                title: format!("{what} vs step, {problem} (each at its best rate)"),
                x_label: "optimisation step (count)".to_string(),
                y_label: y_label.to_string(),
                x_log: false,
                series,
                legend_above: false,
            };
            let file = format!("{stem}-{problem}.svg");
            chart.draw(&dir.join(&file))?;
            figures.push((file, chart.title.clone()));
        }
    }
    Ok(figures)
}

fn curve(p: &Point, variance: bool) -> Option<Series> {
    let mut series = Series {
        label: format!("{} (lr {})", p.variant(), p.first.learning_rate),
        ..Series::default()
    };
    for (step, excess, var) in &p.curve {
        let ci = if variance { var.as_ref() } else { Some(excess) };
        let Some(ci) = ci.filter(|ci| ci.mean.is_finite()) else {
            continue;
        };
        let x = *step as f64;
        series.points.push((x, ci.mean));
        if let (Some(low), Some(high)) = (ci.low, ci.high)
            && low.is_finite()
            && high.is_finite()
        {
            series.band.push((x, low, high));
        }
    }
    (!series.points.is_empty()).then_some(series)
}

fn num(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(x) if x.is_finite() => format!("{x:.decimals$}"),
        _ => "–".to_string(),
    }
}

fn report(name: &str, n_cells: usize, points: &[Point], figures: &[(String, String)]) -> String {
    let mut out = format!("# Toy optimisation study: {name}\n\n");
    let _ = writeln!(
        out,
        "Generated by `study` from `results.csv` in this folder. Each run minimises the \
         exact loss E[f] from fair bits (φ = 0) with Adam; intervals are Student-t 95 % over \
         seeds. Each estimator (and temperature) is shown at the learning rate with the \
         lowest mean final loss. Runs (cells): {n_cells}.\n"
    );
    for problem in problems(points) {
        let here: Vec<&Point> = points
            .iter()
            .filter(|p| p.first.problem == problem && p.best_rate)
            .collect();
        let first = &here[0];
        let _ = writeln!(
            out,
            "## {problem} ({} bits, t = {}, {} steps, {} seeds)\n",
            first.first.n_bits, first.first.target, first.n_steps, first.n_seeds
        );
        out.push_str(&table(&here));
    }
    let _ = writeln!(out, "## Figures\n");
    for (file, caption) in figures {
        let _ = writeln!(out, "![{caption}](figures/{file})\n");
    }
    out
}

/// The Markdown table of a problem's best-rate points.
fn table(here: &[&Point]) -> String {
    let mut out = String::from(
        "| estimator | best rate | final loss [95 % CI] | final log10 excess | \
         log10 variance start | log10 variance end | f evals per step |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for p in here {
        let loss = &p.final_loss;
        let _ = writeln!(
            out,
            "| {} | {} | {} [{}, {}] | {} | {} | {} | {} |",
            p.variant(),
            p.first.learning_rate,
            num(Some(loss.mean), 6),
            num(loss.low, 6),
            num(loss.high, 6),
            num(Some(p.final_log10_excess.mean), 2),
            num(p.variance_start.map(|v| v.mean), 2),
            num(p.variance_final.map(|v| v.mean), 2),
            num(Some(p.evals_per_step), 1)
        );
    }
    out.push('\n');
    out
}
