//! Tables, figures and report of a variance study, from its `results.csv`
//! and `timings.csv`.
//!
//! Per (problem, estimator, temperature) over seeds:
//!
//! ```text
//! log10 variance         mean, sd, Student-t 95 % interval of log10 Σ_j Var(ĝ_j)
//! log10 ratio            log10 variance − REINFORCE's log10 variance on the
//!                        same problem and seed (paired); ratio = 10^mean
//! bias                   the largest max-over-coordinates z-score over seeds,
//!                        and the seeds whose z exceeds the Bonferroni bound
//!                        at α = 0.001 (maths.md §7); seeds where the
//!                        estimator has zero variance (DisARM on one bit at
//!                        φ = 0 is exact) have no z-score and are counted apart;
//!                        seeds redrawn to confirm a flag (`confirm_draws`) are
//!                        judged on all their draws and reported apart
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

use super::super::StudyError;
use super::super::format::{fmt_f64, fmt_opt};
use super::super::plots::{LineChart, Series};
use super::super::stats::{Interval, interval, mean};
use super::super::store::{remove_dir_if_exists, write_atomic};
use super::super::tables::read_table;

#[derive(Debug, Clone, Deserialize)]
struct Row {
    cell: usize,
    problem: String,
    variables: String,
    n_coords: usize,
    method: String,
    temperature: Option<f64>,
    eta: Option<f64>,
    n_samples: usize,
    seed: u64,
    n_draws: usize,
    max_bias_z: f64,
    bias_bound: f64,
    log10_summed_variance: f64,
    snr: f64,
    evals_per_estimate: f64,
    /// Absent from folders written before confirmation draws existed,
    /// whose cells were never redrawn: then `n_draws`.
    screen_draws: Option<usize>,
    /// As `screen_draws`: then `max_bias_z`.
    screen_max_bias_z: Option<f64>,
}

impl Row {
    fn screen_draws(&self) -> usize {
        self.screen_draws.unwrap_or(self.n_draws)
    }

    fn screen_max_bias_z(&self) -> f64 {
        self.screen_max_bias_z.unwrap_or(self.max_bias_z)
    }
}

#[derive(Debug, Clone, Deserialize)]
struct TimingRow {
    cell: usize,
    ns_per_estimate: f64,
}

/// Statistics of one (problem, estimator, temperature) over seeds.
#[derive(Debug, Clone)]
struct Group {
    first: Row,
    n_seeds: usize,
    /// Seeds with a non-zero variance, over which `log10_variance` runs.
    n_seeds_variance: usize,
    log10_variance: Interval,
    log10_ratio: Option<Interval>,
    snr_mean: f64,
    max_bias_z: f64,
    n_seeds_biased: usize,
    n_seeds_zero_variance: usize,
    /// Seeds flagged after the first draws and redrawn.
    n_seeds_redrawn: usize,
    /// The largest draw count over seeds.
    max_draws: usize,
    /// The largest z-score over seeds after the first draws.
    screen_max_bias_z: f64,
    evals: f64,
    ns_per_estimate: Option<f64>,
}

impl Group {
    fn variant(&self) -> String {
        match self.first.temperature {
            Some(t) => format!("{} λ={}", self.first.method, fmt_f64(t)),
            None => self.first.method.clone(),
        }
    }
}

const SUMMARY_HEADER: &str = "problem,variables,n_coords,method,temperature,eta,n_samples,\
n_seeds,screen_draws,log10_variance_mean,log10_variance_sd,log10_variance_ci_low,\
log10_variance_ci_high,log10_ratio_to_reinforce_mean,log10_ratio_to_reinforce_ci_low,\
log10_ratio_to_reinforce_ci_high,variance_ratio_to_reinforce,snr_mean,max_bias_z,bias_bound,\
n_seeds_biased,evals_per_estimate,n_seeds_redrawn,max_draws,screen_max_bias_z,\
n_seeds_variance";

