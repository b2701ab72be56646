//! `study report DIR` rebuilds summary.csv, comparisons.csv, the figures
//! and report.md from a fixed small results.csv and timings.csv, and the
//! text files match the committed copies byte for byte.

mod study_support;

use std::fs;

use study_support::{check_figures, fresh_dir, root, run_in, stderr_of};

#[test]
fn report_is_rebuilt_from_the_fixture_tables() {
    let fixture = root().join("tests/data/report_fixture");
    let dir = fresh_dir("report-regen");
    for name in ["results.csv", "timings.csv", "manifest.json"] {
        fs::copy(fixture.join(name), dir.join(name)).expect("copy the fixture");
    }
    let output = run_in(&root(), &["report", dir.to_str().expect("utf-8 path")], &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    for name in ["summary.csv", "comparisons.csv", "report.md"] {
        let expected = fs::read_to_string(fixture.join("expected").join(name))
            .expect("read the committed copy");
        let rebuilt = fs::read_to_string(dir.join(name)).expect("read the rebuilt file");
        assert_eq!(rebuilt, expected, "{name} differs from the committed copy");
    }
    assert_eq!(check_figures(&dir), 4);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn summary_numbers_follow_from_the_fixture() {
    // EM's mean final log-likelihood per point over seeds 1..3 is
    // (-120 - 121 - 119.5) / 3 / 100; REBAR at λ = 0.5 ends 0.0005 per
    // point below EM on average, and two of its seeds come within
    // epsilon = 0.001 of EM (see the fixture's README).
    let summary = fs::read_to_string(root().join("tests/data/report_fixture/expected/summary.csv"))
        .expect("read the committed summary");
    let mut reader = csv::Reader::from_reader(summary.as_bytes());
    let headers = reader.headers().expect("header").clone();
    let column = |name: &str| headers.iter().position(|h| h == name).expect("column");
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let em = &rows[0];
    assert_eq!(&em[column("method")], "em");
    let em_mean: f64 = em[column("log_lik_mean")].parse().expect("number");
    assert!((em_mean - (-120.0 - 121.0 - 119.5) / 300.0).abs() < 1e-12);
    assert_eq!(&em[column("n_runs_floored")], "1");
    let rebar = rows
        .iter()
        .find(|r| &r[column("method")] == "rebar" && &r[column("temperature")] == "0.5")
        .expect("rebar row");
    let gap: f64 = rebar[column("gap_to_em_mean")].parse().expect("number");
    assert!((gap + 0.0005).abs() < 1e-9, "gap {gap}");
    assert_eq!(&rebar[column("n_reached")], "2");
    assert_eq!(&rebar[column("n_not_reached")], "1");
}
