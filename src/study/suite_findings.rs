//! The sections of a suite's report that read across parts: where REBAR
//! wins and loses, how far the best stochastic method stays from EM, the
//! cost, the threats to validity and the verdict on the original claim.
//! Each is a pure function of the parts' tables.

use std::fmt::Write as _;

use super::suite_report::{LEVEL, TimingRow};
use super::suite_sections::{
    Ctx, PartTables, best_stochastic, best_svi_rows, is_rebar, num, panel_rows, problems_of,
    settings_of, variant,
};
use super::tables::Comparison;

/// REBAR against a REINFORCE variant in an SVI part's comparisons:
/// `(row, rebar is first)`.
fn rebar_pairs<'a>(part: &'a PartTables, baseline: &str) -> Vec<(&'a Comparison, bool)> {
    let method = |v: &str| v.split(' ').next().unwrap_or("").to_string();
    part.svi
        .comparisons
        .iter()
        .filter_map(|c| {
            let (a, b) = (method(&c.first), method(&c.second));
            if is_rebar(&a) && b == baseline {
                Some((c, true))
            } else if a == baseline && is_rebar(&b) {
                Some((c, false))
            } else {
                None
            }
        })
        .collect()
}

/// Positive when REBAR's mean final log-likelihood is higher.
fn rebar_advantage(c: &Comparison, rebar_first: bool) -> f64 {
    if rebar_first {
        c.difference
    } else {
        -c.difference
    }
}

/// "Where REBAR wins, where it loses".
pub fn rebar_wins(out: &mut String, ctx: &Ctx<'_>) {
    let _ = writeln!(out, "## Where REBAR wins, where it loses\n");
    for part in ctx.parts {
        match part.kind.as_str() {
            "toy" => toy_verdicts(out, part),
            "variance" => variance_verdicts(out, part),
            _ => svi_verdicts(out, part),
        }
    }
    let _ = writeln!(out);
}

fn toy_verdicts(out: &mut String, part: &PartTables) {
    for problem in problems_of(part.toy.iter().map(|r| r.problem.as_str())) {
        let best = |pick: &dyn Fn(&str) -> bool| {
            part.toy
                .iter()
                .filter(|r| r.problem == problem && r.best_rate && pick(&r.method))
                .min_by(|a, b| a.final_loss_mean.total_cmp(&b.final_loss_mean))
        };
        let (Some(rebar), Some(reinforce)) = (best(&is_rebar), best(&|m| m == "reinforce")) else {
            continue;
        };
        let verdict = match (rebar.final_loss_ci_high, reinforce.final_loss_ci_low) {
            (Some(high), Some(low)) if high < low => "REBAR wins",
            _ => match (rebar.final_loss_ci_low, reinforce.final_loss_ci_high) {
                (Some(low), Some(high)) if low > high => "REBAR loses",
                _ => "no clear difference",
            },
        };
        let _ = writeln!(
            out,
            "- `{}` {problem}: {verdict}: final loss {} ({}) vs REINFORCE {}.",
            part.name,
            num(Some(rebar.final_loss_mean), 6),
            variant(&rebar.method, rebar.temperature),
            num(Some(reinforce.final_loss_mean), 6)
        );
    }
}

fn variance_verdicts(out: &mut String, part: &PartTables) {
    for r in part.variance.iter().filter(|r| is_rebar(&r.method)) {
        if r.n_seeds_biased > 0 {
            let _ = writeln!(
                out,
                "- `{}` {} at initial logits, {}: not compared, since it fails the bias \
                 check in {} of {} seeds.",
                part.name,
                r.problem,
                variant(&r.method, r.temperature),
                r.n_seeds_biased,
                r.n_seeds
            );
            continue;
        }
        let verdict = match (
            r.log10_ratio_to_reinforce_ci_low,
            r.log10_ratio_to_reinforce_ci_high,
        ) {
            (_, Some(high)) if high < 0.0 => "REBAR wins",
            (Some(low), _) if low > 0.0 => "REBAR loses",
            _ => "no clear difference",
        };
        let _ = writeln!(
            out,
            "- `{}` {} at initial logits, {}: {verdict}: variance ratio to REINFORCE {}.",
            part.name,
            r.problem,
            variant(&r.method, r.temperature),
            num(r.variance_ratio_to_reinforce, 4)
        );
    }
}

fn svi_verdicts(out: &mut String, part: &PartTables) {
    for baseline in ["reinforce", "reinforce-ema", "rloo"] {
        let pairs = rebar_pairs(part, baseline);
        if pairs.is_empty() {
            continue;
        }
        let wins = pairs
            .iter()
            .filter(|(c, f)| c.p_holm < LEVEL && rebar_advantage(c, *f) > 0.0)
            .count();
        let losses = pairs
            .iter()
            .filter(|(c, f)| c.p_holm < LEVEL && rebar_advantage(c, *f) < 0.0)
            .count();
        let _ = writeln!(
            out,
            "- `{}` SVI, REBAR vs {baseline}: of {} comparisons (same data, K and rate), REBAR \
             is significantly better in {wins}, significantly worse in {losses}, and not \
             distinguishable in {}.",
            part.name,
            pairs.len(),
            pairs.len() - wins - losses
        );
    }
}

