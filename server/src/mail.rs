//! Outgoing mail (sign-up and password-reset links), over SMTP with lettre. Requests send in the
//! background so that one for an address with an account takes as long as one without; operator
//! commands wait, to say whether the mail went.

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("smtp_url is not a usable SMTP URL: {0}")]
    Url(String),
    #[error("mail_from is not a mailbox: {0}")]
    From(String),
    #[error("this server sends no mail (smtp_url is not set)")]
    NotConfigured,
    // The address stays out of the message, as out of every log line.
    #[error("the address is not one mail can be sent to")]
    To,
    #[error("could not build the message: {0}")]
    Build(String),
    #[error("sending failed: {0}")]
    Send(String),
    #[error("the mail server did not take the message within {} s", SEND_WAIT.as_secs())]
    Timeout,
}

/// How long one message may take to hand over, so that a mail server that accepts connections
/// and then says nothing cannot hold a command (or a pile of background tasks) forever.
const SEND_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The configured mail transport, or none (then features that need mail answer 503).
#[derive(Clone)]
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("configured", &self.transport.is_some()).finish_non_exhaustive()
    }
}

impl Mailer {
    pub fn new(config: &Config) -> Result<Self, MailError> {
        let from =
            config.mail_from.parse().map_err(|e: lettre::address::AddressError| MailError::From(e.to_string()))?;
        let transport = match &config.smtp_url {
            None => None,
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    // The URL may hold a password: say what is wrong, not what it is.
                    .map_err(|e| MailError::Url(e.to_string().replace(url.expose(), "<smtp_url>")))?
                    .build(),
            ),
        };
        Ok(Self { transport, from })
    }

    pub fn is_configured(&self) -> bool {
        self.transport.is_some()
    }

    /// Sends a plain-text message and waits until the mail server took it. No error holds the
    /// body: it holds a link that is a credential.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), MailError> {
        let transport = self.transport.as_ref().ok_or(MailError::NotConfigured)?;
        let to: Mailbox = to.parse().map_err(|_| MailError::To)?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .body(body)
            .map_err(|e| MailError::Build(e.to_string()))?;
        match tokio::time::timeout(SEND_WAIT, transport.send(message)).await {
            Ok(sent) => sent.map(drop).map_err(|e| MailError::Send(e.to_string())),
            Err(_) => Err(MailError::Timeout),
        }
    }

    /// Queues a plain-text message (nothing, when no mail is configured); failures are logged.
    pub fn send_later(&self, to: &str, subject: &str, body: String) {
        if !self.is_configured() {
            return;
        }
        let (mailer, to, subject) = (self.clone(), to.to_owned(), subject.to_owned());
        tokio::spawn(async move {
            if let Err(error) = mailer.send(&to, &subject, body).await {
                tracing::error!(%error, "sending mail failed");
            }
        });
    }
}
