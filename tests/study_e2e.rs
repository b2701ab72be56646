//! The `study` binary on a tiny study writes every output, in the
//! documented shapes, and leaves no staging folder behind.

mod study_support;

use std::fs;

use study_support::{check_figures, fresh_dir, root, run_in, stderr_of, tiny_study};

#[test]
fn a_tiny_study_writes_every_output() {
    let dir = fresh_dir("e2e");
    let file = dir.join("tiny.toml");
    fs::write(&file, tiny_study("[1, 2]", 30, "")).expect("write the study");
    let output = run_in(&dir, &["run", "tiny.toml", "--quiet"], &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        output.stdout.is_empty() && output.stderr.is_empty(),
        "--quiet printed"
    );
    let out = dir.join("reports").join("tiny");
    for name in [
        "results.csv",
        "timings.csv",
        "summary.csv",
        "comparisons.csv",
        "timing_summary.csv",
        "report.md",
        "manifest.json",
    ] {
        assert!(out.join(name).is_file(), "{name} missing");
    }
    assert!(!dir.join("reports").join(".tiny.partial").exists());
    assert!(!out.join("parts").exists());
    let results = fs::read_to_string(out.join("results.csv")).expect("results");
    let header = results.lines().next().expect("header");
    let required = "method,variables,seed,n_components,temperature,learning_rate,eta,n_samples,\
                    step,elbo,log_lik";
    let columns: Vec<&str> = header.split(',').collect();
    for name in required.split(',') {
        assert!(
            columns.contains(&name),
            "results.csv lacks {name}: {header}"
        );
    }
    // 2 seeds x (EM + REINFORCE + REBAR at one temperature): 6 cells; SVI
    // cells log steps 0, 10, 20 and 30.
    let svi_rows = results
        .lines()
        .filter(|l| l.contains(",reinforce,"))
        .count();
    assert_eq!(svi_rows, 2 * 4);
    assert!(results.lines().any(|l| l.contains(",em,")));
    assert!(check_figures(&out) >= 2);
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("manifest.json")).expect("manifest"))
            .expect("manifest is JSON");
    for key in [
        "study_hash",
        "crate_version",
        "threads",
        "start_time",
        "wall_seconds",
    ] {
        assert!(manifest.get(key).is_some(), "manifest lacks {key}");
    }
    assert_eq!(manifest["n_cells"], 6);
    let report = fs::read_to_string(out.join("report.md")).expect("report");
    assert!(report.contains("## eruptions, K = 2") && report.contains("figures/convergence"));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn list_and_help_describe_the_grid_and_the_commands() {
    let dir = fresh_dir("list");
    fs::write(dir.join("tiny.toml"), tiny_study("[1, 2, 3]", 30, "")).expect("write");
    let output = run_in(&dir, &["list", "tiny.toml"], &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("svi study, 9 cells"), "{stdout}");
    assert!(
        stdout.contains("3 EM runs") && stdout.contains("6 SVI runs"),
        "{stdout}"
    );
    assert!(
        stdout.contains("svi/data=eruptions/k=2/est=rebar/lambda=0.5"),
        "{stdout}"
    );
    let help = run_in(&root(), &["--help"], &[]);
    let text = String::from_utf8_lossy(&help.stdout);
    for word in ["run", "merge", "report", "list", "validate", "Examples"] {
        assert!(text.contains(word), "help lacks {word}");
    }
    assert!(!dir.join("reports").exists(), "list wrote output");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn an_output_folder_that_is_not_a_study_output_is_refused() {
    let dir = fresh_dir("not-output");
    fs::write(dir.join("tiny.toml"), tiny_study("[1]", 10, "")).expect("write");
    let precious = dir.join("precious");
    fs::create_dir_all(&precious).expect("mkdir");
    fs::write(precious.join("notes.txt"), "keep me").expect("write");
    let output = run_in(&dir, &["run", "tiny.toml", "--out", "precious"], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("not a study output"));
    assert_eq!(
        fs::read_to_string(precious.join("notes.txt"))
            .ok()
            .as_deref(),
        Some("keep me")
    );
    let _ = fs::remove_dir_all(&dir);
}
