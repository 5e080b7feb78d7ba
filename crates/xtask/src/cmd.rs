//! Running commands: each one is echoed before it runs, runs in the repository root with the
//! tool PATH (`node_modules/.bin` first, then `$CARGO_HOME/bin`), and fails with the command
//! line in the error.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};

use crate::paths;

/// The PATH given to every child process: the npm tools pinned by package-lock.json (wasm-opt)
/// win over anything on the system, then the tools `cargo install` put in `$CARGO_HOME/bin`.
pub fn tool_path() -> &'static OsStr {
    static PATH: OnceLock<OsString> = OnceLock::new();
    PATH.get_or_init(|| {
        let mut dirs = vec![paths::root().join("node_modules").join(".bin")];
        if let Some(home) = paths::cargo_home() {
            dirs.push(home.join("bin"));
        }
        if let Some(path) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&path));
        }
        let mut seen = Vec::new();
        dirs.retain(|d| {
            let new = !seen.contains(d);
            seen.push(d.clone());
            new
        });
        std::env::join_paths(dirs).unwrap_or_else(|_| std::env::var_os("PATH").unwrap_or_default())
    })
}

/// The first executable file called `name` on the tool PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    std::env::split_paths(tool_path()).map(|dir| dir.join(name)).find(|candidate| {
        std::fs::metadata(candidate).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
    })
}

/// A command with a printable form.
#[derive(Debug)]
pub struct Cmd {
    command: Command,
    /// `KEY=value ` pairs, shown before the program.
    shown_env: String,
    shown: String,
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        let program = program.as_ref();
        let mut command = Command::new(program);
        command.env("PATH", tool_path()).current_dir(paths::root());
        Self { command, shown_env: String::new(), shown: quote(program) }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.shown.push(' ');
        self.shown.push_str(&quote(arg.as_ref()));
        self.command.arg(arg);
        self
    }

    pub fn args<I, S>(self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        args.into_iter().fold(self, Self::arg)
    }

    /// Runs the program in `dir` (the repository root otherwise).
    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.command.current_dir(dir);
        self
    }

    /// Sets an environment variable; it is shown in front of the command line.
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.shown_env.push_str(&format!("{key}={} ", quote(value.as_ref())));
        self.command.env(key, value);
        self
    }

    #[cfg(test)]
    pub fn shown(&self) -> String {
        format!("{}{}", self.shown_env, self.shown)
    }

    fn echo(&self) {
        println!("$ {}{}", self.shown_env, self.shown);
        let _ = std::io::stdout().flush();
    }

    /// Echoes and runs the command with inherited stdio; fails unless it exits 0.
    pub fn run(self) -> Result<()> {
        let shown = self.shown.clone();
        let status = self.status()?;
        if !status.success() {
            bail!("`{shown}` failed ({status})");
        }
        Ok(())
    }

    /// Echoes and runs the command with inherited stdio, returning its exit status.
    pub fn status(mut self) -> Result<ExitStatus> {
        self.echo();
        self.command.status().with_context(|| format!("could not start `{}`", self.shown))
    }

    /// Runs the command quietly and returns its stdout; fails (with its stderr) unless it
    /// exits 0.
    pub fn read(mut self) -> Result<String> {
        let output =
            self.command.stdin(Stdio::null()).output().with_context(|| format!("could not start `{}`", self.shown))?;
        if !output.status.success() {
            bail!("`{}` failed ({}): {}", self.shown, output.status, String::from_utf8_lossy(&output.stderr).trim());
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Like [`Cmd::read`], but `None` on any failure: for probing whether a tool is present.
    /// Falls back to stderr when a tool prints its version there.
    pub fn probe(mut self) -> Option<String> {
        let output = self.command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).output().ok()?;
        if !output.status.success() {
            return None;
        }
        let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if stdout.is_empty() { Some(String::from_utf8_lossy(&output.stderr).trim().to_owned()) } else { Some(stdout) }
    }

    /// Echoes and runs the command, copying its stdout to ours line by line while keeping
    /// the lines (stderr is inherited). For cargo test, whose summaries are on stdout.
    pub fn run_tee(mut self) -> Result<(ExitStatus, Vec<String>)> {
        self.echo();
        let mut child =
            self.command.stdout(Stdio::piped()).spawn().with_context(|| format!("could not start `{}`", self.shown))?;
        let lines = match child.stdout.take() {
            Some(stdout) => copy_lines(stdout, &self.shown, |_| true)?,
            None => Vec::new(),
        };
        let status = child.wait().with_context(|| format!("waiting for `{}`", self.shown))?;
        Ok((status, lines))
    }

    /// Like [`Cmd::run_tee`] for a program that reports on stderr (libFuzzer): stderr is copied
    /// to our stdout, only the lines `show` accepts, and every line is kept.
    pub fn run_tee_stderr(mut self, show: impl Fn(&str) -> bool) -> Result<(ExitStatus, Vec<String>)> {
        self.echo();
        let mut child = self
            .command
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("could not start `{}`", self.shown))?;
        let lines = match child.stderr.take() {
            Some(stderr) => copy_lines(stderr, &self.shown, show)?,
            None => Vec::new(),
        };
        let status = child.wait().with_context(|| format!("waiting for `{}`", self.shown))?;
        Ok((status, lines))
    }

    /// Echoes and starts the command with inherited stdio.
    pub fn spawn(mut self) -> Result<Child> {
        self.echo();
        self.command.stdin(Stdio::null()).spawn().with_context(|| format!("could not start `{}`", self.shown))
    }
}

/// Copies a child's output to our stdout line by line (those `show` accepts) and keeps them all.
fn copy_lines(output: impl std::io::Read, shown: &str, show: impl Fn(&str) -> bool) -> Result<Vec<String>> {
    let mut reader = BufReader::new(output);
    let mut lines = Vec::new();
    let mut buf = Vec::new();
    let mut out = std::io::stdout();
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).with_context(|| format!("reading the output of `{shown}`"))?;
        if n == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end();
        if show(line) {
            // print! (not a raw write) so that libtest captures it in our own tests.
            println!("{line}");
            let _ = out.flush();
        }
        lines.push(line.to_owned());
    }
    Ok(lines)
}

/// Shell-style quoting for display only.
fn quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if plain { word.into_owned() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_env_and_quotes_arguments() {
        let cmd = Cmd::new("cargo")
            .args(["test", "-p", "palisade-server"])
            .arg("a b")
            .env("PALISADE_TEST_DATABASE", "postgres");
        assert_eq!(cmd.shown(), "PALISADE_TEST_DATABASE=postgres cargo test -p palisade-server 'a b'");
    }

    #[test]
    fn node_modules_bin_comes_first_on_the_tool_path() {
        let first = std::env::split_paths(tool_path()).next();
        assert_eq!(first, Some(paths::root().join("node_modules").join(".bin")));
    }

    #[test]
    fn read_and_probe() {
        assert_eq!(Cmd::new("echo").arg("hi").read().unwrap().trim(), "hi");
        assert!(Cmd::new("false").probe().is_none());
        assert!(Cmd::new("surely-not-a-tool-palisade").probe().is_none());
        assert!(Cmd::new("false").run().is_err());
    }
}
