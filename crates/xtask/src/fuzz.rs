//! `cargo xtask fuzz [--seconds N] [target]`: runs the cargo-fuzz targets in fuzz/ on the
//! nightly toolchain, each for a bounded time, reports how many inputs each one executed and
//! fails when any of them crashed.
//!
//! The committed seeds in fuzz/corpus/<target>/ are only read: libFuzzer writes what it learns
//! to a scratch corpus under the target directory, so runs build on each other without
//! dirtying the work tree. Crashing inputs land in fuzz/artifacts/<target>/ (ignored by git);
//! each one becomes a regression test in the crate that owns the code.
//!
//! Targets are built without a sanitizer: the fuzzed crates forbid `unsafe`, so the bugs to
//! find are panics, failed assertions, hangs and runaway memory, which libFuzzer catches by
//! itself; AddressSanitizer would cost a second, slower build and half the executions.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::cmd::Cmd;
use crate::paths;
use crate::tools::CargoTool;

/// Every target in fuzz/Cargo.toml, in the order they run.
pub const TARGETS: &[&str] = &["ws_frame", "rest_bodies", "markup", "access_token", "vault_open"];
pub const DEFAULT_SECONDS: u64 = 60;
/// The short pass `cargo xtask test` runs for every target.
pub const CI_SECONDS: u64 = 20;
/// An input that runs longer than this is reported as a hang (a crash): the parsers promise
/// linear time.
const INPUT_TIMEOUT_SECS: u64 = 10;
const FUZZ_DIR: &str = "fuzz";
/// Arguments shared by `fuzz build` and `fuzz run`: they must agree, or `run` rebuilds.
const BUILD_ARGS: &[&str] = &["--sanitizer", "none"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub seconds: u64,
    /// One target, or all of them.
    pub target: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self { seconds: DEFAULT_SECONDS, target: None }
    }
}

impl Options {
    /// Parses the arguments after `fuzz`: `[--seconds N] [target]`.
    pub fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if let Some(value) = arg.strip_prefix("--seconds=") {
                options.seconds = parse_seconds(Some(value))?;
            } else if arg == "--seconds" {
                options.seconds = parse_seconds(args.next().map(String::as_str))?;
            } else if arg.starts_with('-') {
                bail!("unknown option for fuzz: {arg}");
            } else if options.target.is_some() {
                bail!("fuzz takes at most one target, got another: {arg}");
            } else if TARGETS.contains(&arg.as_str()) {
                options.target = Some(arg.clone());
            } else {
                bail!("unknown fuzz target {arg}; the targets are {}", TARGETS.join(", "));
            }
        }
        Ok(options)
    }

    fn targets(&self) -> Vec<&str> {
        match &self.target {
            Some(target) => vec![target.as_str()],
            None => TARGETS.to_vec(),
        }
    }
}

fn parse_seconds(value: Option<&str>) -> Result<u64> {
    let value = value.context("--seconds needs a number of seconds")?;
    match value.parse::<u64>() {
        Ok(seconds) if seconds > 0 => Ok(seconds),
        _ => bail!("--seconds: not a positive number of seconds: {value}"),
    }
}

/// What one target's run showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub target: String,
    pub executions: Option<u64>,
    pub seconds: u64,
    /// Why the run failed (a crash, a hang, a build error), if it did.
    pub failure: Option<String>,
    /// The input libFuzzer saved for a crash.
    pub artifact: Option<PathBuf>,
}

/// The number of inputs libFuzzer executed, from its closing lines: the
/// `stat::number_of_executed_units:` line of `-print_final_stats=1`, else the last
/// `#N DONE` / `#N pulse` status line, else `Done N runs in S second(s)`.
pub fn executions(lines: &[String]) -> Option<u64> {
    let number = |text: &str| text.split_whitespace().next().and_then(|n| n.parse::<u64>().ok());
    if let Some(n) = lines.iter().rev().find_map(|l| l.trim().strip_prefix("stat::number_of_executed_units:")) {
        return number(n);
    }
    let status = lines.iter().rev().find_map(|line| {
        let rest = line.strip_prefix('#')?;
        let (n, kind) = rest.split_once(char::is_whitespace)?;
        let kind = kind.split_whitespace().next()?;
        matches!(kind, "DONE" | "pulse" | "NEW" | "REDUCE" | "INITED").then(|| n.parse::<u64>().ok()).flatten()
    });
    status.or_else(|| lines.iter().rev().find_map(|line| line.trim().strip_prefix("Done ").and_then(number)))
}

/// Where libFuzzer wrote the input that crashed or hung the target.
pub fn artifact(lines: &[String]) -> Option<PathBuf> {
    lines.iter().find_map(|line| {
        let path = line.split_once("Test unit written to ")?.1.trim();
        (!path.is_empty()).then(|| PathBuf::from(path))
    })
}

