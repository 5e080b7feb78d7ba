//! `--enumeration-probe N`: whether timing tells existing accounts from unknown emails. For N
//! accounts and N unknown emails, each tried once (so the sign-in back-off never starts), it
//! times a wrong-password sign-in, a sign-up request and a reset request, alternating existing
//! and unknown so that drift affects both alike, and prints the medians side by side.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::{Value, json};

use crate::{ORIGIN, SITE, Server, percentile, register};

/// One request kind, timed for an existing and an unknown email.
struct Probe {
    name: &'static str,
    path: &'static str,
    body: fn(&str) -> Value,
    /// The status both must answer with: equal statuses are part of the claim.
    status: u16,
}

const PROBES: [Probe; 3] = [
    Probe {
        name: "sign-in, wrong password",
        path: "/api/v1/auth/login",
        body: |email| json!({"site": SITE, "email": email, "password": "not the password at all"}),
        status: 401,
    },
    Probe {
        name: "sign-up request",
        path: "/api/v1/auth/register",
        body: |email| json!({"site": SITE, "email": email, "return_to": ORIGIN}),
        status: 202,
    },
    Probe {
        name: "reset request",
        path: "/api/v1/auth/password/forgot",
        body: |email| json!({"site": SITE, "email": email, "return_to": ORIGIN}),
        status: 202,
    },
];

async fn timed(http: &reqwest::Client, base: &str, probe: &Probe, email: &str) -> Result<Duration> {
    let started = Instant::now();
    let response =
        http.post(format!("{base}{}", probe.path)).header("origin", ORIGIN).json(&(probe.body)(email)).send().await?;
    let status = response.status().as_u16();
    response.bytes().await?;
    let elapsed = started.elapsed();
    if status != probe.status {
        bail!("{} for {email}: {status}, not {}", probe.name, probe.status);
    }
    Ok(elapsed)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub async fn run(http: &reqwest::Client, server: &Server, accounts: usize) -> Result<()> {
    let existing: Vec<String> = (0..accounts).map(|n| format!("member{n}@load.example")).collect();
    for email in &existing {
        register(http, server, email).await?;
    }
    println!("palisade-load: enumeration probe, {accounts} existing and {accounts} unknown emails per request kind");
    println!("{:<24} {:>16} {:>16} {:>12}", "", "existing p50", "unknown p50", "difference");
    for (kind, probe) in PROBES.iter().enumerate() {
        let (mut known, mut unknown) = (Vec::new(), Vec::new());
        for (n, email) in existing.iter().enumerate() {
            let stranger = format!("stranger{kind}-{n}@load.example");
            // Alternating which goes first keeps a warm-up or cache effect off one side.
            if n % 2 == 0 {
                known.push(timed(http, &server.base, probe, email).await?);
                unknown.push(timed(http, &server.base, probe, &stranger).await?);
            } else {
                unknown.push(timed(http, &server.base, probe, &stranger).await?);
                known.push(timed(http, &server.base, probe, email).await?);
            }
        }
        known.sort();
        unknown.sort();
        let (a, b) = (percentile(&known, 50.0), percentile(&unknown, 50.0));
        println!("{:<24} {:>13.2} ms {:>13.2} ms {:>+9.2} ms", probe.name, ms(a), ms(b), ms(a) - ms(b));
    }
    Ok(())
}
