//! The command line: `serve`, and site administration.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use palisade_protocol::roles::Role;
use palisade_protocol::sites::SignUpMode;
use palisade_protocol::{SitePublicId, UserId};
use palisade_store::sites::{self, Site, SiteChanges};
use palisade_store::{Store, StoreError};
use serde_json::json;
use uuid::Uuid;

use crate::audit::Audit;
use crate::config::Config;
use crate::mail::{MailError, Mailer};
use crate::mail_links;
use crate::metrics::Metrics;
use crate::routes::sign_up;
use crate::routes::site_admin::{check_origins, checked_site_name};
use crate::sealing::Sealer;

/// A century: any longer is keeping forever in all but name, and the bound keeps the retention
/// arithmetic far from overflowing.
const RETENTION_DAYS_MAX: i64 = 36_500;

#[derive(Debug, Parser)]
#[command(name = "palisade-server", version, about = "The Palisade chat server")]
struct Cli {
    /// Configuration file (default: ./palisade.toml when present).
    #[arg(long, global = true, env = "PALISADE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Manage sites (tenants): who may embed the widget.
    #[command(subcommand)]
    Site(SiteCommand),
    /// Manage the encryption keys of data at rest.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Act on one person's account.
    User {
        #[command(subcommand)]
        action: UserAction,
        /// The site the account belongs to.
        #[arg(long, global = true)]
        site: Option<SitePublicId>,
        /// The account's email.
        #[arg(long, global = true)]
        email: Option<String>,
    },
}

#[derive(Debug, Clone, Subcommand)]
enum UserAction {
    /// Give the account a role on its site (owner, admin, moderator, member).
    Role {
        #[arg(long)]
        role: Role,
    },
    /// End every session of the account (it can sign in again).
    EndSessions,
    /// Refuse sign-in and end every session at once.
    Disable,
    /// Allow sign-in again.
    Enable,
    /// Mail the person a link to create their account, which works even on an invite-only site.
    Invite {
        /// The page with the widget that the link opens (default: the site's first origin).
        #[arg(long)]
        page: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Show each data key, its state, and how many stored values it seals.
    Status,
    /// Make a new active data key; running servers re-encrypt older values in the background.
    Rotate,
    /// Retire a data key that no stored value uses any more.
    Retire { id: u32 },
    /// Wrap every data key under a new key-encryption key (created 0600 if the file is missing).
    RotateKek {
        #[arg(long)]
        new_kek_file: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum IfExists {
    Fail,
    Update,
}

#[derive(Debug, Subcommand)]
enum SiteCommand {
    /// Create a site with its allowed origins and a default room.
    Add {
        /// Public id, as written in the embed snippet's data-site (a-z, 0-9, '-').
        public_id: SitePublicId,
        #[arg(long)]
        name: String,
        /// An origin allowed to embed the widget, exactly scheme://host[:port]. Repeatable.
        #[arg(long = "origin", required = true)]
        origins: Vec<String>,
        /// What to do when the site exists: fail, or replace its name and origins.
        #[arg(long, value_enum, default_value = "fail")]
        if_exists: IfExists,
    },
    /// List sites: allowed origins, who may sign up, how long messages are kept.
    List,
    /// Change a site's settings; what is not given stays as it is.
    Update {
        public_id: SitePublicId,
        #[arg(long)]
        name: Option<String>,
        /// Replaces every allowed origin, each exactly scheme://host[:port]. Repeatable.
        #[arg(long = "origin")]
        origins: Vec<String>,
        /// Who may create an account: open (anyone who asks), or invite-only (only the people
        /// invited with `user invite`).
        #[arg(long)]
        sign_up: Option<SignUpMode>,
        /// Delete messages once they are this many days old (1 to 36500).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=RETENTION_DAYS_MAX))]
        retention_days: Option<u32>,
        /// Keep messages forever, as a new site does.
        #[arg(long, conflicts_with = "retention_days")]
        keep_forever: bool,
    },
    /// Delete a site and everything of it: accounts, sessions, rooms, messages. Its audit trail
    /// stays.
    Remove {
        public_id: SitePublicId,
        /// The public id again, to show this is the site you mean to delete.
        #[arg(long)]
        confirm: String,
    },
    /// Choose which roles must use a second factor (default: owner, admin, moderator). Such a
    /// person who signs in without one must set it up before doing anything else.
    MfaPolicy {
        public_id: SitePublicId,
        /// Comma-separated roles; give the flag no value to require it of nobody.
        #[arg(long, num_args = 0.., value_delimiter = ',')]
        roles: Vec<Role>,
    },
}

/// Logs go to stderr: one JSON object per line (what log shippers parse, and a value can never
/// break out of its field), or, for a person at a terminal, coloured text.
/// `PALISADE_LOG_FORMAT=json|text` overrides the choice.
fn init_logging() {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_env("PALISADE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let text = match std::env::var("PALISADE_LOG_FORMAT").as_deref() {
        Ok("json") => false,
        Ok("text") => true,
        _ => std::io::stderr().is_terminal(),
    };
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if text { logs.try_init() } else { logs.json().flatten_event(true).with_current_span(false).try_init() };
}

/// Runs the CLI; the process exit code says whether it worked.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&config),
        Command::Site(command) => site(&config, command),
        Command::Keys(command) => keys(&config, command),
        Command::User { action, site, email } => user(&config, action, site, email),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: &Config) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async {
        let running = crate::start(config).map_err(|e| e.to_string())?;
        let stopper = running.stopper();
        tokio::spawn(async move {
            match crate::shutdown::signalled().await {
                Ok(signal) => {
                    tracing::info!(signal, "shutting down: open WebSockets are asked to reconnect elsewhere");
                    stopper.stop().await;
                }
                Err(error) => tracing::error!(%error, "cannot listen for shutdown signals"),
            }
        });
        if let Some(certificate) = running.certificate() {
            tokio::spawn(reload_on_sighup(certificate));
        }
        let scheme = if running.tls { "https" } else { "http" };
        tracing::info!(addr = %running.addr, public_url = %config.public_url, "listening on {scheme}://{}", running.addr);
        running.run().await.map_err(|e| e.to_string())
    })
}

