//! `cargo deny check advisories licenses bans sources`, offline against the advisory database
//! snapshot in ../shared/advisory-db when it is there.
//!
//! cargo-deny only reads an advisory database that is a git repository in
//! `<db-path>/<name>-<hash of its URL>`, and judges its age by the HEAD commit; the snapshot
//! is a plain directory, so it is copied to where cargo-deny looks for the default database and
//! committed there. The copy is refreshed when the snapshot changes (its SNAPSHOT file) and
//! before cargo-deny would call it stale.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};

use crate::cmd::Cmd;
use crate::paths;

/// deny.toml's `db-path`, relative to the repository root (cargo-deny runs there).
pub const DB_ROOT: &str = "target/advisory-dbs";
/// The folder cargo-deny derives from its default `db-urls` (the RustSec advisory-db).
pub const DB_DIR: &str = "advisory-db-3157b0e258782691";
/// cargo-deny refuses an offline database older than 90 days (`maximum-db-staleness`).
const REFRESH_AFTER: Duration = Duration::from_secs(30 * 24 * 60 * 60);
const CHECKS: &[&str] = &["check", "advisories", "licenses", "bans", "sources"];

pub fn run() -> Result<()> {
    let snapshot_db = paths::shared_dir().join("advisory-db");
    if snapshot_db.join("SNAPSHOT").is_file() {
        let copy = paths::root().join(DB_ROOT).join(DB_DIR);
        prepare_offline_db(&snapshot_db, &copy)?;
        Cmd::new("cargo").args(["deny", "--offline"]).args(CHECKS).run()
    } else {
        println!("no advisory database snapshot at {}: cargo deny fetches the database", snapshot_db.display());
        Cmd::new("cargo").arg("deny").args(CHECKS).run()
    }
}

fn prepare_offline_db(snapshot_db: &Path, copy: &Path) -> Result<()> {
    let snapshot = fs::read_to_string(snapshot_db.join("SNAPSHOT"))
        .with_context(|| format!("reading {}/SNAPSHOT", snapshot_db.display()))?;
    if copy_is_current(copy, &snapshot) {
        println!("advisory db: {} ({})", copy.display(), snapshot.trim());
        return Ok(());
    }
    println!("advisory db: copying {} ({}) to {}", snapshot_db.display(), snapshot.trim(), copy.display());
    if copy.exists() {
        fs::remove_dir_all(copy).with_context(|| format!("removing {}", copy.display()))?;
    }
    copy_dir(snapshot_db, copy)?;
    let git = |args: &[&str]| {
        Cmd::new("git")
            .arg("-C")
            .arg(copy)
            .args(["-c", "user.name=palisade", "-c", "user.email=ci@localhost"])
            .args(["-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null"])
            .args(args)
            .read()
    };
    git(&["init", "-q"])?;
    git(&["add", "-A"])?;
    git(&["commit", "-q", "--no-verify", "-m", &format!("advisory-db {}", snapshot.trim())])?;
    Ok(())
}

/// The copy holds this snapshot, is a repository with a commit, and is not near staleness.
fn copy_is_current(copy: &Path, snapshot: &str) -> bool {
    let same_snapshot = fs::read_to_string(copy.join("SNAPSHOT")).is_ok_and(|copied| copied == snapshot);
    let fresh = fs::metadata(copy.join(".git").join("HEAD"))
        .and_then(|m| m.modified())
        .is_ok_and(|modified| SystemTime::now().duration_since(modified).is_ok_and(|age| age < REFRESH_AFTER));
    same_snapshot
        && fresh
        && Cmd::new("git").arg("-C").arg(copy).args(["rev-parse", "--verify", "-q", "HEAD"]).probe().is_some()
}

/// Copies a directory tree (files and directories; no `.git`).
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("listing {}", from.display()))? {
        let entry = entry.with_context(|| format!("listing {}", from.display()))?;
        let name = entry.file_name();
        if name == ".git" {
            continue;
        }
        let source = entry.path();
        let target = to.join(&name);
        let metadata = fs::metadata(&source).with_context(|| format!("reading {}", source.display()))?;
        if metadata.is_dir() {
            copy_dir(&source, &target)?;
        } else if metadata.is_file() {
            fs::copy(&source, &target)
                .with_context(|| format!("copying {} to {}", source.display(), target.display()))?;
        } else {
            bail!("unexpected file type at {}", source.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_toml_points_at_the_copy() {
        let config = fs::read_to_string(paths::root().join("deny.toml")).unwrap();
        assert!(config.contains(&format!("db-path = \"{DB_ROOT}\"")), "deny.toml's db-path must be {DB_ROOT}");
        assert!(!config.contains("db-urls"), "{DB_DIR} is the folder of the default db-urls");
    }

    #[test]
    fn copies_and_commits_a_snapshot_once() {
        let dir = tempfile::tempdir().unwrap();
        let snapshot_db = dir.path().join("advisory-db");
        fs::create_dir_all(snapshot_db.join("crates/foo")).unwrap();
        fs::write(snapshot_db.join("SNAPSHOT"), "snapshot abc 2026-01-01\n").unwrap();
        fs::write(snapshot_db.join("crates/foo/RUSTSEC-0000-0000.md"), "advisory").unwrap();
        let copy = dir.path().join("dbs").join(DB_DIR);

        assert!(!copy_is_current(&copy, "snapshot abc 2026-01-01\n"));
        prepare_offline_db(&snapshot_db, &copy).unwrap();
        assert!(copy.join("crates/foo/RUSTSEC-0000-0000.md").is_file());
        assert!(copy_is_current(&copy, "snapshot abc 2026-01-01\n"));
        assert!(!copy_is_current(&copy, "snapshot def 2026-02-01\n"));

        fs::write(snapshot_db.join("SNAPSHOT"), "snapshot def 2026-02-01\n").unwrap();
        fs::remove_file(snapshot_db.join("crates/foo/RUSTSEC-0000-0000.md")).unwrap();
        prepare_offline_db(&snapshot_db, &copy).unwrap();
        assert!(!copy.join("crates/foo/RUSTSEC-0000-0000.md").exists());
        assert!(copy_is_current(&copy, "snapshot def 2026-02-01\n"));
    }
}
