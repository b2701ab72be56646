//! Mixture ELBO problems of the variance study: REINFORCE and REBAR are
//! unbiased against the exact per-point gradient (Bonferroni bound over
//! all points' logits, maths.md §7) at K = 2 (binary) and K = 3
//! (categorical), at the shared start and at EM's optimum; a tiny variance
//! study with mixture problems runs end to end and rejects bad settings.

mod study_support;

use std::fs;
use std::path::Path;

use rebar_optimizer::data::read_columns;
use rebar_optimizer::estimator::{EstimatorKind, Variables};
use rebar_optimizer::rng::stream_from_seed;
use rebar_optimizer::study::variance::gmm_problem::{MixtureAt, MixtureSpec};
use rebar_optimizer::variance::{ALPHA, Draws, bonferroni_z};

use study_support::{fresh_dir, root, run_in, stderr_of};

fn faithful_spec(n_components: usize, at: MixtureAt) -> MixtureSpec {
    let path = root().join("data").join("faithful.csv");
    let data = read_columns(&path, &["eruptions".to_string()]).expect("faithful data");
    MixtureSpec {
        data_name: "faithful-eruptions".to_string(),
        points: data.points,
        n_components,
        at,
        uniform_mix: 0.3,
    }
}

fn check_unbiased(name: &str, n_components: usize, at: MixtureAt) {
    let spec = faithful_spec(n_components, at);
    let problem = spec.build(7).expect("problem");
    let expected = if n_components == 2 {
        Variables::Binary
    } else {
        Variables::Categorical { n_classes: 3 }
    };
    assert_eq!(problem.variables, expected);
    let n_coords = problem.phi.len();
    assert_eq!(problem.exact_gradient.len(), n_coords);
    let gradient_norm: f64 = problem.exact_gradient.iter().map(|g| g * g).sum();
    assert!(
        gradient_norm > 1e-6,
        "exact gradient is ~0: {gradient_norm}"
    );
    let kind = EstimatorKind::from_name(name, 0.5, 1.0).expect("estimator");
    let n_draws = 1500;
    let stats = problem
        .measure(&kind, 1, fixed(n_draws), &mut stream_from_seed(11))
        .expect("measure");
    let bound = bonferroni_z(ALPHA, n_coords);
    assert!(
        stats.passes_bias_check(ALPHA),
        "{name} K={n_components} at {}: max z {} over {n_coords} coordinates > bound {bound}",
        at.name(),
        stats.max_bias_z
    );
    assert!(stats.summed_variance > 0.0 && stats.summed_variance.is_finite());
}

#[test]
fn reinforce_is_unbiased_on_mixture_problems() {
    check_unbiased("reinforce", 2, MixtureAt::Init);
    check_unbiased("reinforce", 2, MixtureAt::Em);
    check_unbiased("reinforce", 3, MixtureAt::Init);
    check_unbiased("reinforce", 3, MixtureAt::Em);
}

#[test]
fn rebar_is_unbiased_on_mixture_problems() {
    check_unbiased("rebar", 2, MixtureAt::Init);
    check_unbiased("rebar", 2, MixtureAt::Em);
    check_unbiased("rebar", 3, MixtureAt::Init);
    check_unbiased("rebar", 3, MixtureAt::Em);
}

#[test]
fn a_biased_estimator_is_caught_on_a_mixture_problem() {
    // The check has power: the Gumbel-softmax gradient misses the exact
    // one at a warm temperature.
    let problem = faithful_spec(2, MixtureAt::Em).build(7).expect("problem");
    let kind = EstimatorKind::from_name("gumbel", 1.0, 1.0).expect("estimator");
    let stats = problem
        .measure(&kind, 1, fixed(1500), &mut stream_from_seed(11))
        .expect("measure");
    assert!(!stats.passes_bias_check(ALPHA), "z {}", stats.max_bias_z);
}

/// A single sample of `n_draws` estimates, never extended.
fn fixed(n_draws: usize) -> Draws<'static> {
    Draws {
        n_draws,
        confirm_draws: &[],
    }
}

fn mixture_study(extra: &str) -> String {
    let data = root().join("data").join("faithful.csv");
    format!(
        "kind = \"variance\"\nmaster_seed = 3\nseeds = [1, 2]\n\
         estimators = [\"reinforce\", \"arm\", \"rebar\"]\ntemperatures = [0.5]\n\
         n_draws = 100\n\n\
         [[problems]]\nkind = \"mixture\"\nfile = {data:?}\ncolumns = [\"eruptions\"]\n\
         n_components = 2\nat = \"init\"\n\n\
         [[problems]]\nkind = \"mixture\"\nname = \"k3\"\nfile = {data:?}\n\
         columns = [\"eruptions\"]\nn_components = 3\nat = \"em\"\n{extra}"
    )
}

#[test]
fn a_tiny_mixture_variance_study_runs_end_to_end() {
    let dir = fresh_dir("variance-mixture");
    fs::write(dir.join("mix.toml"), mixture_study("")).expect("write");
    let output = run_in(
        &dir,
        &["run", "mix.toml", "--out", "out", "--quiet"],
        &[("RAYON_NUM_THREADS", "2")],
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    let out = dir.join("out");
    let results = fs::read_to_string(out.join("results.csv")).expect("results");
    // K = 2: REINFORCE, ARM, REBAR; K = 3: ARM is binary only. 2 seeds.
    assert_eq!(results.lines().count(), 1 + (3 + 2) * 2);
    assert!(results.contains(",mixture-faithful-eruptions-k2-init,binary,272,"));
    assert!(results.contains(",k3,categorical,816,"));
    assert!(!results.contains(",k3,categorical,816,arm,"));
    let report = fs::read_to_string(out.join("report.md")).expect("report");
    assert!(report.contains("## k3 (categorical, 816 coordinates"));
    assert!(check_dir_has_figures(&out));
}

fn check_dir_has_figures(out: &Path) -> bool {
    study_support::check_figures(out) >= 2
}

#[test]
fn a_bad_mixture_problem_is_refused_naming_the_field() {
    let dir = fresh_dir("variance-mixture-bad");
    let text = mixture_study("uniform_mix = 1.5\n");
    fs::write(dir.join("bad.toml"), text).expect("write");
    let output = run_in(&dir, &["run", "bad.toml", "--out", "out"], &[]);
    assert!(!output.status.success());
    let message = stderr_of(&output);
    assert!(
        message.contains("problems[1].uniform_mix") && message.contains("1.5"),
        "{message}"
    );
    let text = mixture_study("").replace("n_components = 3", "n_components = 1");
    fs::write(dir.join("bad.toml"), text).expect("write");
    let output = run_in(&dir, &["run", "bad.toml", "--out", "out"], &[]);
    assert!(!output.status.success());
    assert!(stderr_of(&output).contains("problems[1].n_components"));
}