/// Rebuilds summary.csv, timing_summary.csv, the figures and report.md of
/// a variance study's folder.
///
/// # Errors
///
/// [`StudyError`] naming the file that could not be read or written.
pub fn build_outputs(dir: &Path, name: &str, n_cells: usize) -> Result<(), StudyError> {
    let rows: Vec<Row> = read_table(&dir.join("results.csv")).map_err(StudyError::Table)?;
    let timings: Vec<TimingRow> =
        read_table(&dir.join("timings.csv")).map_err(StudyError::Table)?;
    let ns: HashMap<usize, f64> = timings
        .iter()
        .map(|t| (t.cell, t.ns_per_estimate))
        .collect();
    let groups = summarise(&rows, &ns);
    drop(rows);
    write_atomic(&dir.join("summary.csv"), summary_text(&groups).as_bytes())?;
    write_atomic(
        &dir.join("timing_summary.csv"),
        timing_text(&groups).as_bytes(),
    )?;
    let figures_dir = dir.join("figures");
    remove_dir_if_exists(&figures_dir)?;
    let figures = draw(&figures_dir, &groups)?;
    let mut report = report(name, n_cells, &groups, &figures);
    report.push_str(&super::headline::rebar_section(dir));
    report.push_str(&super::headline::throughput_section(dir));
    write_atomic(&dir.join("report.md"), report.as_bytes())?;
    Ok(())
}

fn summarise(rows: &[Row], ns: &HashMap<usize, f64>) -> Vec<Group> {
    let reinforce: HashMap<(&str, u64), f64> = rows
        .iter()
        .filter(|r| r.method == "reinforce")
        .map(|r| ((r.problem.as_str(), r.seed), r.log10_summed_variance))
        .collect();
    let same = |a: &Row, b: &Row| {
        a.problem == b.problem && a.method == b.method && a.temperature == b.temperature
    };
    let mut groups = Vec::new();
    let mut start = 0;
    while start < rows.len() {
        let mut end = start + 1;
        while end < rows.len() && same(&rows[start], &rows[end]) {
            end += 1;
        }
        let runs = &rows[start..end];
        let log10: Vec<f64> = runs
            .iter()
            .map(|r| r.log10_summed_variance)
            .filter(|v| v.is_finite())
            .collect();
        let ratios: Vec<f64> = runs
            .iter()
            .filter_map(|r| {
                let base = reinforce.get(&(r.problem.as_str(), r.seed))?;
                Some(r.log10_summed_variance - base).filter(|v| v.is_finite())
            })
            .collect();
        let times: Vec<f64> = runs
            .iter()
            .filter_map(|r| ns.get(&r.cell).copied())
            .collect();
        // A seed with zero variance is exact only if its mean also meets
        // the exact gradient; a constant but wrong estimate is biased.
        let exact = |r: &Row| !r.log10_summed_variance.is_finite() && r.max_bias_z <= r.bias_bound;
        groups.push(Group {
            first: runs[0].clone(),
            n_seeds: runs.len(),
            n_seeds_variance: log10.len(),
            log10_variance: if log10.is_empty() {
                interval(&[f64::NEG_INFINITY])
            } else {
                interval(&log10)
            },
            log10_ratio: (!ratios.is_empty()).then(|| interval(&ratios)),
            snr_mean: mean(&runs.iter().map(|r| r.snr).collect::<Vec<_>>()),
            max_bias_z: runs
                .iter()
                .filter(|r| !exact(r))
                .map(|r| r.max_bias_z)
                .fold(0.0, f64::max),
            n_seeds_biased: runs
                .iter()
                .filter(|r| !exact(r) && r.max_bias_z > r.bias_bound)
                .count(),
            n_seeds_zero_variance: runs.iter().filter(|r| exact(r)).count(),
            n_seeds_redrawn: runs.iter().filter(|r| r.n_draws > r.screen_draws()).count(),
            max_draws: runs.iter().map(|r| r.n_draws).max().unwrap_or(0),
            screen_max_bias_z: runs
                .iter()
                .filter(|r| !exact(r))
                .map(Row::screen_max_bias_z)
                .fold(0.0, f64::max),
            evals: mean(
                &runs
                    .iter()
                    .map(|r| r.evals_per_estimate)
                    .collect::<Vec<_>>(),
            ),
            ns_per_estimate: (!times.is_empty()).then(|| mean(&times)),
        });
        start = end;
    }
    groups
}

