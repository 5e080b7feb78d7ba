//! Finding the tools the build needs, checking their versions, and installing the missing ones
//! from the package registries only: crates.io (`cargo install`), npm (`npm ci` from the
//! committed package-lock.json) and Debian (`apt-get`, as root).

use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::cmd::{Cmd, which};
use crate::paths;

/// The Trunk release the widget build is written for (0.22.1 needs a newer rustc).
pub const TRUNK_VERSION: &str = "0.22.0-beta.1";
/// The cargo-deny release installed when none is present; deny.toml follows its schema.
pub const CARGO_DENY_VERSION: &str = "0.20.2";
/// The oldest cargo-deny that understands deny.toml.
pub const CARGO_DENY_MIN_VERSION: &str = "0.18.0";
/// The cargo-fuzz release installed when none is present.
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// The oldest cargo-fuzz whose `--sanitizer none` and corpus arguments `cargo xtask fuzz` uses.
pub const CARGO_FUZZ_MIN_VERSION: &str = "0.12.0";
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The schemathesis release (PyPI) that `cargo xtask test` runs against the OpenAPI document.
pub const SCHEMATHESIS_VERSION: &str = "4.32.5";
/// Where `npm ci` remembers which package-lock.json it installed.
const NPM_STAMP: &str = "node_modules/.palisade-npm-ci.stamp";

/// What setup found for one tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Present(String),
    Installed(String),
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Present(version) => write!(f, "present ({version})"),
            Self::Installed(version) => write!(f, "installed ({version})"),
        }
    }
}

/// The first whitespace-separated word that starts with a digit, without a leading `v`:
/// `"trunk 0.22.0-beta.1"` gives `"0.22.0-beta.1"`.
pub fn version_token(text: &str) -> Option<&str> {
    text.split_whitespace()
        .map(|word| word.strip_prefix('v').unwrap_or(word))
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))
}

/// The numeric `major.minor.patch` of a version, ignoring any pre-release or build suffix.
fn numeric_version(version: &str) -> Vec<u64> {
    version.split(['-', '+']).next().unwrap_or_default().split('.').map_while(|part| part.parse().ok()).collect()
}

/// `version >= minimum`, comparing numerically.
pub fn version_at_least(version: &str, minimum: &str) -> bool {
    numeric_version(version) >= numeric_version(minimum)
}

/// The version requirement of `name` in the `[workspace.dependencies]` table of a Cargo.toml,
/// without a leading `=`: handles `name = "=1.2.3"` and `name = { version = "=1.2.3", ... }`.
pub fn workspace_dependency_version(cargo_toml: &str, name: &str) -> Option<String> {
    let mut in_table = false;
    for line in cargo_toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_table = line == "[workspace.dependencies]";
            continue;
        }
        if !in_table {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim().trim_matches('"') != name {
            continue;
        }
        let value = value.trim();
        let quoted = if value.starts_with('{') {
            let after = value.split_once("version")?.1.trim_start();
            after.strip_prefix('=')?.trim_start()
        } else {
            value
        };
        let version = quoted.strip_prefix('"')?.split('"').next()?;
        return Some(version.trim_start_matches('=').trim().to_owned());
    }
    None
}

/// The version package-lock.json (lockfile v2/v3) records for `node_modules/<package>`.
pub fn npm_locked_version(package_lock: &str, package: &str) -> Option<String> {
    let key = format!("\"node_modules/{package}\"");
    let after = &package_lock[package_lock.find(&key)? + key.len()..];
    let after = &after[after.find("\"version\"")? + "\"version\"".len()..];
    let after = after.trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    Some(after.split('"').next()?.to_owned())
}

/// The wasm-bindgen version pinned in the root Cargo.toml; wasm-bindgen-cli must match it.
pub fn pinned_wasm_bindgen() -> Result<String> {
    let manifest = paths::root().join("Cargo.toml");
    let text = fs::read_to_string(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
    workspace_dependency_version(&text, "wasm-bindgen")
        .with_context(|| format!("no wasm-bindgen in [workspace.dependencies] of {}", manifest.display()))
}

/// Whether this process runs as root (reads /proc, falls back to `id -u`).
pub fn is_root() -> bool {
    if let Ok(status) = fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|l| l.starts_with("Uid:"))
    {
        return line.split_whitespace().nth(1) == Some("0");
    }
    Cmd::new("id").arg("-u").probe().as_deref() == Some("0")
}

