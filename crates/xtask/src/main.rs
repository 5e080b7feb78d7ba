//! `cargo xtask`: the developer commands of Palisade.
//!
//! - `setup`: installs the missing tools (idempotent).
//! - `demo [--port 8443] [--demo-port 8444]`: the widget on a demo host page, talking to a
//!   local chat server.
//! - `test`: everything CI checks; ends with `N passed, N failed`.
//! - `deny`, `bundle-size`, `asvs`: single steps of `test`.

mod asvs;
mod cmd;
mod demo;
mod deny;
mod host_page;
mod paths;
mod setup;
mod sizes;
mod test;
mod tools;
mod widget_build;

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
  asvs                                    check SECURITY.md's ASVS table: every test it names exists";

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Setup,
    Demo(demo::Options),
    Test,
    Deny,
    BundleSize,
    Asvs,
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
        "setup" | "test" | "deny" | "bundle-size" | "asvs" if !rest.is_empty() => {
            bail!("`{command}` takes no arguments\n\n{USAGE}")
        }
        "setup" => Ok(Command::Setup),
        "test" => Ok(Command::Test),
        "deny" => Ok(Command::Deny),
        "bundle-size" => Ok(Command::BundleSize),
        "asvs" => Ok(Command::Asvs),
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
}
