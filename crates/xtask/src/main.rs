//! `cargo xtask`: the developer commands of Palisade.
//!
//! - `setup`: installs the missing tools (idempotent).
//! - `demo [--port 8443] [--demo-port 8444]`: the widget on a demo host page, talking to a
//!   local chat server.
//! - `test`: everything CI checks; ends with `N passed, N failed`.
//! - `deny`, `bundle-size`, `asvs`, `schemathesis`: single steps of `test`.
//! - `fuzz [--seconds 60] [target]`: the cargo-fuzz targets, each for a bounded time (`test`
//!   runs a short pass).
//! - `sbom [--out path]`: the CycloneDX SBOM of the workspace (also checked by `test`).

mod asvs;
mod cmd;
mod demo;
mod demo_mail;
mod deny;
mod fuzz;
mod host_page;
mod paths;
mod sbom;
mod schemathesis;
mod setup;
mod sizes;
mod test;
mod tools;
mod widget_build;
mod widget_pin;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  setup                                   install the missing tools (idempotent)
  demo [--port 8443] [--demo-port 8444]   run the chat server and the demo host page
  test                                    run everything CI checks
  deny                                    cargo deny (advisories, licenses, bans, sources)
  bundle-size                             the release widget build and its sizes
  asvs                                    check SECURITY.md's ASVS table: every test it names exists
  schemathesis                            schemathesis (every check) against the running server's API
  fuzz [--seconds 60] [target]            run the fuzz targets (all, or one of: ws_frame, rest_bodies,
                                          markup, access_token, vault_open) for N seconds each
  sbom [--out target/sbom/palisade.cdx.json]
                                          write the CycloneDX 1.5 SBOM of the workspace";

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Setup,
    Demo(demo::Options),
    Test,
    Deny,
    BundleSize,
    Asvs,
    Schemathesis,
    Fuzz(fuzz::Options),
    Sbom { out: Option<PathBuf> },
    Help,
}

fn parse_port(flag: &str, value: Option<&String>) -> Result<u16> {
    let value = value.with_context(|| format!("{flag} needs a port number"))?;
    match value.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => bail!("{flag}: not a port number: {value}"),
    }
}

