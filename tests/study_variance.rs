//! Variance studies (`kind = "variance"`): a tiny one writes every output,
//! its tables do not depend on the thread count, its shards merge to the
//! same tables, and broken files are refused; a constant but wrong
//! estimate is reported as biased, not as exact.

mod study_support;

use std::fs;

use study_support::{check_figures, fresh_dir, run_in, stderr_of};

fn variance_study(estimators: &str, problems: &str) -> String {
    format!(
        "kind = \"variance\"\nmaster_seed = 5\nseeds = [1, 2, 3]\nestimators = {estimators}\n\
         temperatures = [0.1, 1.0]\nn_draws = 500\n{problems}"
    )
}

const PROBLEMS: &str = "\n[[problems]]\nkind = \"bits\"\nn_bits = 20\ntarget = 0.45\n\n\
                        [[problems]]\nkind = \"categorical-target\"\nn_classes = 4\n";

#[test]
fn a_tiny_variance_study_writes_every_output() {
    let dir = fresh_dir("variance");
    let text = variance_study("[\"reinforce\", \"rebar\", \"gumbel\"]", PROBLEMS);
    fs::write(dir.join("var.toml"), text).expect("write");
    let one = run_in(
        &dir,
        &["run", "var.toml", "--out", "one", "--quiet"],
        &[("RAYON_NUM_THREADS", "1")],
    );
    assert!(one.status.success(), "{}", stderr_of(&one));
    let two = run_in(
        &dir,
        &["run", "var.toml", "--out", "two", "--quiet"],
        &[("RAYON_NUM_THREADS", "2")],
    );
    assert!(two.status.success(), "{}", stderr_of(&two));
    for name in ["results.csv", "summary.csv"] {
        let a = fs::read(dir.join("one").join(name)).expect("read");
        assert!(
            a == fs::read(dir.join("two").join(name)).expect("read"),
            "{name} differs"
        );
    }
    let out = dir.join("one");
    for name in [
        "timings.csv",
        "timing_summary.csv",
        "report.md",
        "manifest.json",
    ] {
        assert!(out.join(name).is_file(), "{name} missing");
    }
    // 2 problems x (REINFORCE + 2 REBAR + 2 Gumbel) x 3 seeds.
    let results = fs::read_to_string(out.join("results.csv")).expect("read");
    assert_eq!(results.lines().count(), 1 + 2 * 5 * 3);
    let summary = fs::read_to_string(out.join("summary.csv")).expect("read");
    assert_eq!(summary.lines().count(), 1 + 2 * 5);
    assert!(check_figures(&out) >= 4);
    let report = fs::read_to_string(out.join("report.md")).expect("read");
    assert!(report.contains("## bits20-t0.45") && report.contains("ratio to REINFORCE"));
    let timings = fs::read_to_string(out.join("timings.csv")).expect("read");
    assert!(timings.starts_with("cell,problem,method,temperature,seed,ns_per_estimate"));

    let report_again = run_in(&dir, &["report", "one"], &[]);
    assert!(
        report_again.status.success(),
        "{}",
        stderr_of(&report_again)
    );
    assert_eq!(
        fs::read_to_string(out.join("summary.csv")).expect("read"),
        summary
    );

    for shard in ["1/2", "2/2"] {
        let output = run_in(&dir, &["run", "var.toml", "--shard", shard, "--quiet"], &[]);
        assert!(output.status.success(), "{}", stderr_of(&output));
    }
    let merged = run_in(
        &dir,
        &[
            "merge",
            "reports/var.shard-1-of-2",
            "reports/var.shard-2-of-2",
            "--out",
            "merged",
        ],
        &[],
    );
    assert!(merged.status.success(), "{}", stderr_of(&merged));
    for name in ["results.csv", "summary.csv"] {
        let a = fs::read(out.join(name)).expect("read");
        assert!(
            a == fs::read(dir.join("merged").join(name)).expect("read"),
            "merged {name}"
        );
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn broken_variance_studies_are_refused() {
    let dir = fresh_dir("variance-bad");
    let cases = [
        (variance_study("[\"exact\"]", PROBLEMS), "estimators[0]"),
        // ARM is binary only: refused when no problem is binary (it is
        // only left out of the categorical problems' grid otherwise).
        (
            variance_study(
                "[\"arm\"]",
                "\n[[problems]]\nkind = \"categorical-target\"\nn_classes = 4\n",
            ),
            "cannot run on problem",
        ),
        (
            variance_study(
                "[\"reinforce\"]",
                "\n[[problems]]\nkind = \"bits\"\ntarget = 0.4\n",
            ),
            "problems[0].n_bits",
        ),
        (
            variance_study("[\"reinforce\"]", "\n[[problems]]\nkind = \"coin\"\n"),
            "known problem kinds",
        ),
        (variance_study("[\"reinforce\"]", ""), "problems"),
        (
            variance_study("[\"reinforce\"]", PROBLEMS).replace("n_draws = 500", "n_draws = 1"),
            "n_draws",
        ),
        (
            variance_study("[\"reinforce\"]", PROBLEMS)
                .replace("n_bits = 20", "n_bits = 100000000"),
            "problems[0].n_bits = 100000000 is not allowed: must be given, from 1 to 100000",
        ),
        (
            variance_study("[\"reinforce\"]", PROBLEMS).replace("n_bits = 20", "n_bits = 0"),
            "problems[0].n_bits = 0 is not allowed",
        ),
        (
            variance_study("[\"reinforce\"]", PROBLEMS)
                .replace("n_classes = 4", "n_classes = 1000000"),
            "n_classes = 1000000 is not allowed: must be from 2 to 100000",
        ),
        (
            variance_study("[\"reinforce\"]", PROBLEMS)
                .replace("n_draws = 500", "n_draws = 2000000000"),
            "n_draws = 2000000000 is not allowed",
        ),
        (
            variance_study("[\"reinforce\"]", PROBLEMS).replace(
                "n_draws = 500",
                "n_draws = 500\nconfirm_draws = [5000, 5000]",
            ),
            "confirm_draws[1] = 5000",
        ),
        (
            variance_study("[\"reinforce\"]", PROBLEMS)
                .replace("n_draws = 500", "n_draws = 500\nconfirm_draws = [500]"),
            "confirm_draws[0] = 500",
        ),
        (
            variance_study("[\"reinforce\"]", PROBLEMS).replace(
                "n_draws = 500",
                "n_draws = 500\nconfirm_draws = [9223372036854775807]",
            ),
            "must be at most 1000000000",
        ),
    ];
    for (index, (text, expected)) in cases.iter().enumerate() {
        let file = dir.join(format!("bad{index}.toml"));
        fs::write(&file, text).expect("write");
        let output = run_in(&dir, &["validate", file.to_str().expect("utf-8")], &[]);
        assert_eq!(
            output.status.code(),
            Some(2),
            "case {index}: {}",
            stderr_of(&output)
        );
        assert!(
            stderr_of(&output).contains(expected),
            "case {index}: {}",
            stderr_of(&output)
        );
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_constant_wrong_estimate_is_flagged_not_called_exact() {
    // REBAR on one bit at λ = 1e-5: the relaxation saturates and every
    // draw gives the same wrong value (zero variance, a real gap).
    let dir = fresh_dir("variance-constant");
    let text = "kind = \"variance\"\nmaster_seed = 5\nseeds = [1, 2]\n\
                estimators = [\"reinforce\", \"rebar\"]\ntemperatures = [1e-5]\n\
                n_draws = 100\nconfirm_draws = [1000]\n\n\
                [[problems]]\nkind = \"bit\"\ntarget = 0.45\n";
    fs::write(dir.join("var.toml"), text).expect("write");
    let output = run_in(&dir, &["run", "var.toml", "--out", "out", "--quiet"], &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let results = fs::read_to_string(dir.join("out/results.csv")).expect("results");
    let rebar = results
        .lines()
        .find(|line| line.contains(",rebar,"))
        .expect("a rebar row");
    let fields: Vec<&str> = rebar.split(',').collect();
    let (z, bound): (f64, f64) = (
        fields[10].parse().expect("z"),
        fields[11].parse().expect("bound"),
    );
    assert!(z > bound, "this setting no longer collapses: {rebar}");
    let report = fs::read_to_string(dir.join("out/report.md")).expect("report");
    let row = report
        .lines()
        .find(|line| line.starts_with("| rebar λ="))
        .expect("rebar row in the report");
    assert!(row.contains("**flagged**"), "{row}");
    // Tiny temperatures are labelled in exponent form, never as long decimals.
    assert!(row.starts_with("| rebar λ=1e-5 |"), "{row}");
    assert!(!report.contains("has zero variance"), "{report}");
    let summary = fs::read_to_string(dir.join("out/summary.csv")).expect("summary");
    assert!(
        summary
            .lines()
            .any(|l| l.contains(",rebar,") && l.contains(",2,3,")),
        "summary does not count 2 biased seeds: {summary}"
    );
    let _ = fs::remove_dir_all(&dir);
}