/// libFuzzer's lines for every input that adds coverage (and the new functions it reached):
/// hundreds a minute, noise in a CI log.
fn is_progress(line: &str) -> bool {
    line.trim_start().starts_with("NEW_FUNC")
        || line
            .strip_prefix('#')
            .and_then(|rest| rest.split_whitespace().nth(1))
            .is_some_and(|kind| kind == "NEW" || kind == "REDUCE")
}

/// The installed nightly, or an error saying how to get one.
fn nightly() -> Result<String> {
    Cmd::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .probe()
        .context("cargo-fuzz needs the nightly toolchain: `rustup toolchain install nightly`")
}

fn run_target(target: &str, seconds: u64) -> Result<Outcome> {
    let root = paths::root();
    let seeds = root.join(FUZZ_DIR).join("corpus").join(target);
    let scratch = paths::target_dir().join("fuzz-corpus").join(target);
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let dictionary = root.join(FUZZ_DIR).join("dict").join(format!("{target}.dict"));

    // The first corpus directory is the one libFuzzer adds to; the seeds come second.
    let mut cmd = Cmd::new("cargo")
        .args(["+nightly", "fuzz", "run"])
        .args(BUILD_ARGS)
        .arg(target)
        .arg(&scratch)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECS}"))
        .arg("-print_final_stats=1");
    if dictionary.is_file() {
        cmd = cmd.arg(format!("-dict={}", dictionary.display()));
    }
    let (status, lines) = cmd.run_tee_stderr(|line| !is_progress(line))?;
    let executions = executions(&lines);
    let artifact = artifact(&lines).map(|path| if path.is_absolute() { path } else { root.join(path) });
    let failure = if status.success() {
        None
    } else if artifact.is_some() {
        Some(format!("crashed ({status})"))
    } else {
        Some(format!("`cargo fuzz run {target}` failed ({status}) without a crash artifact"))
    };
    Ok(Outcome { target: target.to_owned(), executions, seconds, failure, artifact })
}

/// Builds and runs the chosen targets; prints one line per target. Errors only when the
/// fuzzers could not be run at all; crashes are in the outcomes.
pub fn run_all(options: &Options) -> Result<Vec<Outcome>> {
    println!("fuzz: {} ({} s per target)", nightly()?, options.seconds);
    let status = CargoTool::cargo_fuzz().ensure()?;
    println!("fuzz: cargo-fuzz {status}");
    let started = Instant::now();
    // One build for every target shares the compiled dependencies.
    Cmd::new("cargo").args(["+nightly", "fuzz", "build"]).args(BUILD_ARGS).run()?;
    println!("fuzz: built in {:.1} s", started.elapsed().as_secs_f64());

    let mut outcomes = Vec::new();
    for target in options.targets() {
        let outcome = run_target(target, options.seconds).unwrap_or_else(|error| Outcome {
            target: target.to_owned(),
            executions: None,
            seconds: options.seconds,
            failure: Some(format!("{error:#}")),
            artifact: None,
        });
        outcomes.push(outcome);
    }
    print_outcomes(&outcomes);
    Ok(outcomes)
}

fn print_outcomes(outcomes: &[Outcome]) {
    println!();
    println!("fuzz results:");
    for outcome in outcomes {
        let executions = outcome.executions.map_or_else(|| "?".to_owned(), |n| n.to_string());
        match (&outcome.failure, outcome.executions) {
            (None, Some(n)) => println!(
                "  {:<14} {executions:>12} executions in {:>4} s ({:>7}/s)  no crash",
                outcome.target,
                outcome.seconds,
                n / outcome.seconds.max(1)
            ),
            (None, None) => println!("  {:<14} no crash, but libFuzzer printed no count of executions", outcome.target),
            // A failed run stopped early: a rate over the planned time would mislead.
            (Some(failure), _) => {
                println!("  {:<14} {executions:>12} executions, then {failure}", outcome.target)
            }
        }
        if let Some(artifact) = &outcome.artifact {
            println!("  {:<14} input: {}", "", artifact.display());
            println!(
                "  {:<14} replay: cargo +nightly fuzz run {} {} {}; then add a regression test that replays it",
                "",
                BUILD_ARGS.join(" "),
                outcome.target,
                relative(artifact)
            );
        }
    }
}

fn relative(path: &Path) -> String {
    path.strip_prefix(paths::root()).unwrap_or(path).display().to_string()
}

/// (targets without a crash, targets that crashed or did not run), for `cargo xtask test`.
pub fn tally(outcomes: &[Outcome]) -> (u64, u64) {
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count() as u64;
    (outcomes.len() as u64 - failed, failed)
}

