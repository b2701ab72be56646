//! `data/original_synthetic.csv` is exactly what the crate's seeded
//! generator writes, and its draws look like the mixture they claim to be.

use rebar_optimizer::synthetic::{
    ORIGINAL_MEANS, ORIGINAL_N_POINTS, ORIGINAL_SDS, ORIGINAL_SEED, ORIGINAL_WEIGHTS, original_csv,
    original_points,
};
use rebar_optimizer::variance::bonferroni_z;

const SHIPPED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/original_synthetic.csv");

#[test]
fn shipped_file_is_byte_identical_to_the_generator() {
    let shipped = std::fs::read_to_string(SHIPPED).expect("data/original_synthetic.csv exists");
    let generated = original_csv(ORIGINAL_SEED);
    if std::env::var_os("REGENERATE_SYNTHETIC").is_some() {
        std::fs::write(SHIPPED, &generated).expect("write data/original_synthetic.csv");
    }
    assert_eq!(shipped, generated, "regenerate with REGENERATE_SYNTHETIC=1");
}

#[test]
fn shipped_file_reads_as_200_points() {
    let data =
        rebar_optimizer::data::read_columns(std::path::Path::new(SHIPPED), &["x".to_string()])
            .expect("readable");
    assert_eq!(data.points.nrows(), ORIGINAL_N_POINTS);
}

/// Component frequencies and per-component means of a large draw lie
/// within Bonferroni bounds (maths.md §7) of the stated mixture.
#[test]
fn large_draw_matches_the_stated_mixture() {
    let n = 200_000;
    let points = original_points(n, 99);
    let z = bonferroni_z(0.001, 3);
    let n_first = points.iter().filter(|(_, c)| *c == 0).count();
    let share = n_first as f64 / n as f64;
    let weight = ORIGINAL_WEIGHTS[0];
    let share_sd = (weight * (1.0 - weight) / n as f64).sqrt();
    assert!((share - weight).abs() <= z * share_sd, "share {share}");
    for component in 0..2 {
        let xs: Vec<f64> = points
            .iter()
            .filter(|(_, c)| *c == component)
            .map(|(x, _)| *x)
            .collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let bound = z * ORIGINAL_SDS[component] / (xs.len() as f64).sqrt();
        let gap = (mean - ORIGINAL_MEANS[component]).abs();
        assert!(gap <= bound, "component {component}: mean {mean}");
    }
}