/// The wasm32 standard library, added with rustup when missing.
pub fn ensure_wasm_target() -> Result<Status> {
    let rustc = Cmd::new("rustc").arg("--version").read()?.trim().to_owned();
    let sysroot = Cmd::new("rustc").args(["--print", "sysroot"]).read()?;
    let installed = || PathBuf::from(sysroot.trim()).join("lib/rustlib").join(WASM_TARGET).is_dir();
    if installed() {
        return Ok(Status::Present(rustc));
    }
    if which("rustup").is_none() {
        bail!("the {WASM_TARGET} target is missing and rustup is not installed to add it");
    }
    Cmd::new("rustup").args(["target", "add", WASM_TARGET]).run()?;
    if !installed() {
        bail!("`rustup target add {WASM_TARGET}` did not install the target");
    }
    Ok(Status::Installed(rustc))
}

/// How a `cargo install`ed tool is checked.
#[derive(Debug, Clone)]
pub enum Wanted {
    Exactly(String),
    AtLeast(String),
}

/// A tool from crates.io.
#[derive(Debug, Clone)]
pub struct CargoTool {
    /// The crate to `cargo install`.
    pub krate: &'static str,
    /// The command that prints the version, e.g. `["cargo", "deny", "--version"]`.
    pub version_command: &'static [&'static str],
    pub wanted: Wanted,
    /// The version installed when the tool is missing or does not match.
    pub install_version: String,
}

impl CargoTool {
    pub fn trunk() -> Self {
        Self {
            krate: "trunk",
            version_command: &["trunk", "--version"],
            wanted: Wanted::Exactly(TRUNK_VERSION.to_owned()),
            install_version: TRUNK_VERSION.to_owned(),
        }
    }

    pub fn wasm_bindgen_cli() -> Result<Self> {
        let version = pinned_wasm_bindgen()?;
        Ok(Self {
            krate: "wasm-bindgen-cli",
            version_command: &["wasm-bindgen", "--version"],
            wanted: Wanted::Exactly(version.clone()),
            install_version: version,
        })
    }

    pub fn cargo_deny() -> Self {
        Self {
            krate: "cargo-deny",
            version_command: &["cargo", "deny", "--version"],
            wanted: Wanted::AtLeast(CARGO_DENY_MIN_VERSION.to_owned()),
            install_version: CARGO_DENY_VERSION.to_owned(),
        }
    }

    pub fn cargo_fuzz() -> Self {
        Self {
            krate: "cargo-fuzz",
            version_command: &["cargo", "fuzz", "--version"],
            wanted: Wanted::AtLeast(CARGO_FUZZ_MIN_VERSION.to_owned()),
            install_version: CARGO_FUZZ_VERSION.to_owned(),
        }
    }

    /// The installed version when it satisfies [`CargoTool::wanted`].
    fn acceptable_version(&self) -> Option<String> {
        let (program, args) = self.version_command.split_first()?;
        let output = Cmd::new(program).args(args).probe()?;
        let version = version_token(&output)?.to_owned();
        let ok = match &self.wanted {
            Wanted::Exactly(wanted) => &version == wanted,
            Wanted::AtLeast(minimum) => version_at_least(&version, minimum),
        };
        if ok {
            Some(version)
        } else {
            println!(
                "  {}: found version {version}, want {}",
                self.krate,
                match &self.wanted {
                    Wanted::Exactly(v) => v.clone(),
                    Wanted::AtLeast(v) => format!(">= {v}"),
                }
            );
            None
        }
    }

    pub fn ensure(&self) -> Result<Status> {
        if let Some(version) = self.acceptable_version() {
            return Ok(Status::Present(version));
        }
        cargo_install(self.krate, &self.install_version)?;
        self.acceptable_version()
            .map(Status::Installed)
            .with_context(|| format!("{} is still missing after `cargo install`", self.krate))
    }
}

/// `cargo install --locked`, and without `--locked` when the registry lacks a locked version.
fn cargo_install(krate: &str, version: &str) -> Result<()> {
    let base = ["install", krate, "--version", version, "--force"];
    if Cmd::new("cargo").args(base).arg("--locked").status()?.success() {
        return Ok(());
    }
    println!("`cargo install --locked {krate}` failed; retrying with freshly resolved dependencies");
    Cmd::new("cargo").args(base).run()
}

