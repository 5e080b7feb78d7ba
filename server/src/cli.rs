//! The command line: `serve`, and site administration.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use palisade_protocol::SitePublicId;
use palisade_protocol::roles::Role;
use palisade_store::{Store, StoreError, sites};

use crate::config::Config;
use crate::origins;

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

#[derive(Debug, Clone, Copy, Subcommand)]
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
    /// List sites and their allowed origins.
    List,
    /// Choose which roles must use a second factor (default: owner, admin, moderator). Such a
    /// person who signs in without one must set it up before doing anything else.
    MfaPolicy {
        public_id: SitePublicId,
        /// Comma-separated roles; give the flag no value to require it of nobody.
        #[arg(long, num_args = 0.., value_delimiter = ',')]
        roles: Vec<Role>,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PALISADE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
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
        let scheme = if running.tls { "https" } else { "http" };
        tracing::info!(addr = %running.addr, public_url = %config.public_url, "listening on {scheme}://{}", running.addr);
        running.run().await.map_err(|e| e.to_string())
    })
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
    match command {
        SiteCommand::Add { public_id, name, origins: allowed, if_exists } => {
            for origin in &allowed {
                origins::validate(origin)?;
            }
            let name = name.trim();
            palisade_protocol::limits::check_display_name(name).map_err(|e| format!("site name: {e}"))?;
            let created = store.with_connection(|c| sites::create(c, &public_id, name, &allowed));
            let (site, verb) = match (created, if_exists) {
                (Ok(site), _) => (site, "created"),
                (Err(StoreError::SiteExists(_)), IfExists::Update) => (
                    store
                        .with_connection(|c| sites::update(c, &public_id, name, &allowed))
                        .map_err(|e| e.to_string())?,
                    "updated",
                ),
                (Err(StoreError::SiteExists(_)), IfExists::Fail) => {
                    return Err(format!("site {public_id} already exists (use --if-exists update to change it)"));
                }
                (Err(e), _) => return Err(e.to_string()),
            };
            writeln!(out, "{verb} site {} ({}) allowing {}", site.public_id, site.name, site.allowed_origins.join(" "))
                .map_err(|e| e.to_string())
        }
        SiteCommand::MfaPolicy { public_id, roles } => {
            store.with_connection(|c| sites::set_mfa_required_roles(c, &public_id, &roles)).map_err(|e| match e {
                StoreError::NotFound => format!("there is no site {public_id}"),
                other => other.to_string(),
            })?;
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            let who = if names.is_empty() { "nobody".to_owned() } else { names.join(", ") };
            writeln!(out, "site {public_id}: a second factor is required of {who} (from their next sign-in)")
                .map_err(|e| e.to_string())
        }
        SiteCommand::List => {
            for site in store.with_connection(sites::list).map_err(|e| e.to_string())? {
                writeln!(out, "{}\t{}\t{}", site.public_id, site.name, site.allowed_origins.join(" "))
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        }
    }
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
    // Straight into the audit table: the CLI runs no background writer. The email stays out.
    let record = palisade_store::audit::AuditRecord {
        id: uuid::Uuid::now_v7(),
        at: now,
        event: event.into(),
        outcome: "success".into(),
        site_id: Some(site.id),
        actor_id: Some(user.0),
        ip: None,
        user_agent: None,
        details: details.to_string(),
    };
    store.with_connection(|c| palisade_store::audit::append(c, &[record])).map_err(|e| e.to_string())?;
    writeln!(std::io::stdout().lock(), "{line}").map_err(|e| e.to_string())
}