fn summary_text(groups: &[Group]) -> String {
    let mut text = format!("{SUMMARY_HEADER}\n");
    for g in groups {
        let r = &g.first;
        let ratio = g.log10_ratio.as_ref();
        let _ = writeln!(
            text,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.problem,
            r.variables,
            r.n_coords,
            r.method,
            fmt_opt(r.temperature),
            fmt_opt(r.eta),
            r.n_samples,
            g.n_seeds,
            r.screen_draws(),
            fmt_f64(g.log10_variance.mean),
            fmt_opt(g.log10_variance.sd),
            fmt_opt(g.log10_variance.low),
            fmt_opt(g.log10_variance.high),
            fmt_opt(ratio.map(|i| i.mean)),
            fmt_opt(ratio.and_then(|i| i.low)),
            fmt_opt(ratio.and_then(|i| i.high)),
            fmt_opt(ratio.map(|i| 10f64.powf(i.mean))),
            fmt_f64(g.snr_mean),
            fmt_f64(g.max_bias_z),
            fmt_f64(r.bias_bound),
            g.n_seeds_biased,
            fmt_f64(g.evals),
            g.n_seeds_redrawn,
            g.max_draws,
            fmt_f64(g.screen_max_bias_z),
            g.n_seeds_variance
        );
    }
    text
}

fn timing_text(groups: &[Group]) -> String {
    let mut text = "problem,method,temperature,n_seeds,ns_per_estimate_mean,estimates_per_second\n"
        .to_string();
    for g in groups {
        let _ = writeln!(
            text,
            "{},{},{},{},{},{}",
            g.first.problem,
            g.first.method,
            fmt_opt(g.first.temperature),
            g.n_seeds,
            fmt_opt(g.ns_per_estimate),
            fmt_opt(g.ns_per_estimate.map(|ns| 1e9 / ns))
        );
    }
    text
}

fn problems(groups: &[Group]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for g in groups {
        if !seen.contains(&g.first.problem) {
            seen.push(g.first.problem.clone());
        }
    }
    seen
}

/// Draws the figures of every problem; returns (file, caption) pairs.
fn draw(dir: &Path, groups: &[Group]) -> Result<Vec<(String, String)>, StudyError> {
    std::fs::create_dir_all(dir)
        .map_err(|err| StudyError::Table(format!("cannot create {}: {err}", dir.display())))?;
    let mut figures = Vec::new();
    for problem in problems(groups) {
        let here: Vec<&Group> = groups
            .iter()
            .filter(|g| g.first.problem == problem)
            .collect();
        let charts = [
            (
                "log-variance-vs-temperature",
                versus_temperature(&here, &problem),
            ),
            ("variance-vs-cost", versus_cost(&here, &problem)),
        ];
        for (kind, chart) in charts {
            let Some(chart) = chart else { continue };
            let file = format!("{kind}-{problem}.svg");
            chart.draw(&dir.join(&file))?;
            figures.push((file, chart.title.clone()));
        }
    }
    Ok(figures)
}

fn versus_temperature(here: &[&Group], problem: &str) -> Option<LineChart> {
    let temperatures: Vec<f64> = here.iter().filter_map(|g| g.first.temperature).collect();
    let low = temperatures.iter().copied().fold(f64::INFINITY, f64::min);
    let high = temperatures
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    if high.partial_cmp(&low) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    let mut series: Vec<Series> = Vec::new();
    for g in here {
        let ci = &g.log10_variance;
        let band = |x: f64| ci.low.zip(ci.high).map(|(lo, hi)| (x, lo, hi));
        match g.first.temperature {
            Some(t) => match series.iter_mut().find(|s| s.label == g.first.method) {
                Some(line) => {
                    line.points.push((t, ci.mean));
                    line.band.extend(band(t));
                }
                None => series.push(Series {
                    label: g.first.method.clone(),
                    points: vec![(t, ci.mean)],
                    band: band(t).into_iter().collect(),
                    ..Series::default()
                }),
            },
            None => series.push(Series {
                label: g.first.method.clone(),
                points: vec![(low, ci.mean), (high, ci.mean)],
                band: band(low).into_iter().chain(band(high)).collect(),
                dashed: true,
                ..Series::default()
            }),
        }
    }
    Some(LineChart {
        title: format!("Estimator variance vs temperature, {problem}"),
        x_label: "temperature λ (log scale)".to_string(),
        y_label: "log10 summed variance of the estimate (log10 units²)".to_string(),
        x_log: true,
        series,
        legend_above: false,
    })
}

