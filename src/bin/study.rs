//! The `study` command: runs study files and writes reports.
//!
//! Exit status: 0 on success, 2 when the input is at fault (a bad study
//! file, bad arguments, shards that do not belong together), 1 when a run
//! fails for another reason.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use rebar_optimizer::study::analyse::build_for_kind;
use rebar_optimizer::study::manifest::Manifest;
use rebar_optimizer::study::{Progress, RunOptions, Shard, StudyError, load_plan, merge, run};
use rebar_optimizer::study::{suite, suite_report, suite_run};

/// Prints a line on stdout, ignoring a closed pipe (`study list | head`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `eprintln!` that ignores a closed stderr (e.g. `2>&1 | head -1`), so
/// that progress lines never stop a run.
macro_rules! tell {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

const EXAMPLES: &str = "\
Examples:
  study                                   run studies/default.toml into reports/default/
  study run studies/quick.toml            run a study into reports/quick/
  study run studies/full.toml --threads 2 --out /tmp/full
  study run studies/full.toml --shard 3/8 write shard 3 of 8 to reports/full.shard-3-of-8/
  study merge reports/full.shard-* --out reports/full
  study report reports/default            rebuild summary, figures and report.md
  study list studies/full.toml            show the grid and the work it holds
  study validate studies/full.toml        check a study file";

/// Run studies of gradient estimators (REINFORCE, REBAR, ...) against EM on
/// Gaussian mixtures, and write CSV tables, SVG figures and a Markdown report.
#[derive(Parser)]
#[command(name = "study", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run (or resume) a study file.
    #[command(after_help = EXAMPLES)]
    Run(RunArgs),
    /// Merge the output folders of a study's shards into one folder.
    Merge {
        /// The shard output folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// The merged output folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Rebuild summary.csv, figures and report.md of an output folder from
    /// its results.csv and timings.csv, without recomputing.
    Report {
        /// The output folder.
        dir: PathBuf,
    },
    /// Print a study's grid: cell count, example cells, estimated work.
    List {
        /// The study file.
        file: PathBuf,
    },
    /// Check a study file and say what is wrong with it.
    Validate {
        /// The study file.
        file: PathBuf,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// The study file (TOML).
    file: PathBuf,
    /// Output folder [default: reports/<file stem>/, or
    /// reports/<file stem>.shard-I-of-N/ for a shard].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads [default: RAYON_NUM_THREADS, else one per core].
    #[arg(long)]
    threads: Option<usize>,
    /// Run only shard I of N (1 <= I <= N); defaults to the Slurm array
    /// task when SLURM_ARRAY_TASK_ID, _MIN and _COUNT are set.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Discard an interrupted run in the output's staging folder and start
    /// over.
    #[arg(long)]
    fresh: bool,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
}

/// An error with the exit status it calls for.
struct Failure {
    message: String,
    status: u8,
}

impl From<StudyError> for Failure {
    fn from(err: StudyError) -> Self {
        let status = if err.is_usage() { 2 } else { 1 };
        Failure {
            message: err.to_string(),
            status,
        }
    }
}

fn usage(message: String) -> Failure {
    Failure { message, status: 2 }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Run(RunArgs {
        file: PathBuf::from("studies/default.toml"),
        out: None,
        threads: None,
        shard: None,
        fresh: false,
        quiet: false,
    }));
    let result = match command {
        Command::Run(args) => run_command(&args),
        Command::Merge { dirs, out } => merge_command(&dirs, &out),
        Command::Report { dir } => report_command(&dir),
        Command::List { file } => list_command(&file),
        Command::Validate { file } => validate_command(&file),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            tell!("study: error: {}", failure.message);
            ExitCode::from(failure.status)
        }
    }
}

fn parse_shard(text: &str) -> Result<Shard, Failure> {
    let parsed = text
        .split_once('/')
        .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((index, count)) if count >= 1 && (1..=count).contains(&index) => {
            Ok(Shard { index, count })
        }
        _ => Err(usage(format!(
            "--shard {text:?} is not allowed: use I/N with 1 <= I <= N, e.g. 2/8"
        ))),
    }
}

