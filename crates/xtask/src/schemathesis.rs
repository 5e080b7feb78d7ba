//! `cargo xtask schemathesis` (and a stage of `cargo xtask test`): schemathesis, from PyPI,
//! against the running server's OpenAPI document, as a signed-in person, with every check
//! (`ignored_auth` included). Any failed check fails the stage.
//!
//! The server is the real binary (`palisade-server serve`), configured by environment only, on
//! embedded SQLite in a fresh directory under target/, in plain-HTTP mode (`tls.mode = none`,
//! the behind-a-proxy mode): this stage tests the API's contract, and the TLS setup has tests
//! of its own. A local SMTP sink takes the sign-up mail, so the person is created the way a
//! visitor creates one: ask for a link, follow it, choose a password.

use std::ffi::OsString;
use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use palisade_smtp_sink::SmtpSink;

use crate::cmd::Cmd;
use crate::{paths, tools};

/// The site the run uses, and the page origin it allows.
const SITE: &str = "schemathesis";
const ORIGIN: &str = "https://app.schemathesis.test";
const EMAIL: &str = "schemathesis@example.org";
/// Long and random enough for the server's password policy; only ever used on this throwaway
/// database.
const PASSWORD: &str = "schemathesis probes every endpoint 4821";
/// The fragment of the mailed sign-up link that carries its token
/// (`palisade_protocol::auth::SIGN_UP_FRAGMENT`; xtask does not depend on the protocol crate).
const SIGN_UP_FRAGMENT: &str = "palisade-sign-up";
/// Test cases per operation and phase: 100 make about 5,000 requests; 20 missed findings that
/// 100 made.
const MAX_EXAMPLES: &str = "100";
/// A fixed seed keeps CI reproducible: a failure found once is found again on a re-run.
/// `PALISADE_TEST_SCHEMATHESIS_SEED` picks another for a local exploration.
const DEFAULT_SEED: &str = "20261129";
/// Where schemathesis is told something narrower than its defaults, each with the reason.
const CONFIG: &str = r#"# Written by `cargo xtask schemathesis`; crates/xtask/src/schemathesis.rs says why.

[checks]
# Every check, `ignored_auth` included. Here rather than `--checks all`, which would override
# the per-operation settings below.
enabled = true
# A request the schema admits may still break a rule no OpenAPI schema can state: a name that is
# empty once normalised, a guessable password, `before` and `after` together, joining a room that
# is not a channel. The server answers those 422 (`validation_failed`, `weak_password`), as the
# document says. A 400 (the request does not parse as documented) stays a failure.
positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]

# The run's own site, so that requests naming one get past the site lookup to the code behind it.
[parameters]
"path.public_id" = "schemathesis"
"query.site" = "schemathesis"
"body.site" = "schemathesis"

# The CSRF decision needs the site's allowed origins, so the site named in the body is looked
# up first and a request naming no site gets 404 before its headers are judged; with a real
# site, a missing header is refused 403 (server/tests/accounts.rs,
# cookie_endpoints_refuse_requests_a_foreign_page_could_make).
[[operations]]
include-path-regex = "^/api/v1/auth/(refresh|logout)$"
checks.missing_required_header.enabled = false

# A WebSocket handshake needs headers an HTTP client library adds (Upgrade, Connection,
# Sec-WebSocket-Key and -Version), which are no parameters of the operation; schemathesis speaks
# plain HTTP and cannot upgrade, so the server rightly answers its GETs 400, as documented.
[[operations]]
include-name = "GET /api/v1/ws"
checks.positive_data_acceptance.enabled = false

# The OAuth callback is where a provider sends the popup back, with the `state` this server
# issued at start: 256 random bits that no generated request can know, so every one of them is
# rightly refused 400 (an HTML page in the popup, as documented). server/tests/oauth.rs drives
# the callback with real states from a real provider.
[[operations]]
include-name = "GET /api/v1/auth/oauth/{provider}/callback"
checks.positive_data_acceptance.enabled = false