fn versus_cost(here: &[&Group], problem: &str) -> Option<LineChart> {
    let series: Vec<Series> = here
        .iter()
        .map(|g| Series {
            label: g.variant(),
            points: vec![(g.evals, g.log10_variance.mean)],
            markers: true,
            ..Series::default()
        })
        .collect();
    (!series.is_empty()).then(|| LineChart {
        title: format!("Variance vs cost, {problem}"),
        x_label: "evaluations of f per estimate (count)".to_string(),
        y_label: "log10 summed variance of the estimate (log10 units²)".to_string(),
        x_log: false,
        series,
        legend_above: false,
    })
}

/// A variance ratio: three decimals, or two significant digits in
/// exponent form below 0.01.
fn ratio_text(log10_ratio: Option<&Interval>) -> String {
    match log10_ratio.map(|r| 10f64.powf(r.mean)) {
        Some(ratio) if ratio.is_finite() && ratio < 0.01 => format!("{ratio:.1e}"),
        other => num(other, 3),
    }
}

fn num(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(x) if x.is_finite() => format!("{x:.decimals$}"),
        _ => "–".to_string(),
    }
}

fn report(name: &str, n_cells: usize, groups: &[Group], figures: &[(String, String)]) -> String {
    let mut out = format!("# Variance study: {name}\n\n");
    let _ = writeln!(
        out,
        "Generated by `study` from `results.csv` and `timings.csv` in this folder. Each cell \
         draws n estimates at fixed logits and compares them with the exact gradient; \
         variances are summed over coordinates, ratios are to plain REINFORCE on the same \
         problem and seed, intervals are Student-t 95 % over seeds. Runs (cells): {n_cells}.\n"
    );
    for problem in problems(groups) {
        let here: Vec<&Group> = groups
            .iter()
            .filter(|g| g.first.problem == problem)
            .collect();
        let first = &here[0].first;
        let max_draws = here.iter().map(|g| g.max_draws).max().unwrap_or(0);
        let redraws = if max_draws > first.screen_draws() {
            format!("; flagged cells of unbiased estimators redrawn, up to {max_draws}")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "## {problem} ({}, {} coordinates, {} draws per cell{redraws})\n",
            first.variables,
            first.n_coords,
            first.screen_draws()
        );
        let _ = writeln!(
            out,
            "| estimator | log10 variance | ratio to REINFORCE | SNR | max bias z (bound) | \
             f evals | ns per estimate |"
        );
        let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- | --- |");
        for g in &here {
            let ci = &g.log10_variance;
            let bias_flag = match (g.n_seeds_biased > 0, relaxed_only(&g.first.method)) {
                (false, _) if g.n_seeds_redrawn > 0 => " redrawn",
                (false, _) => "",
                (true, true) => " **biased**",
                (true, false) => " **flagged**",
            };
            // Seeds with zero variance have no log-variance: say how many
            // seeds the interval covers when some are missing.
            let coverage = if g.n_seeds_variance < g.n_seeds && g.n_seeds_variance > 0 {
                format!(" ({} of {} seeds)", g.n_seeds_variance, g.n_seeds)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "| {} | {} [{}, {}]{coverage} | {} | {} | {} ({}){bias_flag} | {} | {} |",
                g.variant(),
                num(Some(ci.mean), 3),
                num(ci.low, 3),
                num(ci.high, 3),
                ratio_text(g.log10_ratio.as_ref()),
                num(Some(g.snr_mean), 3),
                z_text(g.max_bias_z),
                num(Some(g.first.bias_bound), 2),
                num(Some(g.evals), 1),
                num(g.ns_per_estimate, 0)
            );
        }
        let _ = writeln!(out);
        findings(&mut out, &here);
    }
    let _ = writeln!(out, "## Figures\n");
    for (file, caption) in figures {
        let _ = writeln!(out, "![{caption}](figures/{file})\n");
    }
    out
}