/// "How far the best stochastic method stays from EM, and why".
pub fn gap_to_em(out: &mut String, ctx: &Ctx<'_>) {
    let _ = writeln!(
        out,
        "## How far the best stochastic method stays from EM, and why\n"
    );
    // Panels where the best stochastic method is below, level with, above EM.
    let mut sides = [0usize; 3];
    for part in ctx
        .parts
        .iter()
        .filter(|p| !matches!(p.kind.as_str(), "toy" | "variance"))
    {
        for (dataset, k) in settings_of(part) {
            let here = panel_rows(part, &dataset, k);
            if let Some(best) = best_stochastic(&best_svi_rows(&here)) {
                let side = match (best.gap_to_em_ci_low, best.gap_to_em_ci_high) {
                    (_, Some(high)) if high < 0.0 => 0,
                    (Some(low), _) if low > 0.0 => 2,
                    _ => 1,
                };
                sides[side] += 1;
                let _ = writeln!(
                    out,
                    "- `{}` {dataset} K = {k}: {}, gap to EM {} [{}, {}] nats per point \
                     ({}); {} of its runs came within ε.",
                    part.name,
                    variant(&best.method, best.temperature),
                    num(best.gap_to_em_mean, 4),
                    num(best.gap_to_em_ci_low, 4),
                    num(best.gap_to_em_ci_high, 4),
                    ["below EM", "indistinguishable from EM", "above EM"][side],
                    best.n_reached.unwrap_or(0)
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "\nOver these {} panels the best stochastic method stays below EM in {}, is \
         indistinguishable from it in {} and ends above it in {}{}.",
        sides.iter().sum::<usize>(),
        sides[0],
        sides[1],
        sides[2],
        if sides[2] > 0 {
            " (above: EM from the shared start stopped at a worse local optimum, or a \
             component collapsed; see the part's floored-runs column)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "\nWhy: EM is coordinate ascent on the same ELBO with the exact posterior as q: each \
         E-step closes the gap to the log-likelihood completely and each M-step maximises \
         the bound in closed form. SVI replaces both by noisy gradient steps of a fixed \
         budget: its q stays a step behind the model, and the estimator's noise keeps the \
         iterate wandering around the optimum at a distance set by the learning rate.\n"
    );
}

/// Seconds per estimate and per EM iteration, from timings.
pub fn cost(out: &mut String, ctx: &Ctx<'_>) {
    let _ = writeln!(
        out,
        "## Cost\n\n| part | data | K | method | seconds per step or EM iteration | \
         microseconds per per-point estimate |\n| --- | --- | --- | --- | --- | --- |"
    );
    for part in ctx
        .parts
        .iter()
        .filter(|p| !matches!(p.kind.as_str(), "toy" | "variance"))
    {
        for (dataset, k) in settings_of(part) {
            let n_points = part
                .svi
                .summary
                .iter()
                .find(|r| r.dataset == dataset && r.n_components == k)
                .map_or(1, |r| r.n_points);
            let mut methods: Vec<&str> = Vec::new();
            for t in &part.svi.timings {
                if t.dataset == dataset
                    && t.n_components == k
                    && !methods.contains(&t.method.as_str())
                {
                    methods.push(&t.method);
                }
            }
            for method in methods {
                let per_step = seconds_per_step(&part.svi.timings, &dataset, k, method);
                let per_estimate = (method != "em")
                    .then(|| per_step.map(|s| s * 1e6 / n_points as f64))
                    .flatten();
                let _ = writeln!(
                    out,
                    "| {} | {dataset} | {k} | {method} | {} | {} |",
                    part.name,
                    per_step.map_or("–".to_string(), |s| format!("{s:.3e}")),
                    num(per_estimate, 3)
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "\nPer-step numbers are a cell's last wall time over its last step, averaged over \
         the cells of the method (all rates and temperatures); wall times vary from run to \
         run and machine to machine, unlike every other table here.\n"
    );
}

fn seconds_per_step(timings: &[TimingRow], dataset: &str, k: usize, method: &str) -> Option<f64> {
    let mut per_cell: Vec<(usize, f64)> = Vec::new();
    for t in timings {
        if t.dataset != dataset || t.n_components != k || t.method != method || t.step == 0 {
            continue;
        }
        let rate = t.wall_seconds / t.step as f64;
        match per_cell.iter_mut().find(|(cell, _)| *cell == t.cell) {
            Some(entry) => entry.1 = rate,
            None => per_cell.push((t.cell, rate)),
        }
    }
    (!per_cell.is_empty())
        .then(|| per_cell.iter().map(|(_, r)| r).sum::<f64>() / per_cell.len() as f64)
}

/// "Threats to validity", with the budgets read from the tables.
pub fn threats(out: &mut String, ctx: &Ctx<'_>) {
    let _ = writeln!(out, "## Threats to validity\n");
    for part in ctx.parts {
        let (seeds, rates) = match part.kind.as_str() {
            "toy" => (
                part.toy.iter().map(|r| r.n_seeds).min(),
                count_rates(
                    part.toy
                        .iter()
                        .map(|r| (r.method.as_str(), Some(r.learning_rate))),
                ),
            ),
            "variance" => (part.variance.iter().map(|r| r.n_seeds).min(), String::new()),
            _ => (
                part.svi
                    .summary
                    .iter()
                    .filter(|r| r.method != "em")
                    .map(|r| r.n_seeds)
                    .min(),
                count_rates(
                    part.svi
                        .summary
                        .iter()
                        .map(|r| (r.method.as_str(), r.learning_rate)),
                ),
            ),
        };
        let _ = writeln!(
            out,
            "- `{}`: {} seeds per grid point{}.",
            part.name,
            seeds.map_or("–".to_string(), |s| s.to_string()),
            if rates.is_empty() {
                String::new()
            } else {
                format!("; learning rates tried: {rates}")
            }
        );
    }
    let _ = writeln!(
        out,
        "- Every method gets the same learning-rate grid and is shown at its best rate on \
         the same seeds it is scored on, which favours no method but slightly flatters all \
         of them; a method whose best rate lies outside the grid is under-tuned."
    );
    // What the suite's own files trimmed or left out, from its `threats`.
    for line in ctx.threats {
        let _ = writeln!(out, "- {line}");
    }
    let _ = writeln!(out);
}

fn count_rates<'a, I: Iterator<Item = (&'a str, Option<f64>)>>(rows: I) -> String {
    let mut seen: Vec<(&str, Vec<f64>)> = Vec::new();
    for (method, rate) in rows {
        let Some(rate) = rate else { continue };
        match seen.iter_mut().find(|(m, _)| *m == method) {
            Some((_, rates)) if !rates.contains(&rate) => rates.push(rate),
            Some(_) => {}
            None => seen.push((method, vec![rate])),
        }
    }
    seen.iter()
        .map(|(m, rates)| format!("{m} {}", rates.len()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The plain statement on the original claim, from the part named
/// `original`: every comparison of fixed-η REBAR with REINFORCE and with
/// REINFORCE-EMA, and the verdict.
pub fn original_claim(out: &mut String, ctx: &Ctx<'_>) {
    let _ = writeln!(out, "## Does the original claim hold?\n");
    let Some(part) = ctx.parts.iter().find(|p| p.name == "original") else {
        let _ = writeln!(out, "No part named `original` in this suite.\n");
        return;
    };
    let _ = writeln!(
        out,
        "| REBAR | against | rate | REBAR minus other, log-lik per point | Welch t | Holm p \
         | REBAR significantly better |\n| --- | --- | --- | --- | --- | --- | --- |"
    );
    let (mut n_pairs, mut n_wins) = (0usize, 0usize);
    for baseline in ["reinforce", "reinforce-ema"] {
        for (c, first) in rebar_pairs(part, baseline) {
            let rebar = if first { &c.first } else { &c.second };
            if rebar.split(' ').next() != Some("rebar") {
                continue;
            }
            let advantage = rebar_advantage(c, first);
            let win = c.p_holm < LEVEL && advantage > 0.0;
            n_pairs += 1;
            n_wins += usize::from(win);
            let _ = writeln!(
                out,
                "| {rebar} | {baseline} | {} | {} | {} | {:.3e} | {} |",
                c.learning_rate,
                num(Some(advantage), 5),
                num(Some(if first { c.t } else { -c.t }), 2),
                c.p_holm,
                if win { "yes" } else { "no" }
            );
        }
    }
    let verdict = match (n_wins, n_pairs) {
        (_, 0) => "cannot be judged (no comparisons)",
        (w, n) if w == n => "holds",
        (0, _) => "does not hold",
        _ => "holds only in part",
    };
    let _ = writeln!(
        out,
        "\n**The original claim (REBAR beats REINFORCE on the synthetic data) {verdict}**: \
         fixed-η REBAR is significantly better (Holm p < {LEVEL}) in {n_wins} of {n_pairs} \
         comparisons with plain REINFORCE and REINFORCE with a moving-average baseline, one \
         per learning rate and temperature, {} seeds each.\n",
        part.svi
            .summary
            .iter()
            .filter(|r| r.method == "rebar")
            .map(|r| r.n_seeds)
            .min()
            .unwrap_or(0)
    );
}