/// `npm ci` from the committed package-lock.json (for wasm-opt from binaryen), only when
/// node_modules is missing or the lock file changed since the last `npm ci`.
pub fn ensure_node_modules(apt: &mut Apt) -> Result<Status> {
    let root = paths::root();
    let lock_path = root.join("package-lock.json");
    let lock = fs::read(&lock_path).with_context(|| format!("reading {}", lock_path.display()))?;
    let lock_text = String::from_utf8_lossy(&lock);
    let binaryen =
        npm_locked_version(&lock_text, "binaryen").context("package-lock.json does not lock binaryen (wasm-opt)")?;
    let binaryen_major = binaryen.split('.').next().unwrap_or_default().to_owned();
    let wanted_stamp = {
        use sha2::Digest as _;
        paths::hex(&sha2::Sha256::digest(&lock))
    };
    let stamp_path = root.join(NPM_STAMP);
    let wasm_opt = root.join("node_modules/.bin/wasm-opt");
    let wasm_opt_version = || {
        let output = Cmd::new(&wasm_opt).arg("--version").probe()?;
        let matches = output.split_whitespace().any(|word| word == binaryen_major);
        matches.then_some(output)
    };

    let stamp = fs::read_to_string(&stamp_path).unwrap_or_default();
    if stamp.trim() == wanted_stamp
        && let Some(version) = wasm_opt_version()
    {
        return Ok(Status::Present(version));
    }
    if which("npm").is_none() {
        apt.install(&["nodejs", "npm"])?;
    }
    Cmd::new("npm").args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"]).run()?;
    fs::write(&stamp_path, format!("{wanted_stamp}\n")).with_context(|| format!("writing {}", stamp_path.display()))?;
    wasm_opt_version()
        .map(Status::Installed)
        .with_context(|| format!("{} is not binaryen {binaryen} after `npm ci`", wasm_opt.display()))
}

/// The virtualenv schemathesis lives in: inside the project's target directory, so that
/// nothing is installed into the system Python.
pub fn schemathesis_venv() -> PathBuf {
    paths::target_dir().join("tools").join("schemathesis-venv")
}

pub fn schemathesis_bin() -> PathBuf {
    schemathesis_venv().join("bin").join("schemathesis")
}

/// The installed schemathesis when it is exactly [`SCHEMATHESIS_VERSION`].
fn schemathesis_version() -> Option<String> {
    let output = Cmd::new(schemathesis_bin()).arg("--version").probe()?;
    // "schemathesis, version 4.32.5"
    let version = version_token(&output)?.to_owned();
    (version == SCHEMATHESIS_VERSION).then_some(version)
}

/// schemathesis from PyPI, pinned exactly, in [`schemathesis_venv`] (`python3 -m venv` + pip);
/// nothing happens when that version is already there.
pub fn ensure_schemathesis(apt: &mut Apt) -> Result<Status> {
    if let Some(version) = schemathesis_version() {
        return Ok(Status::Present(version));
    }
    if which("python3").is_none() {
        apt.install(&["python3", "python3-venv"])?;
    }
    let venv = schemathesis_venv();
    let create = || Cmd::new("python3").args(["-m", "venv", "--clear"]).arg(&venv).run();
    if create().is_err() {
        // Debian's python3 comes without ensurepip, which venv needs, until python3-venv is in.
        apt.install(&["python3-venv"])?;
        create()?;
    }
    Cmd::new(venv.join("bin").join("python"))
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("schemathesis=={SCHEMATHESIS_VERSION}"))
        .run()?;
    schemathesis_version().map(Status::Installed).with_context(|| {
        format!("{} is not schemathesis {SCHEMATHESIS_VERSION} after pip install", schemathesis_bin().display())
    })
}

/// A system tool that comes from a Debian package.
#[derive(Debug, Clone, Copy)]
pub struct SystemTool {
    pub name: &'static str,
    pub package: &'static str,
    pub probe: fn() -> Option<String>,
}

fn probe_first_line(program: &str, args: &[&str]) -> Option<String> {
    let output = Cmd::new(program).args(args).probe()?;
    let line = output.lines().next()?.trim().to_owned();
    (!line.is_empty()).then_some(line)
}

pub const PKG_CONFIG: SystemTool = SystemTool {
    name: "pkg-config",
    package: "pkg-config",
    probe: || probe_first_line("pkg-config", &["--version"]).map(|v| format!("pkg-config {v}")),
};

pub const LIBPQ: SystemTool = SystemTool {
    name: "libpq",
    package: "libpq-dev",
    probe: || probe_first_line("pkg-config", &["--modversion", "libpq"]).map(|v| format!("libpq {v}")),
};

pub const BROTLI: SystemTool =
    SystemTool { name: "brotli", package: "brotli", probe: || probe_first_line("brotli", &["--version"]) };

pub const CHROMIUM: SystemTool =
    SystemTool { name: "chromium", package: "chromium", probe: || probe_first_line("chromium", &["--version"]) };

pub const CHROMEDRIVER: SystemTool = SystemTool {
    name: "chromedriver",
    package: "chromium-driver",
    probe: || probe_first_line("chromedriver", &["--version"]),
};

/// Debian packages: installed with apt-get when running as root; otherwise the exact command
/// to run is printed and the step fails.
#[derive(Debug, Default)]
pub struct Apt {
    updated: bool,
}