/// A z-score for the report: two decimals, or scientific notation from a
/// million on (a constant estimate that misses scores about 1e12).
fn z_text(z: f64) -> String {
    if z.abs() >= 1e6 {
        format!("{z:.1e}")
    } else {
        num(Some(z), 2)
    }
}

/// Whether `method` only differentiates a relaxation, so that it is biased
/// by construction (its bias flags are expected, not a warning).
fn relaxed_only(method: &str) -> bool {
    matches!(method, "gumbel" | "straight-through")
}

/// Where each other estimator beats or loses to REINFORCE (the interval of
/// the paired log10 ratio below or above 0), and which are biased.
fn findings(out: &mut String, here: &[&Group]) {
    let _ = writeln!(out, "Findings:\n");
    for g in here.iter().filter(|g| g.first.method != "reinforce") {
        if g.n_seeds_biased > 0 {
            let _ = writeln!(
                out,
                "- {}: not compared with REINFORCE, since it fails the bias check (below).",
                g.variant()
            );
            continue;
        }
        let Some(ratio) = &g.log10_ratio else {
            continue;
        };
        let verdict = match (ratio.low, ratio.high) {
            (_, Some(high)) if high < 0.0 => "lower variance than REINFORCE",
            (Some(low), _) if low > 0.0 => "higher variance than REINFORCE",
            _ => "no clear variance difference from REINFORCE",
        };
        let _ = writeln!(
            out,
            "- {}: {verdict} (ratio {}).",
            g.variant(),
            ratio_text(Some(ratio))
        );
    }
    for g in here.iter().filter(|g| g.n_seeds_zero_variance > 0) {
        let _ = writeln!(
            out,
            "- {} has zero variance at these logits in {} of {} seeds (its estimate is \
             exact there), so it has no z-score and no log-variance.",
            g.variant(),
            g.n_seeds_zero_variance,
            g.n_seeds
        );
    }
    for g in here.iter().filter(|g| g.n_seeds_redrawn > 0) {
        let outcome = if g.n_seeds_biased == 0 {
            format!(
                "every seed is now within the bound (largest z {}), which fits a heavy \
                 tail that the first draws under-sampled rather than a bias",
                z_text(g.max_bias_z)
            )
        } else {
            format!(
                "{} of {} seeds {} still beyond the bound (largest z {}): a possible \
                 bias, or a tail heavier than this many draws can sample",
                g.n_seeds_biased,
                g.n_seeds,
                if g.n_seeds_biased == 1 { "is" } else { "are" },
                z_text(g.max_bias_z)
            )
        };
        let _ = writeln!(
            out,
            "- {} was flagged after {} draws in {} of {} seeds (largest z {}); redrawn on \
             the same streams, up to {} draws, {outcome}.",
            g.variant(),
            g.first.screen_draws(),
            g.n_seeds_redrawn,
            g.n_seeds,
            z_text(g.screen_max_bias_z),
            g.max_draws
        );
    }
    for g in here
        .iter()
        .filter(|g| g.n_seeds_biased > 0 && g.n_seeds_redrawn == 0)
    {
        let reading = if relaxed_only(&g.first.method) {
            "biased by construction (it differentiates a relaxation)"
        } else {
            "unbiased by construction (maths.md §4), so the flag more likely points to \
             heavy tails that this many draws under-sample than to bias: a study's \
             `confirm_draws` redraws such cells (a true bias grows in z like the square \
             root of the draws)"
        };
        let _ = writeln!(
            out,
            "- {} is flagged here: its mean misses the exact gradient beyond the Bonferroni \
             bound in {} of {} seeds; it is {reading}.",
            g.variant(),
            g.n_seeds_biased,
            g.n_seeds
        );
    }
    let _ = writeln!(out);
}