/// The shard from the Slurm array variables, when they are set.
fn slurm_shard() -> Result<Option<Shard>, Failure> {
    let read = |name: &str| std::env::var(name).ok();
    let (id, min, count) = (
        read("SLURM_ARRAY_TASK_ID"),
        read("SLURM_ARRAY_TASK_MIN"),
        read("SLURM_ARRAY_TASK_COUNT"),
    );
    let (Some(id), Some(min), Some(count)) = (&id, &min, &count) else {
        // Some but not all set: a half-configured array would silently
        // run the whole study in every task.
        if id.is_some() || min.is_some() || count.is_some() {
            let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unset)".into());
            return Err(usage(format!(
                "the Slurm array variables must all be set or all unset: \
                 SLURM_ARRAY_TASK_ID={}, SLURM_ARRAY_TASK_MIN={}, SLURM_ARRAY_TASK_COUNT={} \
                 (or pass --shard I/N)",
                shown(&id),
                shown(&min),
                shown(&count)
            )));
        }
        return Ok(None);
    };
    let numbers = (
        id.parse::<usize>(),
        min.parse::<usize>(),
        count.parse::<usize>(),
    );
    match numbers {
        (Ok(id), Ok(min), Ok(count)) if id >= min && id - min < count => Ok(Some(Shard {
            index: id - min + 1,
            count,
        })),
        _ => Err(usage(format!(
            "the Slurm array variables do not give a shard: SLURM_ARRAY_TASK_ID={id}, \
             SLURM_ARRAY_TASK_MIN={min}, SLURM_ARRAY_TASK_COUNT={count}"
        ))),
    }
}

fn default_out(file: &Path, shard: Shard) -> PathBuf {
    let stem = file
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    if shard.count > 1 {
        PathBuf::from("reports").join(format!("{stem}.shard-{}-of-{}", shard.index, shard.count))
    } else {
        PathBuf::from("reports").join(stem)
    }
}

/// The most worker threads `--threads` accepts.
const MAX_THREADS: usize = 1024;

/// The commit of the crate's own checkout (the folder it was built from),
/// whatever the current directory; `None` outside a git checkout.
fn git_commit() -> Option<String> {
    let output = std::process::Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

fn run_command(args: &RunArgs) -> Result<(), Failure> {
    let shard = match &args.shard {
        Some(text) => parse_shard(text)?,
        None => slurm_shard()?.unwrap_or(Shard::WHOLE),
    };
    if let Some(threads) = args.threads.filter(|&t| t == 0 || t > MAX_THREADS) {
        return Err(usage(format!(
            "--threads {threads} is not allowed: use 1 to {MAX_THREADS}"
        )));
    }
    // A suite runs its parts through `run` one after another.
    let is_suite = suite_run::is_suite(&args.file);
    if is_suite && shard.count > 1 {
        return Err(usage(format!(
            "{} is a suite, which runs its parts in one process and cannot be sharded \
             (shard {}); shard one part's study file instead, e.g. \
             `study run studies/full/gmm.toml --shard I/N`, then merge that part",
            args.file.display(),
            shard.label()
        )));
    }
    let plan = match is_suite {
        true => None,
        false => Some(load_plan(&args.file)?),
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&args.file, shard));
    // `--out file/sub`: the folder can never be made; say so as a usage error.
    if let Some(blocker) = out.ancestors().skip(1).find(|a| a.exists() && !a.is_dir()) {
        return Err(usage(format!(
            "--out {}: {} is a file, not a folder",
            out.display(),
            blocker.display()
        )));
    }
    let reporter = Reporter::new(args.quiet);
    let progress = |event: Progress| reporter.event(event);
    let options = RunOptions {
        out,
        shard,
        fresh: args.fresh,
        git_commit: git_commit(),
        progress: &progress,
    };
    let outcome = match args.threads {
        Some(threads) => rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|err| usage(format!("cannot start {threads} threads: {err}")))?
            .install(|| execute(plan.as_deref(), &args.file, &options)),
        None => execute(plan.as_deref(), &args.file, &options),
    }?;
    reporter.finish();
    for name in &outcome.removed_parts {
        // Said even with --quiet: files went away.
        say!(
            "study: removed {} (part {name:?} is no longer in the suite)",
            outcome.out.join(name).display()
        );
    }
    if !args.quiet {
        say!(
            "study: wrote {} ({} cells, {} resumed) in {:.1} s",
            outcome.out.display(),
            outcome.n_cells,
            outcome.n_resumed,
            outcome.wall_seconds
        );
    }
    Ok(())
}

/// Runs a study of any kind, or a suite when `plan` is `None`.
fn execute(
    plan: Option<&dyn rebar_optimizer::study::plan::Plan>,
    file: &Path,
    options: &RunOptions<'_>,
) -> Result<rebar_optimizer::study::RunOutcome, StudyError> {
    match plan {
        Some(plan) => run(plan, options),
        None => suite_run::run_suite_file(file, options),
    }
}