/// Reloads the TLS certificate on every SIGHUP, as certificate renewal tools expect; a broken
/// renewal is logged and the certificate in use stays.
async fn reload_on_sighup(certificate: std::sync::Arc<crate::tls::Certificate>) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(hangups) => hangups,
        Err(error) => return tracing::error!(%error, "cannot listen for SIGHUP; the certificate will not be reloaded"),
    };
    while hangups.recv().await.is_some() {
        match certificate.reload() {
            Ok(()) => tracing::info!("SIGHUP: reloaded the TLS certificate"),
            Err(error) => tracing::error!(%error, "SIGHUP: the TLS certificate was not reloaded; the old one stays"),
        }
    }
}

fn open_store(config: &Config) -> Result<Store, String> {
    crate::private_files::private_dir(&config.data_dir).map_err(|e| e.to_string())?;
    Store::open(config.database_url().expose(), 2).map_err(|e| e.to_string())
}

fn keys(config: &Config, command: KeysCommand) -> Result<(), String> {
    use crate::sealing::admin;
    let store = open_store(config)?;
    let lines = match command {
        KeysCommand::Status => admin::status(config, &store),
        KeysCommand::Rotate => admin::rotate(config, &store).map(|line| vec![line]),
        KeysCommand::Retire { id } => admin::retire(config, &store, id).map(|line| vec![line]),
        KeysCommand::RotateKek { new_kek_file } => {
            admin::rotate_kek(config, &store, &new_kek_file).map(|line| vec![line])
        }
    }
    .map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    lines.iter().try_for_each(|line| writeln!(out, "{line}")).map_err(|e| e.to_string())
}