/// `cargo xtask fuzz`: fails when any target failed.
pub fn run(options: &Options) -> Result<()> {
    let outcomes = run_all(options)?;
    let failed: Vec<&str> = outcomes.iter().filter(|o| o.failure.is_some()).map(|o| o.target.as_str()).collect();
    if failed.is_empty() { Ok(()) } else { bail!("fuzz targets failed: {}", failed.join(", ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_options() {
        assert_eq!(Options::parse(&[]).unwrap(), Options { seconds: 60, target: None });
        assert_eq!(
            Options::parse(&args(&["--seconds", "5", "markup"])).unwrap(),
            Options { seconds: 5, target: Some("markup".into()) }
        );
        assert_eq!(
            Options::parse(&args(&["vault_open", "--seconds=7"])).unwrap(),
            Options { seconds: 7, target: Some("vault_open".into()) }
        );
        for bad in
            [&["--seconds"][..], &["--seconds", "0"], &["--seconds=x"], &["nope"], &["markup", "ws_frame"], &["-v"]]
        {
            assert!(Options::parse(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_targets_are_the_ones_in_fuzz_cargo_toml() {
        let manifest = std::fs::read_to_string(paths::root().join("fuzz/Cargo.toml")).unwrap();
        let bins: Vec<&str> = manifest
            .lines()
            .filter_map(|line| line.trim().strip_prefix("name = \""))
            .filter_map(|rest| rest.strip_suffix('"'))
            .filter(|name| *name != "palisade-fuzz")
            .collect();
        assert_eq!(bins, TARGETS);
        for target in TARGETS {
            let seeds = paths::root().join("fuzz/corpus").join(target);
            let count = std::fs::read_dir(&seeds).unwrap().filter_map(Result::ok).count();
            assert!(count > 0, "{target} has no seed corpus in {}", seeds.display());
        }
    }

    #[test]
    fn reads_executions_from_libfuzzer_output() {
        let done = lines(
            "INFO: Seed: 1\n#2\tINITED cov: 10 ft: 11 corp: 1/1b exec/s: 0 rss: 30Mb\n\
             #4096\tpulse  cov: 10 ft: 11 corp: 1/1b exec/s: 2048 rss: 30Mb\n\
             #123456\tDONE   cov: 300 ft: 900 corp: 80/2Kb lim: 4096 exec/s: 6172 rss: 48Mb\n\
             Done 123456 runs in 20 second(s)\nstat::number_of_executed_units: 123457\nstat::average_exec_per_sec:     6172",
        );
        assert_eq!(executions(&done), Some(123_457));
        assert_eq!(executions(&done[..4]), Some(123_456));
        assert_eq!(executions(&lines("Done 99 runs in 1 second(s)")), Some(99));
        assert_eq!(
            executions(&lines("#77\tNEW    cov: 1 ft: 1 corp: 1/1b\n==1== ERROR: libFuzzer: deadly signal")),
            Some(77)
        );
        assert_eq!(executions(&lines("error: could not compile")), None);
    }

    #[test]
    fn finds_the_crash_artifact() {
        let crash = lines(
            "thread '<unnamed>' panicked at fuzz_targets/markup.rs:30:5\n==12== ERROR: libFuzzer: deadly signal\n\
             MS: 1 ChangeByte-; base unit: 0000\n\
             artifact_prefix='/work/main/fuzz/artifacts/markup/'; Test unit written to /work/main/fuzz/artifacts/markup/crash-abc\n",
        );
        assert_eq!(artifact(&crash), Some(PathBuf::from("/work/main/fuzz/artifacts/markup/crash-abc")));
        assert_eq!(artifact(&lines("Done 1 runs in 1 second(s)")), None);
    }

    #[test]
    fn progress_lines_are_hidden_and_the_rest_shown() {
        assert!(is_progress("#123\tNEW    cov: 1 ft: 2"));
        assert!(is_progress("#9\tREDUCE cov: 1 ft: 2"));
        assert!(is_progress("\tNEW_FUNC[1/2]: 0x5558f26e1e81"));
        assert!(!is_progress("#123456\tDONE   cov: 300"));
        assert!(!is_progress("#2\tINITED cov: 10"));
        assert!(!is_progress("==1== ERROR: libFuzzer: deadly signal"));
    }

    #[test]
    fn tallies_targets() {
        let outcome = |failure: Option<&str>| Outcome {
            target: "markup".into(),
            executions: Some(1),
            seconds: 1,
            failure: failure.map(str::to_owned),
            artifact: None,
        };
        assert_eq!(tally(&[outcome(None), outcome(Some("crashed")), outcome(None)]), (2, 1));
        assert_eq!(tally(&[]), (0, 0));
    }
}