/// Progress on stderr: a bar on a terminal, plain lines otherwise, nothing
/// when quiet.
struct Reporter {
    bar: Option<ProgressBar>,
    plain: bool,
    started: Instant,
    last_printed: AtomicUsize,
}

impl Reporter {
    fn new(quiet: bool) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let bar = ProgressBar::new(0);
            let style = ProgressStyle::with_template(
                "{bar:40} {pos}/{len} cells  {per_sec}  eta {eta}  {msg}",
            );
            if let Ok(style) = style {
                bar.set_style(style);
            }
            bar
        });
        Self {
            bar,
            plain: !quiet && !terminal,
            started: Instant::now(),
            last_printed: AtomicUsize::new(0),
        }
    }

    fn event(&self, event: Progress) {
        if let Some(bar) = &self.bar {
            match event {
                Progress::Started { total, done } => {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                    bar.reset_eta();
                }
                Progress::CellDone { .. } => bar.inc(1),
                Progress::Finishing => bar.set_message("writing tables, figures, report"),
            }
        } else if self.plain {
            self.plain_line(event);
        }
    }

    fn plain_line(&self, event: Progress) {
        match event {
            Progress::Started { total, done } => {
                tell!("study: {total} cells, {done} already done");
            }
            Progress::CellDone { done, total } => {
                let step = (total / 20).max(1);
                let last = self.last_printed.load(Ordering::Relaxed);
                if (done == total || done >= last + step)
                    && self
                        .last_printed
                        .compare_exchange(last, done, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    let seconds = self.started.elapsed().as_secs_f64();
                    tell!("study: {done}/{total} cells done ({seconds:.1} s)");
                }
            }
            Progress::Finishing => tell!("study: writing tables, figures and report"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn merge_command(dirs: &[PathBuf], out: &Path) -> Result<(), Failure> {
    let manifest = merge(dirs, out)?;
    say!(
        "study: merged {} shard folders ({} cells) into {}",
        dirs.len(),
        manifest.n_cells,
        out.display()
    );
    Ok(())
}

fn report_command(dir: &Path) -> Result<(), Failure> {
    if let Some(record) = suite::read_record(dir) {
        for part in &record.parts {
            rebuild_study(&dir.join(&part.name))?;
        }
        suite_report::build_suite_report(dir)?;
        say!(
            "study: rebuilt every part and the suite report of {}",
            dir.display()
        );
        return Ok(());
    }
    rebuild_study(dir)?;
    say!(
        "study: rebuilt the summary, figures and report of {}",
        dir.display()
    );
    Ok(())
}

/// Rebuilds the derived files of one (non-suite) study folder.
fn rebuild_study(dir: &Path) -> Result<(), Failure> {
    let manifest = Manifest::read(dir).map_err(usage)?;
    if manifest.shard != "1/1" && manifest.shard != "merged" {
        return Err(usage(format!(
            "{} holds shard {} only; merge the shards first (study merge ... --out DIR)",
            dir.display(),
            manifest.shard
        )));
    }
    let (name, epsilon) = (&manifest.study_name, manifest.epsilon);
    build_for_kind(&manifest.kind, dir, name, epsilon, manifest.n_cells)?;
    Ok(())
}

fn list_command(file: &Path) -> Result<(), Failure> {
    if suite_run::is_suite(file) {
        let n_cells = suite_run::validate_suite_file(file)?;
        say!("{}: suite, {n_cells} cells in its parts", file.display());
        return Ok(());
    }
    let plan = load_plan(file)?;
    let n_cells = plan.n_cells();
    say!("{}: {} study, {n_cells} cells", file.display(), plan.kind());
    let shown = 8.min(n_cells);
    say!("first {shown} cells in grid order:");
    for index in 0..shown {
        say!("  {index:>6}  {}", plan.cell_label(index));
    }
    say!("work: {}", plan.work_summary());
    Ok(())
}

fn validate_command(file: &Path) -> Result<(), Failure> {
    if suite_run::is_suite(file) {
        let n_cells = suite_run::validate_suite_file(file)?;
        say!(
            "{}: valid suite ({n_cells} cells in its parts)",
            file.display()
        );
        return Ok(());
    }
    let plan = load_plan(file)?;
    say!(
        "{}: valid {} study ({} cells)",
        file.display(),
        plan.kind(),
        plan.n_cells()
    );
    Ok(())
}
