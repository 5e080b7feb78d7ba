//! `cargo xtask test`: everything CI checks, in order, going on after a failure so the report
//! is complete (cargo test runs with --no-fail-fast for the same reason). Cargo test steps count
//! their tests (from the `test result:` lines); every other step counts as one check. The last
//! line printed is `N passed, N failed`.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cmd::{Cmd, which};
use crate::setup;
use crate::{asvs, deny, fuzz, sbom, schemathesis, sizes, widget_build};

/// Passed and failed tests announced by one `test result:` line of libtest, e.g.
/// `test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; ...`.
pub fn parse_test_result(line: &str) -> Option<(u64, u64)> {
    let rest = line.trim().strip_prefix("test result:")?;
    let (mut passed, mut failed) = (None, None);
    for part in rest.split([';', '.']) {
        let mut words = part.split_whitespace().rev();
        match (words.next(), words.next()) {
            (Some("passed"), Some(n)) => passed = n.parse().ok(),
            (Some("failed"), Some(n)) => failed = n.parse().ok(),
            _ => {}
        }
    }
    Some((passed?, failed?))
}

/// Sums every `test result:` line: (passed, failed, number of result lines).
pub fn tally(lines: &[String]) -> (u64, u64, usize) {
    lines
        .iter()
        .filter_map(|line| parse_test_result(line))
        .fold((0, 0, 0), |(p, f, n), (passed, failed)| (p + passed, f + failed, n + 1))
}

#[derive(Debug)]
struct StepRecord {
    name: &'static str,
    ok: bool,
    passed: u64,
    failed: u64,
    duration: Duration,
}

#[derive(Debug, Default)]
struct Report {
    steps: Vec<StepRecord>,
}

impl Report {
    fn start(name: &str) -> Instant {
        println!();
        println!("==> {name}");
        Instant::now()
    }

    fn finish(&mut self, name: &'static str, started: Instant, passed: u64, failed: u64) {
        let duration = started.elapsed();
        let ok = failed == 0;
        println!("<== {name}: {} in {:.1} s", if ok { "ok" } else { "FAILED" }, duration.as_secs_f64());
        self.steps.push(StepRecord { name, ok, passed, failed, duration });
    }

    /// A step that is one check.
    fn check<T>(&mut self, name: &'static str, step: impl FnOnce() -> Result<T>) -> Option<T> {
        let started = Self::start(name);
        let result = step();
        if let Err(error) = &result {
            println!("error: {error:#}");
        }
        let ok = result.is_ok();
        self.finish(name, started, u64::from(ok), u64::from(!ok));
        result.ok()
    }

    /// A step that is several checks: it reports how many passed and failed; an error counts
    /// as one failed check.
    fn counted(&mut self, name: &'static str, step: impl FnOnce() -> Result<(u64, u64)>) {
        let started = Self::start(name);
        let (passed, failed) = step().unwrap_or_else(|error| {
            println!("error: {error:#}");
            (0, 1)
        });
        self.finish(name, started, passed, failed);
    }

    /// A check that failed without running, with the reason.
    fn skipped(&mut self, name: &'static str, reason: &str) {
        let started = Self::start(name);
        println!("error: not run: {reason}");
        self.finish(name, started, 0, 1);
    }

    /// A cargo test run: its tests are counted; a failure without failed tests (a build
    /// error, a crashed test binary) counts as one failed check.
    fn cargo_test(&mut self, name: &'static str, cmd: Cmd) {
        let started = Self::start(name);
        let (passed, failed) = match cmd.run_tee() {
            Ok((status, lines)) => {
                let (passed, failed, results) = tally(&lines);
                if status.success() && results == 0 {
                    println!("note: {name} ran no tests");
                }
                if !status.success() && failed == 0 {
                    println!("error: cargo test failed ({status}) without a failed test");
                    (passed, 1)
                } else {
                    (passed, failed)
                }
            }
            Err(error) => {
                println!("error: {error:#}");
                (0, 1)
            }
        };
        self.finish(name, started, passed, failed);
    }

    fn totals(&self) -> (u64, u64) {
        self.steps.iter().fold((0, 0), |(p, f), s| (p + s.passed, f + s.failed))
    }

    fn print_summary(&self) {
        println!();
        println!("summary:");
        for step in &self.steps {
            println!(
                "  {:<6} {:<34} {:>8.1} s  {:>5} passed, {} failed",
                if step.ok { "ok" } else { "FAIL" },
                step.name,
                step.duration.as_secs_f64(),
                step.passed,
                step.failed
            );
        }
        let total: Duration = self.steps.iter().map(|s| s.duration).sum();
        println!("  total time {:.1} s", total.as_secs_f64());
    }
}

/// A hint when PostgreSQL does not answer where the tests expect it.
fn check_postgres() {
    let default_url = "postgres://postgres@127.0.0.1:5432";
    let url = std::env::var("PALISADE_TEST_POSTGRES_URL").unwrap_or_else(|_| default_url.into());
    if url != default_url {
        return;
    }
    let addr = SocketAddr::from(([127, 0, 0, 1], 5432));
    if TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err() {
        println!(
            "warning: nothing listens on 127.0.0.1:5432; the PostgreSQL tests need a server there \
             (user postgres, trust auth) or PALISADE_TEST_POSTGRES_URL"
        );
    }
}

