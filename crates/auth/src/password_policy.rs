//! Which new passwords are accepted: 12 to 128 characters of anything (the protocol's limits),
//! and not guessable, judged by zxcvbn's dictionaries of common passwords, names, words and
//! keyboard patterns, including the person's own email and display name. No composition rules.

use zxcvbn::Score;

/// zxcvbn's "safely unguessable: moderate protection from offline slow-hash scenario".
const MIN_SCORE: Score = Score::Three;

/// Why a password was refused, in words the person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WeakPassword(pub String);

/// Accepts `password` or says why not. `related` are values an attacker would try first (the
/// person's email, name, the site's name).
pub fn check(password: &str, related: &[&str]) -> Result<(), WeakPassword> {
    // Email local parts and names are what people reuse; split emails so both halves count.
    let mut inputs: Vec<&str> = Vec::new();
    for value in related {
        inputs.push(value);
        inputs.extend(value.split(['@', '.', ' ']).filter(|part| part.len() >= 3));
    }
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if estimate.score() >= MIN_SCORE {
        return Ok(());
    }
    let mut reason = String::from("This password is too easy to guess.");
    if let Some(feedback) = estimate.feedback() {
        if let Some(warning) = feedback.warning() {
            reason = format!("{warning}.");
            reason = reason.replace("..", ".");
        }
        for suggestion in feedback.suggestions().iter().take(2) {
            reason.push(' ');
            reason.push_str(&suggestion.to_string());
        }
    }
    Err(WeakPassword(reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_and_patterned_passwords_are_refused_with_a_reason() {
        for weak in ["password1234", "qwertyuiopasdf", "123456789012", "iloveyou2024!"] {
            let refused = check(weak, &[]).expect_err(weak);
            assert!(!refused.0.is_empty(), "{weak}");
        }
    }

    #[test]
    fn the_persons_own_details_do_not_make_a_password() {
        let details = ["ada.lovelace@example.org", "Ada Lovelace"];
        // Each would pass for a stranger; built from the person's own details, each is refused.
        for derived in ["ada.lovelace@example.org", "lovelace2024!", "xylophonelovelace"] {
            assert!(check(derived, &[]).is_ok(), "{derived}");
            assert!(check(derived, &details).is_err(), "{derived}");
        }
    }

    #[test]
    fn long_unusual_passphrases_pass_without_composition_rules() {
        assert!(check("correct horse battery staple", &[]).is_ok());
        assert!(check("ça ne s'invente pas, ma chère", &[]).is_ok());
        assert!(check("vulpine-ocelot-grapefruit-ledger", &[]).is_ok());
    }
}
