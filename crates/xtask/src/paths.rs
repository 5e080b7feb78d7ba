//! Where things live: the repository root and the well-known paths inside and beside it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Trunk's output directory (`dist` in Trunk.toml), relative to the repository root.
pub const WIDGET_DIST: &str = "widget-app/dist";
/// The demo host page's files, relative to the repository root.
pub const DEMO_DIR: &str = "widget-app/demo";
/// The demo server's data directory (SQLite db, keys, TLS certificate), relative to the root.
pub const DATA_DIR: &str = "data";

/// The workspace root: two levels above this crate's manifest.
///
/// `cargo run` sets `CARGO_MANIFEST_DIR` at run time too; the compile-time value is the
/// fallback for running the binary directly.
pub fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .filter(|dir| dir.join("Cargo.toml").is_file())
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
        manifest_dir.ancestors().nth(2).map_or_else(|| manifest_dir.clone(), Path::to_path_buf)
    })
}

/// `../shared` beside the repository (ARCHITECTURE.md, the advisory database snapshot).
pub fn shared_dir() -> PathBuf {
    root().parent().map_or_else(|| root().join("..").join("shared"), |p| p.join("shared"))
}

/// The Cargo target directory (`CARGO_TARGET_DIR` when set, else `<root>/target`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() { dir } else { root().join(dir) }
        }
        _ => root().join("target"),
    }
}

/// `$CARGO_HOME`, defaulting to `~/.cargo`.
pub fn cargo_home() -> Option<PathBuf> {
    match std::env::var_os("CARGO_HOME") {
        Some(home) if !home.is_empty() => Some(PathBuf::from(home)),
        _ => std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")),
    }
}

/// Lower-case hex of a byte string.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_the_workspace() {
        assert!(root().join("Cargo.toml").is_file());
        assert!(root().join("crates").join("xtask").is_dir());
    }

    #[test]
    fn hex_is_lower_case_and_padded() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab]), "000fab");
    }
}