fn tool_or_default(name: &str, default: &str) -> PathBuf {
    which(name).unwrap_or_else(|| PathBuf::from(default))
}

/// Every test of the workspace, the e2e suite included, against one database backend.
fn workspace_tests(dist: &Path, database: &str) -> Cmd {
    Cmd::new("cargo")
        .args(["test", "--no-fail-fast", "--workspace"])
        .env("PALISADE_TEST_DATABASE", database)
        .env("PALISADE_E2E_WIDGET_DIR", dist)
        .env("CHROMEDRIVER", tool_or_default("chromedriver", "/usr/bin/chromedriver"))
        .env("CHROMIUM", tool_or_default("chromium", "/usr/bin/chromium"))
}

/// Runs every step; prints the summary and, last, `N passed, N failed`. Returns whether
/// everything passed.
pub fn run() -> bool {
    let mut report = Report::default();

    report.check("setup", || setup::run(setup::Options::EVERYTHING));
    // Cheap, and it needs nothing built: every test SECURITY.md's ASVS table names must exist.
    report.check("ASVS table (SECURITY.md)", asvs::run);
    // Also cheap: cargo metadata and Cargo.lock, validated as it is written.
    report.check("SBOM (CycloneDX)", || sbom::run(None));
    report.check("cargo fmt --check", || Cmd::new("cargo").args(["fmt", "--all", "--check"]).run());
    report.check("clippy (native, all targets)", || {
        Cmd::new("cargo").args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]).run()
    });
    report.check("clippy (wasm32)", || {
        Cmd::new("cargo")
            .args(["clippy", "-p", "palisade-protocol", "-p", "palisade-widget"])
            .args(["--target", crate::tools::WASM_TARGET, "--", "-D", "warnings"])
            .run()
    });
    // The widget is built before the tests so that one `cargo test --workspace` per backend runs
    // everything, e2e included: the same package set each time means the same feature
    // unification, so the second backend and the e2e tests reuse the first build instead of
    // recompiling half the dependency graph.
    let dist = report.check("release widget build", || {
        let dist = widget_build::ensure_release_build()?;
        sizes::report(&dist)?;
        Ok(dist)
    });
    check_postgres();
    for (name, database) in [("tests + e2e (SQLite)", "sqlite"), ("tests + e2e (PostgreSQL)", "postgres")] {
        match &dist {
            Some(dist) => report.cargo_test(name, workspace_tests(dist, database)),
            None => report.skipped(name, "there is no release widget build for the e2e tests"),
        }
    }
    // Each operation of the OpenAPI document is one check. The server binary the tests just
    // built is reused: the same cargo command with --no-run is a no-op, where a plain
    // `cargo build -p palisade-server` (fewer packages, so other features of serde, tokio...)
    // would build the whole server again.
    report.counted("schemathesis (OpenAPI, signed in)", || match &dist {
        Some(dist) => schemathesis::run(workspace_tests(dist, "postgres").arg("--no-run")),
        None => schemathesis::run_alone(),
    });
    report.check("cargo deny", deny::run);
    // Last: its build is the slowest to start cold (nightly, instrumented), and a short pass
    // per target is a smoke test; `cargo xtask fuzz` runs longer.
    report.counted("fuzz (short pass)", || {
        let options = fuzz::Options { seconds: fuzz::CI_SECONDS, target: None };
        fuzz::run_all(&options).map(|outcomes| fuzz::tally(&outcomes))
    });

    report.print_summary();
    let (passed, failed) = report.totals();
    println!("{passed} passed, {failed} failed");
    failed == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libtest_result_lines() {
        assert_eq!(
            parse_test_result(
                "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.31s"
            ),
            Some((12, 0))
        );
        assert_eq!(
            parse_test_result(
                "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.02s"
            ),
            Some((3, 2))
        );
        assert_eq!(
            parse_test_result("   test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out"),
            Some((0, 0))
        );
        assert_eq!(parse_test_result("test tests::works ... ok"), None);
        assert_eq!(parse_test_result("running 3 tests"), None);
        assert_eq!(parse_test_result("test result: garbage"), None);
        assert_eq!(parse_test_result("12 passed, 0 failed"), None);
    }

    #[test]
    fn tallies_every_result_line() {
        let output: Vec<String> = [
            "running 2 tests",
            "test a ... ok",
            "test b ... ok",
            "",
            "test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s",
            "     Running tests/api.rs (target/debug/deps/api-123)",
            "test result: FAILED. 5 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 2.50s",
            "   Doc-tests palisade_protocol",
            "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.10s",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        assert_eq!(tally(&output), (8, 1, 3));
        assert_eq!(tally(&[]), (0, 0, 0));
    }

    #[test]
    fn counts_checks_and_tests() {
        let mut report = Report::default();
        report.check("fine", || Ok(()));
        report.check("broken", || -> Result<()> { anyhow::bail!("no") });
        report.skipped("skipped", "because");
        report.cargo_test(
            "tests",
            Cmd::new("printf").arg("test result: ok. 4 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n"),
        );
        report.cargo_test("failing build", Cmd::new("false"));
        report.counted("targets", || Ok((4, 1)));
        report.counted("targets not run", || -> Result<(u64, u64)> { anyhow::bail!("no nightly") });
        assert_eq!(report.totals(), (9, 5));
    }
}
