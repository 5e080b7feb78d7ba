//! `cargo xtask setup`: installs whatever the build, the demo and the tests need and is
//! missing. Idempotent; prints one line per tool.

use anyhow::{Result, bail};

use crate::tools::{self, Apt, CargoTool, Status};

/// Which groups of tools to make sure of.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Chromium and chromedriver, for the e2e suite.
    pub browser: bool,
    /// What only `cargo xtask test` uses: cargo-deny, cargo-fuzz, schemathesis, and the brotli
    /// command for the size report (the fallback, the brotli crate, is slow in an unoptimized
    /// build).
    pub ci_tools: bool,
}

impl Options {
    pub const EVERYTHING: Self = Self { browser: true, ci_tools: true };
    /// What `cargo xtask demo` needs: the widget build and the server build.
    pub const DEMO: Self = Self { browser: false, ci_tools: false };
}

pub fn run(options: Options) -> Result<()> {
    println!("setup: checking tools");
    let mut apt = Apt::default();
    let mut failed = Vec::new();
    let mut report = |name: &str, status: Result<Status>| match status {
        Ok(status) => println!("  {name:<18} {status}"),
        Err(error) => {
            println!("  {name:<18} FAILED: {error:#}");
            failed.push(name.to_owned());
        }
    };

    // Debian packages first: they are quick, and the server build links libpq.
    let mut system = vec![tools::PKG_CONFIG, tools::LIBPQ];
    if options.browser {
        system.extend([tools::CHROMIUM, tools::CHROMEDRIVER]);
    }
    if options.ci_tools {
        system.push(tools::BROTLI);
    }
    for (name, status) in apt.ensure(&system) {
        report(name, status);
    }
    report("wasm32 target", tools::ensure_wasm_target());
    report("wasm-opt (npm ci)", tools::ensure_node_modules(&mut apt));
    report("trunk", CargoTool::trunk().ensure());
    report("wasm-bindgen-cli", CargoTool::wasm_bindgen_cli().and_then(|tool| tool.ensure()));
    if options.ci_tools {
        report("cargo-deny", CargoTool::cargo_deny().ensure());
        report("cargo-fuzz", CargoTool::cargo_fuzz().ensure());
        report("schemathesis (pip)", tools::ensure_schemathesis(&mut apt));
    }

    if failed.is_empty() { Ok(()) } else { bail!("setup could not provide: {}", failed.join(", ")) }
}
