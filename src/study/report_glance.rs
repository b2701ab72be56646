//! The "At a glance" section of an SVI study's `report.md`: one line per
//! (data set, `K`) with EM's level, the best stochastic variant and its gap
//! to EM, then counts over the panels (where the best stochastic method
//! stays below EM, which estimator is best most often). Every number comes
//! from `summary.csv`.

use std::fmt::Write;

use super::report::{best_by_log_lik, ci as interval, num, variant};
use super::tables::SummaryRow;

/// Where a gap interval lies relative to 0.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Below,
    Tied,
    Above,
    Unknown,
}

fn side(row: &SummaryRow) -> Side {
    match (row.gap_to_em_ci_low, row.gap_to_em_ci_high) {
        (_, Some(high)) if high < 0.0 => Side::Below,
        (Some(low), _) if low > 0.0 => Side::Above,
        (Some(_), Some(_)) => Side::Tied,
        _ => Side::Unknown,
    }
}

/// Writes the section for the panels `panels` of `summary`.
pub fn at_a_glance(out: &mut String, summary: &[SummaryRow], panels: &[(String, usize)]) {
    let _ = writeln!(out, "## At a glance\n");
    let _ = writeln!(
        out,
        "| data set | K | EM log-lik. | best stochastic variant | its log-lik. | gap to EM | \
         stochastic runs within ε (all variants) |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- | --- |");
    let mut sides: Vec<Side> = Vec::new();
    let mut winners: Vec<(String, usize)> = Vec::new();
    for (dataset, k) in panels {
        let here = summary
            .iter()
            .filter(|r| &r.dataset == dataset && r.n_components == *k);
        let em = here.clone().find(|r| r.method == "em");
        let Some(best) = best_by_log_lik(here.clone().filter(|r| r.method != "em")) else {
            continue;
        };
        let reached: usize = here.clone().filter_map(|r| r.n_reached).sum();
        let runs: usize = here
            .filter(|r| r.method != "em")
            .map(|r| r.n_reached.unwrap_or(0) + r.n_not_reached.unwrap_or(0))
            .sum();
        let variant = variant(best);
        let _ = writeln!(
            out,
            "| {dataset} | {k} | {} | {variant}, lr {} | {} | {} | {reached}/{runs} |",
            num(em.map(|e| e.log_lik_mean), 4),
            num(best.learning_rate, 3),
            num(Some(best.log_lik_mean), 4),
            interval(
                best.gap_to_em_mean,
                best.gap_to_em_ci_low,
                best.gap_to_em_ci_high
            ),
        );
        sides.push(side(best));
        match winners.iter_mut().find(|(name, _)| *name == best.method) {
            Some((_, count)) => *count += 1,
            None => winners.push((best.method.clone(), 1)),
        }
    }
    let count = |wanted: Side| sides.iter().filter(|&&s| s == wanted).count();
    let _ = writeln!(
        out,
        "\nOver the {} panel{}, the best stochastic variant stays below EM in {} (its 95 % \
         interval of the gap excludes 0), is indistinguishable from EM in {}, and ends above \
         EM in {}{}. Best stochastic method per panel: {}.\n",
        sides.len(),
        if sides.len() == 1 { "" } else { "s" },
        count(Side::Below),
        count(Side::Tied),
        count(Side::Above),
        if count(Side::Above) > 0 {
            " (check the floored-runs column of that panel: a collapsed component can \
             raise the likelihood)"
        } else {
            ""
        },
        winners
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}