# POST /rooms/{id}/leave takes the caller out of a room, and a private room one has left is then
# rightly not found (a room the caller may not see is 404, never 403). Schemathesis counts only a
# DELETE as removing what a POST created.
[[operations]]
include-path-regex = '^/api/v1/rooms/\{(id|room)\}/'
checks.ensure_resource_availability.enabled = false
"#;
/// The hooks: CSP reports serialized as the JSON they are, and a `before_call` hook that spells whole numbers in JSON bodies as integers: the document is
/// OpenAPI 3.1, whose JSON Schema counts `2280.0` as an integer, so schemathesis sends integer
/// fields that way too; serde (the server's JSON reader) takes an integer field only from an
/// integer literal, and no client of this API writes one otherwise. Only the spelling changes:
/// every value, and every check on the answer, stays as generated.
const HOOKS: &str = r#"# Written by `cargo xtask schemathesis`; crates/xtask/src/schemathesis.rs says why.
import schemathesis


def _integers_as_integers(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integers_as_integers(item) for item in value]
    if isinstance(value, dict):
        return {key: _integers_as_integers(item) for key, item in value.items()}
    return value


# CSP violation reports (POST /csp-report) are JSON under the media types browsers send them as.
schemathesis.serializer.alias(["application/csp-report", "application/reports+json"], "application/json")


@schemathesis.hook
def before_call(context, case, kwargs):
    if isinstance(case.body, (dict, list, float)):
        case.body = _integers_as_integers(case.body)
"#;
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The server process; stopped (killed if it must be) when dropped.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Cmd::new("kill").args(["-TERM", &self.child.id().to_string()]).probe();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server's configuration, as environment variables: everything it needs, nothing from a
/// configuration file.
fn server_env(config: &Path, data_dir: &Path, addr: SocketAddr, smtp_url: &str) -> Vec<(String, OsString)> {
    let mut env: Vec<(String, OsString)> = vec![
        // An empty file, so that a developer's ./palisade.toml cannot change the run.
        ("PALISADE_CONFIG".into(), config.into()),
        ("PALISADE_LISTEN".into(), addr.to_string().into()),
        ("PALISADE_PUBLIC_URL".into(), format!("http://{addr}").into()),
        ("PALISADE_TLS__MODE".into(), "none".into()),
        ("PALISADE_METRICS_LISTEN".into(), "".into()),
        ("PALISADE_DATA_DIR".into(), data_dir.into()),
        ("PALISADE_WIDGET_DIR".into(), data_dir.join("widget").into()),
        ("PALISADE_SMTP_URL".into(), smtp_url.into()),
        ("PALISADE_LOG".into(), "warn".into()),
        // Long enough that the one token the run signs in for outlives it.
        ("PALISADE_ACCESS_TOKEN_TTL_SECS".into(), "3600".into()),
    ];
    // Rate limits far above what the run sends: with the defaults most generated requests
    // would be answered 429 (documented, so no failure, but testing nothing else). The limits
    // have tests of their own.
    for name in [
        "AUTH_REQUESTS_PER_MINUTE",
        "AUTH_BURST",
        "WS_CONNECTS_PER_MINUTE",
        "WS_CONNECT_BURST",
        "WS_SOCKETS_PER_ADDRESS",
        "CONNECTIONS_PER_ADDRESS",
        "MESSAGES_PER_MINUTE",
        "MESSAGE_BURST",
        "WS_FRAMES_PER_MINUTE",
        "WS_FRAME_BURST",
        "API_REQUESTS_PER_MINUTE",
        "API_BURST",
    ] {
        env.push((format!("PALISADE_{name}"), "1000000".into()));
    }
    env
}

/// A free loopback port (another process could take it before the server binds it; the run is
/// then an error, not a wrong result).
fn free_port() -> Result<SocketAddr> {
    let probe = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    probe.local_addr().context("finding a free port")
}

