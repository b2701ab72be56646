//! Shards of a study, run separately (by flag or by the Slurm array
//! variables) and merged, give tables byte-identical to one unsharded run;
//! merges of shards that do not belong together are refused.

mod study_support;

use std::fs;

use study_support::{fresh_dir, run_in, stderr_of, tiny_study};

#[test]
fn merged_shards_equal_one_run() {
    let dir = fresh_dir("shards");
    fs::write(dir.join("tiny.toml"), tiny_study("[1, 2, 3]", 30, "")).expect("write");
    let whole = run_in(
        &dir,
        &["run", "tiny.toml", "--out", "whole", "--quiet"],
        &[],
    );
    assert!(whole.status.success(), "{}", stderr_of(&whole));
    let first = run_in(
        &dir,
        &["run", "tiny.toml", "--shard", "1/2", "--quiet"],
        &[],
    );
    assert!(first.status.success(), "{}", stderr_of(&first));
    // Shard 2 from a Slurm array numbered from 4: task 5 of 2 tasks.
    let slurm = [
        ("SLURM_ARRAY_TASK_ID", "5"),
        ("SLURM_ARRAY_TASK_MIN", "4"),
        ("SLURM_ARRAY_TASK_COUNT", "2"),
    ];
    let second = run_in(&dir, &["run", "tiny.toml", "--quiet"], &slurm);
    assert!(second.status.success(), "{}", stderr_of(&second));
    let shard_dirs = ["reports/tiny.shard-1-of-2", "reports/tiny.shard-2-of-2"];
    let sizes: Vec<usize> = shard_dirs
        .iter()
        .map(|d| {
            fs::read_to_string(dir.join(d).join("results.csv"))
                .expect("read")
                .lines()
                .count()
        })
        .collect();
    assert!(sizes.iter().all(|&n| n > 1), "a shard is empty: {sizes:?}");

    let mut args = vec!["merge"];
    args.extend(shard_dirs);
    args.extend(["--out", "merged"]);
    let merged = run_in(&dir, &args, &[]);
    assert!(merged.status.success(), "{}", stderr_of(&merged));
    for name in [
        "results.csv",
        "timings.csv",
        "summary.csv",
        "comparisons.csv",
        "fits.csv",
        "histograms.csv",
        "figures/density-eruptions-k2.svg",
    ] {
        let a = fs::read(dir.join("whole").join(name)).expect("read");
        let b = fs::read(dir.join("merged").join(name)).expect("read");
        if name == "timings.csv" {
            assert_eq!(
                a.iter().filter(|&&c| c == b'\n').count(),
                b.iter().filter(|&&c| c == b'\n').count()
            );
        } else {
            assert!(
                a == b,
                "{name} of the merged shards differs from the unsharded run"
            );
        }
    }
    assert!(dir.join("merged").join("report.md").is_file());

    // The merged manifest describes the shards' runs, not the merge.
    let manifest = |d: &str| -> serde_json::Value {
        let text = fs::read_to_string(dir.join(d).join("manifest.json")).expect("manifest");
        serde_json::from_str(&text).expect("manifest json")
    };
    let merged_manifest = manifest("merged");
    let shard_manifests: Vec<serde_json::Value> = shard_dirs.iter().map(|d| manifest(d)).collect();
    let runs = merged_manifest["shards"].as_array().expect("shards list");
    assert_eq!(runs.len(), 2);
    for (run, shard) in runs.iter().zip(&shard_manifests) {
        assert_eq!(run["shard"], shard["shard"]);
        assert_eq!(run["wall_seconds"], shard["wall_seconds"]);
    }
    let summed: f64 = shard_manifests
        .iter()
        .map(|m| m["wall_seconds"].as_f64().expect("seconds"))
        .sum();
    let merged_wall = merged_manifest["wall_seconds"].as_f64().expect("seconds");
    assert!((merged_wall - summed).abs() <= 1e-9 * summed.max(1.0));
    assert!(manifest("whole").get("shards").is_none());

    // Merging into one of the shards would destroy an input: refused, and
    // the shard keeps its results.
    let before = fs::read(dir.join(shard_dirs[0]).join("results.csv")).expect("read");
    let mut args = vec!["merge"];
    args.extend(shard_dirs);
    args.extend(["--out", shard_dirs[0]]);
    let onto_input = run_in(&dir, &args, &[]);
    assert_eq!(
        onto_input.status.code(),
        Some(2),
        "{}",
        stderr_of(&onto_input)
    );
    assert!(stderr_of(&onto_input).contains("is one of the shards being merged"));
    let after = fs::read(dir.join(shard_dirs[0]).join("results.csv")).expect("read");
    assert!(before == after, "the shard's results changed");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn merges_of_shards_that_do_not_belong_together_are_refused() {
    let dir = fresh_dir("bad-merge");
    fs::write(dir.join("a.toml"), tiny_study("[1, 2]", 20, "")).expect("write");
    fs::write(dir.join("b.toml"), tiny_study("[1, 2, 3]", 20, "")).expect("write");
    for (file, shard) in [("a.toml", "1/2"), ("a.toml", "2/2"), ("b.toml", "2/2")] {
        let output = run_in(&dir, &["run", file, "--shard", shard, "--quiet"], &[]);
        assert!(output.status.success(), "{}", stderr_of(&output));
    }
    let cases: [(&[&str], &str); 3] = [
        (&["reports/a.shard-1-of-2"], "missing"),
        (
            &[
                "reports/a.shard-1-of-2",
                "reports/a.shard-1-of-2",
                "reports/a.shard-2-of-2",
            ],
            "appears in both",
        ),
        (
            &["reports/a.shard-1-of-2", "reports/b.shard-2-of-2"],
            "different study files",
        ),
    ];
    for (dirs, message) in cases {
        let mut args = vec!["merge"];
        args.extend(dirs);
        args.extend(["--out", "merged"]);
        let output = run_in(&dir, &args, &[]);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{dirs:?}: {}",
            stderr_of(&output)
        );
        assert!(
            stderr_of(&output).contains(message),
            "{dirs:?}: {}",
            stderr_of(&output)
        );
        assert!(!dir.join("merged").exists() && !dir.join(".merged.partial").exists());
    }
    // A shard without fits.csv among shards with it is refused too.
    fs::remove_file(dir.join("reports/a.shard-2-of-2/fits.csv")).expect("remove");
    let args = [
        "merge",
        "reports/a.shard-1-of-2",
        "reports/a.shard-2-of-2",
        "--out",
        "merged",
    ];
    let output = run_in(&dir, &args, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("no fits.csv"),
        "{}",
        stderr_of(&output)
    );
    assert!(!dir.join("merged").exists());
    // A report whose density tables are half missing changes nothing.
    let output = run_in(&dir, &["run", "a.toml", "--out", "whole", "--quiet"], &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let whole = dir.join("whole");
    fs::remove_file(whole.join("histograms.csv")).expect("remove");
    let figures_before = fs::read_dir(whole.join("figures")).map_or(0, |d| d.count());
    assert!(figures_before > 0);
    let output = run_in(&dir, &["report", "whole"], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("histograms.csv is missing"));
    let figures_after = fs::read_dir(whole.join("figures")).map_or(0, |d| d.count());
    assert_eq!(figures_before, figures_after);
    // A half-set Slurm array would run the whole study in every task.
    let partial = [("SLURM_ARRAY_TASK_ID", "2")];
    let output = run_in(
        &dir,
        &["run", "a.toml", "--out", "slurm", "--quiet"],
        &partial,
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("SLURM_ARRAY_TASK_COUNT=(unset)"),
        "{}",
        stderr_of(&output)
    );
    assert!(!dir.join("slurm").exists());
    // A suite runs its parts in one process: sharding it is refused.
    fs::write(
        dir.join("suite.toml"),
        "kind = \"suite\"\n\n[[parts]]\nname = \"a\"\nfile = \"a.toml\"\n",
    )
    .expect("write");
    let output = run_in(&dir, &["run", "suite.toml", "--shard", "1/2"], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("cannot be sharded"));
    let _ = fs::remove_dir_all(&dir);
}
