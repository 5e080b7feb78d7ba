//! `--enumeration-probe N`: whether timing tells existing accounts from unknown emails. For N
//! accounts and N unknown emails, each tried once (so the sign-in back-off never starts), it
//! times a wrong-password sign-in, a sign-up request and a reset request, rotating the order so
//! that drift affects all alike, and prints the medians side by side. A second set of unknown
//! emails measured the same way gives the noise floor: a difference no larger than the gap
//! between two sets of unknown emails is not a signal.

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
    println!("{:<24} {:>14} {:>14} {:>12} {:>12}", "", "existing p50", "unknown p50", "difference", "noise floor");
    for (kind, probe) in PROBES.iter().enumerate() {
        let mut series = [Vec::new(), Vec::new(), Vec::new()];
        for (n, email) in existing.iter().enumerate() {
            let emails =
                [email.clone(), format!("stranger{kind}-{n}@load.example"), format!("other{kind}-{n}@load.example")];
            for turn in 0..3 {
                let which = (n + turn) % 3;
                series[which].push(timed(http, &server.base, probe, &emails[which]).await?);
            }
        }
        let [known, unknown, control] = series.map(|mut times| {
            times.sort();
            ms(percentile(&times, 50.0))
        });
        println!(
            "{:<24} {:>11.2} ms {:>11.2} ms {:>+9.2} ms {:>9.2} ms",
            probe.name,
            known,
            unknown,
            known - unknown,
            (unknown - control).abs()
        );
    }
    Ok(())
}