/// One HTTP/1.1 exchange with `Connection: close`: (status, body). The server answers JSON
/// with a Content-Length, so the body is everything after the headers.
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&serde_json::Value>) -> Result<(u16, String)> {
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).with_context(|| format!("connecting to {addr}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.map(serde_json::Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: {ORIGIN}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).with_context(|| format!("sending {method} {path}"))?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).with_context(|| format!("reading the answer to {method} {path}"))?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("no status line in the answer to {method} {path}: {head}"))?;
    Ok((status, body.to_owned()))
}

fn wait_until_healthy(server: &mut Server, addr: SocketAddr) -> Result<()> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        if let Some(status) = server.child.try_wait().context("waiting for the server")? {
            bail!("the server exited ({status}) before answering:\n{}", server.log_tail());
        }
        if matches!(http(addr, "GET", "/healthz", None), Ok((200, _))) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the server did not answer /healthz within {STARTUP_TIMEOUT:?}:\n{}", server.log_tail());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Signs a new person up on [`SITE`] the way the widget does (ask for a link, follow the mailed
/// link, choose a password) and returns their access token.
fn sign_up(addr: SocketAddr, runtime: &tokio::runtime::Runtime, mail: &SmtpSink) -> Result<String> {
    let page = format!("{ORIGIN}/help");
    let ask = serde_json::json!({"site": SITE, "email": EMAIL, "return_to": page});
    let (status, body) = http(addr, "POST", "/api/v1/auth/register", Some(&ask))?;
    if status != 202 {
        bail!("POST /api/v1/auth/register answered {status}: {body}");
    }
    let mailed = runtime.block_on(mail.wait_for_mail_to(EMAIL, 1)).context("no sign-up mail within 10 s")?;
    let token = mailed.token(&page, SIGN_UP_FRAGMENT).context("the sign-up mail holds no sign-up link")?;
    let complete = serde_json::json!({
        "site": SITE, "token": token, "display_name": "Schemathesis", "password": PASSWORD,
    });
    let (status, body) = http(addr, "POST", "/api/v1/auth/register/complete", Some(&complete))?;
    if status != 201 {
        bail!("POST /api/v1/auth/register/complete answered {status}: {body}");
    }
    let answer: serde_json::Value = serde_json::from_str(&body).context("the sign-up answer is not JSON")?;
    answer["access_token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no access_token in the sign-up answer: {body}"))
}

/// (passed, failed) operations from schemathesis's JUnit report: one `<testcase>` per
/// operation, failed when it holds a `<failure` or an `<error`.
pub fn tally_junit(xml: &str) -> (u64, u64) {
    let mut passed = 0;
    let mut failed = 0;
    for case in xml.split("<testcase").skip(1) {
        // A self-closed testcase ends at the first "/>"; otherwise at "</testcase>".
        let case = match (case.find("/>"), case.find('>')) {
            (Some(close), Some(open)) if close < open => &case[..close],
            _ => case.split("</testcase>").next().unwrap_or(case),
        };
        if case.contains("<failure") || case.contains("<error") {
            failed += 1;
        } else {
            passed += 1;
        }
    }
    (passed, failed)
}

/// schemathesis's configuration: [`CONFIG`], the hooks, and the headers of every request: the
/// person's token (here rather than on the command line, which is echoed into CI logs) and the
/// Origin the site allows (the API refuses cross-origin requests from anywhere else).
fn config_file(hooks: &Path, token: &str) -> String {
    // TOML literal strings: no escapes, and neither a path under target/ nor a JWT holds a `'`.
    format!(
        "hooks = '{}'\nheaders = {{ Authorization = 'Bearer {token}', Origin = '{ORIGIN}' }}\n{CONFIG}",
        hooks.display()
    )
}

/// The operation that can end the run's own session: schemathesis learns the session's id from
/// `GET /auth/sessions` and, rightly, gets it ended, after which every request is refused 401.
/// So it runs last, alone, once everything else has been tested signed in.
const ENDS_SESSIONS: &str = "DELETE /api/v1/auth/sessions/{id}";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    AllButEndingSessions,
    EndingSessions,
}

/// The schemathesis command line, with its configuration file (see [`config_file`]).
fn schemathesis_command(addr: SocketAddr, config: &Path, pass: Pass, junit: &Path) -> Cmd {
    let seed = std::env::var("PALISADE_TEST_SCHEMATHESIS_SEED").unwrap_or_else(|_| DEFAULT_SEED.to_owned());
    let filter = match pass {
        Pass::AllButEndingSessions => "--exclude-name",
        Pass::EndingSessions => "--include-name",
    };
    Cmd::new(tools::schemathesis_bin())
        .arg("--config-file")
        .arg(config)
        .arg("run")
        .args([filter, ENDS_SESSIONS])
        .arg(format!("http://{addr}/api/v1/openapi.json"))
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", &seed])
        // One worker: with two, CPython 3.11's `ast` module races when hypothesis reads lambda
        // sources in both threads at once ("AST constructor recursion depth mismatch"), an
        // error of the tool that failed operations at random. One is also reproducible.
        .args(["--workers", "1"])
        .args(["--request-timeout", "10"])
        .args(["--generation-database", "none"])
        .args(["--report", "junit"])
        .arg("--report-junit-path")
        .arg(junit)
        .arg("--no-color")
}