fn site(config: &Config, command: SiteCommand) -> Result<(), String> {
    let store = open_store(config)?;
    let mut out = std::io::stdout().lock();
    let line = match command {
        SiteCommand::Add { public_id, name, origins: allowed, if_exists } => {
            check_origins(&allowed)?;
            let name = checked_site_name(&name)?;
            let created = store.with_connection(|c| sites::create(c, &public_id, name, &allowed));
            let (site, verb, event) = match (created, if_exists) {
                (Ok(site), _) => (site, "created", "sensitive_create"),
                (Err(StoreError::SiteExists(_)), IfExists::Update) => {
                    let changes =
                        SiteChanges { name: Some(name.to_owned()), origins: Some(allowed), ..Default::default() };
                    let site = store
                        .with_connection(|c| sites::update(c, &public_id, &changes))
                        .map_err(no_site(&public_id))?;
                    (site, "updated", "sensitive_update")
                }
                (Err(StoreError::SiteExists(_)), IfExists::Fail) => {
                    return Err(format!("site {public_id} already exists (use --if-exists update to change it)"));
                }
                (Err(e), _) => return Err(e.to_string()),
            };
            let details = json!({"object": "site", "name": site.name, "origins": site.allowed_origins, "by": "cli"});
            audit(&store, site.id, None, event, details)?;
            format!("{verb} site {}", describe(&site))
        }
        SiteCommand::MfaPolicy { public_id, roles } => {
            let site = store
                .with_connection(|c| {
                    sites::set_mfa_required_roles(c, &public_id, &roles)?;
                    sites::find_by_public_id(c, &public_id)?.ok_or(StoreError::NotFound)
                })
                .map_err(no_site(&public_id))?;
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            audit(
                &store,
                site.id,
                None,
                "sensitive_update",
                json!({"object": "site", "mfa_required_roles": names, "by": "cli"}),
            )?;
            let who = if names.is_empty() { "nobody".to_owned() } else { names.join(", ") };
            format!("site {public_id}: a second factor is required of {who} (from their next sign-in)")
        }
        SiteCommand::List => {
            let lines: Vec<String> = store
                .with_connection(sites::list)
                .map_err(|e| e.to_string())?
                .iter()
                .map(|site| {
                    let origins = site.allowed_origins.join(" ");
                    format!("{}\t{}\t{origins}\tsign-up {}\t{}", site.public_id, site.name, site.sign_up, kept(site))
                })
                .collect();
            lines.join("\n")
        }
        SiteCommand::Update { public_id, name, origins, sign_up, retention_days, keep_forever } => {
            check_origins(&origins)?;
            let changes = SiteChanges {
                name: name.as_deref().map(checked_site_name).transpose()?.map(str::to_owned),
                origins: (!origins.is_empty()).then_some(origins),
                sign_up,
                retention_days: if keep_forever { Some(None) } else { retention_days.map(Some) },
            };
            if changes == SiteChanges::default() {
                return Err(
                    "nothing to change: give --name, --origin, --sign-up, --retention-days or --keep-forever".into()
                );
            }
            let site =
                store.with_connection(|c| sites::update(c, &public_id, &changes)).map_err(no_site(&public_id))?;
            // Only what changed; a null retention means kept forever from now on.
            let mut details = json!({"object": "site", "by": "cli"});
            let changed = [
                ("name", changes.name.map(serde_json::Value::from)),
                ("origins", changes.origins.map(serde_json::Value::from)),
                ("sign_up", changes.sign_up.map(|mode| mode.as_str().into())),
                ("retention_days", changes.retention_days.map(serde_json::Value::from)),
            ];
            for (key, value) in changed {
                if let Some(value) = value {
                    details[key] = value;
                }
            }
            audit(&store, site.id, None, "sensitive_update", details)?;
            format!("updated site {}", describe(&site))
        }
        SiteCommand::Remove { public_id, confirm } => {
            if confirm != public_id.as_str() {
                return Err(format!("--confirm must repeat the public id ({public_id}) exactly; nothing was removed"));
            }
            let removed = store.with_connection(|c| sites::remove(c, &public_id)).map_err(no_site(&public_id))?;
            let sites::Removed { id, users, rooms, messages } = removed;
            // The trail keeps the public id: nothing else will remember which site this was.
            let details = json!({
                "object": "site",
                "public_id": public_id.as_str(),
                "users": users,
                "rooms": rooms,
                "messages": messages,
                "by": "cli",
            });
            audit(&store, id, None, "sensitive_delete", details)?;
            format!(
                "removed site {public_id}: {users} accounts, {rooms} rooms and {messages} messages; the audit trail stays"
            )
        }
    };
    writeln!(out, "{line}").map_err(|e| e.to_string())
}

/// Turns "not found" into the message an operator can act on.
fn no_site(public_id: &SitePublicId) -> impl Fn(StoreError) -> String + '_ {
    move |e| match e {
        StoreError::NotFound => format!("there is no site {public_id}"),
        other => other.to_string(),
    }
}

fn kept(site: &Site) -> String {
    match site.retention_days {
        None => "messages kept forever".to_owned(),
        Some(days) => format!("messages kept {days} days"),
    }
}

fn describe(site: &Site) -> String {
    let origins = site.allowed_origins.join(" ");
    format!("{} ({}) allowing {origins}; sign-up {}; {}", site.public_id, site.name, site.sign_up, kept(site))
}

/// Appends one event straight to the audit table: the CLI runs no background writer.
fn audit(
    store: &Store,
    site: Uuid,
    actor: Option<UserId>,
    event: &str,
    details: serde_json::Value,
) -> Result<(), String> {
    let record = palisade_store::audit::AuditRecord {
        id: Uuid::now_v7(),
        at: palisade_store::now_millis(),
        event: event.into(),
        outcome: "success".into(),
        site_id: Some(site),
        actor_id: actor.map(|a| a.0),
        ip: None,
        user_agent: None,
        details: details.to_string(),
    };
    store.with_connection(|c| palisade_store::audit::append(c, &[record])).map_err(|e| e.to_string())
}