impl Apt {
    pub fn install(&mut self, packages: &[&str]) -> Result<()> {
        if packages.is_empty() {
            return Ok(());
        }
        let list = packages.join(" ");
        if !is_root() || which("apt-get").is_none() {
            bail!(
                "missing Debian packages; install them with:\n    sudo apt-get update && sudo apt-get install -y {list}"
            );
        }
        if !self.updated {
            Cmd::new("apt-get").env("DEBIAN_FRONTEND", "noninteractive").args(["update", "-q"]).run()?;
            self.updated = true;
        }
        Cmd::new("apt-get").env("DEBIAN_FRONTEND", "noninteractive").args(["install", "-y", "-q"]).args(packages).run()
    }

    /// Probes every tool, installs the packages of the missing ones in one apt-get call and
    /// probes again. One result per tool, in order.
    pub fn ensure(&mut self, tools: &[SystemTool]) -> Vec<(&'static str, Result<Status>)> {
        let found: Vec<Option<String>> = tools.iter().map(|t| (t.probe)()).collect();
        let mut missing: Vec<&str> =
            tools.iter().zip(&found).filter(|(_, f)| f.is_none()).map(|(t, _)| t.package).collect();
        missing.dedup();
        let install = self.install(&missing);
        let install_error = install.as_ref().err().map(|e| format!("{e:#}"));
        tools
            .iter()
            .zip(found)
            .map(|(tool, found)| {
                let status = match found {
                    Some(version) => Ok(Status::Present(version)),
                    None => match (&install_error, (tool.probe)()) {
                        (None, Some(version)) => Ok(Status::Installed(version)),
                        (Some(error), _) => Err(anyhow::anyhow!("{error}")),
                        (None, None) => {
                            Err(anyhow::anyhow!("still missing after installing the Debian package {}", tool.package))
                        }
                    },
                };
                (tool.name, status)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_tokens() {
        assert_eq!(version_token("trunk 0.22.0-beta.1"), Some("0.22.0-beta.1"));
        assert_eq!(version_token("wasm-bindgen 0.2.130"), Some("0.2.130"));
        assert_eq!(version_token("cargo-deny 0.20.2"), Some("0.20.2"));
        assert_eq!(version_token("wasm-opt version 132 (version_132)"), Some("132"));
        assert_eq!(version_token("tool v1.2.3"), Some("1.2.3"));
        assert_eq!(version_token("no version here"), None);
    }

    #[test]
    fn version_comparison() {
        assert!(version_at_least("0.20.2", "0.18.0"));
        assert!(version_at_least("0.18.0", "0.18.0"));
        assert!(version_at_least("1.0.0", "0.18.0"));
        assert!(!version_at_least("0.17.9", "0.18.0"));
        assert!(version_at_least("0.22.0-beta.1", "0.22.0"));
    }

    #[test]
    fn reads_workspace_dependency_versions() {
        let toml = r#"
[workspace]
members = ["a"]

[dependencies]
wasm-bindgen = "0.1"

[workspace.dependencies]
serde = { version = "1", features = ["derive"] }
wasm-bindgen = "=0.2.130"
"quoted" = { version = "=3.4.5" }
js-sys = "0.3"

[workspace.lints.rust]
wasm-bindgen = "deny"
"#;
        assert_eq!(workspace_dependency_version(toml, "wasm-bindgen").as_deref(), Some("0.2.130"));
        assert_eq!(workspace_dependency_version(toml, "serde").as_deref(), Some("1"));
        assert_eq!(workspace_dependency_version(toml, "quoted").as_deref(), Some("3.4.5"));
        assert_eq!(workspace_dependency_version(toml, "wasm-bindgen-futures"), None);
        assert_eq!(workspace_dependency_version(toml, "missing"), None);
    }

    #[test]
    fn the_real_manifest_pins_wasm_bindgen_exactly() {
        let version = pinned_wasm_bindgen().unwrap();
        assert_eq!(numeric_version(&version).len(), 3, "{version}");
    }

    #[test]
    fn reads_npm_locked_versions() {
        let lock = r#"{
  "packages": {
    "": { "devDependencies": { "binaryen": "132.0.0" } },
    "node_modules/binaryen": {
      "version": "132.0.0",
      "dev": true
    }
  }
}"#;
        assert_eq!(npm_locked_version(lock, "binaryen").as_deref(), Some("132.0.0"));
        assert_eq!(npm_locked_version(lock, "other"), None);
    }

    #[test]
    fn the_committed_lock_pins_binaryen_132() {
        let lock = fs::read_to_string(paths::root().join("package-lock.json")).unwrap();
        assert_eq!(npm_locked_version(&lock, "binaryen").as_deref(), Some("132.0.0"));
    }
}