/// `cargo xtask schemathesis`: builds just the server, then [`run`].
pub fn run_alone() -> Result<(u64, u64)> {
    run(Cmd::new("cargo").args(["build", "-p", "palisade-server"]))
}

/// Builds the server with `build` (which must leave target/debug/palisade-server up to date),
/// starts it, signs a person up, runs schemathesis; (passed, failed) operations. An error (no
/// server, no sign-up, no report) is one failed check to the caller.
pub fn run(build: Cmd) -> Result<(u64, u64)> {
    // Cheap when present; so that `cargo xtask schemathesis` works without a full setup.
    println!("schemathesis: {}", tools::ensure_schemathesis(&mut tools::Apt::default())?);
    build.run()?;
    let binary = paths::target_dir().join("debug").join("palisade-server");
    let work = paths::target_dir().join("schemathesis");
    let data_dir = work.join("data");
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("removing {}", work.display()))?;
    }
    fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    {
        use std::os::unix::fs::DirBuilderExt as _;
        // The server keeps its keys here and insists on a private directory.
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting a runtime for the mail sink")?;
    let mail = runtime.block_on(SmtpSink::start()).context("starting the mail sink")?;
    let addr = free_port()?;

    let config = work.join("palisade.toml");
    fs::write(&config, "").with_context(|| format!("writing {}", config.display()))?;
    let env = server_env(&config, &data_dir, addr, &mail.url());
    let site_add = ["site", "add", SITE, "--name", "Schemathesis", "--origin", ORIGIN];
    env.iter().fold(Cmd::new(&binary), |cmd, (key, value)| cmd.env(key, value)).args(site_add).run()?;
    let log = work.join("server.log");
    let log_file = fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    println!("$ palisade-server serve (on {addr}, log in {})", log.display());
    let child = Command::new(&binary)
        .arg("serve")
        .envs(env.iter().map(|(key, value)| (key, value)))
        .env("PATH", crate::cmd::tool_path())
        .current_dir(&data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .context("starting palisade-server")?;
    let mut server = Server { child, log };
    wait_until_healthy(&mut server, addr)?;
    let token = sign_up(addr, &runtime, &mail)?;

    let hooks = work.join("hooks.py");
    fs::write(&hooks, HOOKS).with_context(|| format!("writing {}", hooks.display()))?;
    let st_config = work.join("schemathesis.toml");
    fs::write(&st_config, config_file(&hooks, &token)).with_context(|| format!("writing {}", st_config.display()))?;
    let (mut passed, mut failed, mut all_ran) = (0, 0, true);
    for (pass, name) in [(Pass::AllButEndingSessions, "junit.xml"), (Pass::EndingSessions, "junit-sessions.xml")] {
        let junit = work.join(name);
        // In the work directory: schemathesis keeps a cache (`.schemathesis/`) where it runs.
        let status = schemathesis_command(addr, &st_config, pass, &junit).current_dir(&work).status()?;
        let xml = fs::read_to_string(&junit).with_context(|| format!("reading {}", junit.display()))?;
        let (pass_passed, pass_failed) = tally_junit(&xml);
        passed += pass_passed;
        failed += pass_failed;
        all_ran &= status.success() || pass_failed > 0;
    }
    if let Some(status) = server.child.try_wait().context("checking on the server")? {
        println!("error: the server exited ({status}) during the run:\n{}", server.log_tail());
        failed += 1;
    }
    if !all_ran {
        // Schemathesis failed without failing an operation: an error of the run itself.
        println!("error: schemathesis failed without a failed operation (its output is above)");
        failed += 1;
    }
    println!("schemathesis: {passed} operations passed, {failed} failed; server log: {}", server.log.display());
    Ok((passed, failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_junit_test_cases() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="schemathesis" tests="4" failures="1" errors="1">
<testcase name="GET /api/v1/rooms" time="1.0"/>
<testcase name="POST /api/v1/rooms" time="1.0"><failure type="failure" message="x">Server error</failure></testcase>
<testcase name="GET /api/v1/presence" time="0.1"></testcase>
<testcase name="GET /api/v1/ws" time="0.1"><error type="error" message="y">boom</error></testcase>
</testsuite></testsuites>"#;
        assert_eq!(tally_junit(xml), (2, 2));
        assert_eq!(tally_junit(""), (0, 0));
    }
}