fn parse_args(args: &[String]) -> Result<Command> {
    let Some((command, rest)) = args.split_first() else {
        return Ok(Command::Help);
    };
    match command.as_str() {
        "setup" | "test" | "deny" | "bundle-size" | "asvs" | "schemathesis" if !rest.is_empty() => {
            bail!("`{command}` takes no arguments\n\n{USAGE}")
        }
        "setup" => Ok(Command::Setup),
        "test" => Ok(Command::Test),
        "deny" => Ok(Command::Deny),
        "bundle-size" => Ok(Command::BundleSize),
        "asvs" => Ok(Command::Asvs),
        "schemathesis" => Ok(Command::Schemathesis),
        "demo" => {
            let mut options = demo::Options::default();
            let mut rest = rest.iter();
            while let Some(arg) = rest.next() {
                let (flag, inline) = match arg.split_once('=') {
                    Some((flag, value)) => (flag, Some(value.to_owned())),
                    None => (arg.as_str(), None),
                };
                let value = match inline {
                    Some(value) => Some(value),
                    None => rest.next().cloned(),
                };
                match flag {
                    "--port" => options.port = parse_port(flag, value.as_ref())?,
                    "--demo-port" => options.demo_port = parse_port(flag, value.as_ref())?,
                    _ => bail!("unknown option for demo: {arg}\n\n{USAGE}"),
                }
            }
            Ok(Command::Demo(options))
        }
        "fuzz" => fuzz::Options::parse(rest).map(Command::Fuzz).map_err(|error| anyhow::anyhow!("{error}\n\n{USAGE}")),
        "sbom" => {
            let out = match rest {
                [] => return Ok(Command::Sbom { out: None }),
                [flag, path] if flag == "--out" => Some(path.as_str()),
                [flag] => flag.strip_prefix("--out="),
                _ => None,
            };
            match out.filter(|path| !path.is_empty()) {
                Some(path) => Ok(Command::Sbom { out: Some(PathBuf::from(path)) }),
                None => bail!("usage: cargo xtask sbom [--out path]\n\n{USAGE}"),
            }
        }
        "help" | "--help" | "-h" => Ok(Command::Help),
        _ => bail!("unknown command: {command}\n\n{USAGE}"),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = parse_args(&args).and_then(|command| match command {
        Command::Setup => setup::run(setup::Options::EVERYTHING).map(|()| true),
        Command::Demo(options) => demo::run(options).map(|()| true),
        // The summary line must be the last thing printed, so failures are not errors here.
        Command::Test => Ok(test::run()),
        Command::Deny => deny::run().map(|()| true),
        Command::BundleSize => {
            widget_build::ensure_release_build().and_then(|dist| sizes::report(&dist)).map(|()| true)
        }
        Command::Asvs => asvs::run().map(|()| true),
        Command::Schemathesis => schemathesis::run_alone().map(|(_, failed)| failed == 0),
        Command::Fuzz(options) => fuzz::run(&options).map(|()| true),
        Command::Sbom { out } => sbom::run(out.as_deref()).map(|_| true),
        Command::Help => {
            println!("{USAGE}");
            Ok(true)
        }
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command> {
        parse_args(&args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn parses_commands() {
        assert_eq!(parse(&[]).unwrap(), Command::Help);
        assert_eq!(parse(&["setup"]).unwrap(), Command::Setup);
        assert_eq!(parse(&["test"]).unwrap(), Command::Test);
        assert_eq!(parse(&["deny"]).unwrap(), Command::Deny);
        assert_eq!(parse(&["bundle-size"]).unwrap(), Command::BundleSize);
        assert_eq!(parse(&["asvs"]).unwrap(), Command::Asvs);
        assert_eq!(parse(&["schemathesis"]).unwrap(), Command::Schemathesis);
        assert!(parse(&["schemathesis", "--fast"]).is_err());
        assert_eq!(parse(&["demo"]).unwrap(), Command::Demo(demo::Options { port: 8443, demo_port: 8444 }));
        assert_eq!(
            parse(&["demo", "--port", "9443", "--demo-port=9444"]).unwrap(),
            Command::Demo(demo::Options { port: 9443, demo_port: 9444 })
        );
        assert!(parse(&["demo", "--port"]).is_err());
        assert!(parse(&["demo", "--port", "0"]).is_err());
        assert!(parse(&["demo", "--port", "70000"]).is_err());
        assert!(parse(&["demo", "--verbose"]).is_err());
        assert!(parse(&["test", "extra"]).is_err());
        assert!(parse(&["asvs", "--fix"]).is_err());
        assert!(parse(&["deploy"]).is_err());
    }

    #[test]
    fn parses_fuzz_and_sbom() {
        assert_eq!(parse(&["fuzz"]).unwrap(), Command::Fuzz(fuzz::Options { seconds: 60, target: None }));
        assert_eq!(
            parse(&["fuzz", "--seconds", "20", "markup"]).unwrap(),
            Command::Fuzz(fuzz::Options { seconds: 20, target: Some("markup".into()) })
        );
        assert_eq!(parse(&["fuzz", "--seconds=5"]).unwrap(), Command::Fuzz(fuzz::Options { seconds: 5, target: None }));
        assert!(parse(&["fuzz", "--seconds"]).is_err());
        assert!(parse(&["fuzz", "--seconds", "0"]).is_err());
        assert!(parse(&["fuzz", "parser"]).is_err());
        assert!(parse(&["fuzz", "--jobs", "2"]).is_err());
        assert_eq!(parse(&["sbom"]).unwrap(), Command::Sbom { out: None });
        assert_eq!(parse(&["sbom", "--out", "bom.json"]).unwrap(), Command::Sbom { out: Some("bom.json".into()) });
        assert_eq!(parse(&["sbom", "--out=/tmp/b.json"]).unwrap(), Command::Sbom { out: Some("/tmp/b.json".into()) });
        assert!(parse(&["sbom", "--out"]).is_err());
        assert!(parse(&["sbom", "--out="]).is_err());
        assert!(parse(&["sbom", "bom.json"]).is_err());
    }
}