fn user(config: &Config, action: UserAction, site: Option<SitePublicId>, email: Option<String>) -> Result<(), String> {
    let (Some(site), Some(email)) = (site, email) else {
        return Err("name the account with --site and --email".into());
    };
    let store = open_store(config)?;
    let found = store.with_connection(|c| sites::find_by_public_id(c, &site)).map_err(|e| e.to_string())?;
    let site = found.ok_or_else(|| format!("there is no site {site}"))?;
    let index = crate::sealing::admin::email_index(config, &site.id, &email).map_err(|e| e.to_string())?;
    let now = palisade_store::now_millis();
    let no_account = || format!("site {} has no account with that email", site.public_id);
    let (user, event, details, line) = match action {
        UserAction::Role { role } => {
            let user = store
                .with_connection(|c| palisade_store::users::set_role(c, &site.id, &index, role))
                .map_err(|e| e.to_string())?
                .ok_or_else(no_account)?;
            let details = serde_json::json!({"change": "role", "role": role.as_str(), "by": "cli"});
            (user, "user_updated", details, format!("role set to {role}"))
        }
        UserAction::EndSessions => {
            let credentials = store
                .with_connection(|c| palisade_store::users::find_credentials(c, &site.id, &index))
                .map_err(|e| e.to_string())?
                .ok_or_else(no_account)?;
            let user = credentials.user.id;
            let ended = store
                .with_connection(|c| palisade_store::sessions::revoke_all(c, &user, None, now, "ended_by_operator"))
                .map_err(|e| e.to_string())?;
            let details = serde_json::json!({"reason": "ended_by_operator", "sessions": ended, "by": "cli"});
            (user, "session_expired", details, format!("ended {ended} sessions; open sockets close within seconds"))
        }
        UserAction::Invite { page } => {
            let user = invite(config, &store, &site, &email, page.as_deref())?;
            let details = serde_json::json!({"invited": true, "mailed": true, "by": "cli"});
            (user, "user_sign_up_requested", details, "invitation mailed; its link works for 24 hours".to_owned())
        }
        UserAction::Disable | UserAction::Enable => {
            let disable = matches!(action, UserAction::Disable);
            let user = store
                .with_connection(|c| palisade_store::users::set_disabled(c, &site.id, &index, disable, now))
                .map_err(|e| e.to_string())?
                .ok_or_else(no_account)?;
            let change = if disable { "disabled" } else { "enabled" };
            let line = if disable { "disabled; every session has ended" } else { "enabled" };
            (user, "user_updated", serde_json::json!({"change": change, "by": "cli"}), line.to_owned())
        }
    };
    // The email stays out of the trail.
    audit(&store, site.id, Some(user), event, details)?;
    writeln!(std::io::stdout().lock(), "{line}").map_err(|e| e.to_string())
}

/// Mails `email` a sign-up link that works even on an invite-only site, and returns the id the
/// account will get (so the trail links the invitation to the account).
fn invite(config: &Config, store: &Store, site: &Site, email: &str, page: Option<&str>) -> Result<UserId, String> {
    palisade_protocol::limits::check_email(email).map_err(|e| e.to_string())?;
    let page = match page {
        Some(page) => page.to_owned(),
        None => site.allowed_origins.first().map(|origin| format!("{origin}/")).ok_or_else(|| {
            format!("site {} allows no origin, so there is no page for the link to open", site.public_id)
        })?,
    };
    let page = mail_links::page_on_allowed_origin(&page, &site.allowed_origins)
        .ok_or_else(|| format!("{page:?} is not a page on an origin site {} allows", site.public_id))?
        .to_owned();
    actix_web::rt::System::new().block_on(async {
        let mailer = Mailer::new(config).map_err(|e| e.to_string())?;
        if !mailer.is_configured() {
            return Err(MailError::NotConfigured.to_string());
        }
        // Sealing never records anything, but the sealer wants somewhere to report a value that
        // does not open.
        let audit = Audit::spawn(store.clone(), Arc::new(Metrics::default()));
        let sealer = Sealer::load(config, store, audit).map_err(|e| e.to_string())?;
        let pending = sign_up::NewLink::new(&sealer, &site.id, email).map_err(|e| e.to_string())?;
        let (site_id, index) = (site.id, pending.email_index.clone());
        let link = store
            .with_connection(|c| {
                if palisade_store::users::find_credentials(c, &site_id, &index)?.is_some() {
                    return Ok(None);
                }
                pending.store(c, site_id, &page, true).map(Some)
            })
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!("site {} already has an account with that email; nothing was sent", site.public_id)
            })?;
        let (subject, text) = sign_up::link_mail(&site.name, &link, true);
        let to = palisade_vault::normalize_email(email);
        mailer.send(&to, &subject, text).await.map_err(|e| format!("the invitation was not mailed: {e}"))?;
        Ok(pending.user_id)
    })
}
