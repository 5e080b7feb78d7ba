//! Pins the widget's release build: content-hashed names for the files the loader fetches, so
//! they can be cached for a year, and Subresource Integrity hashes for every file a page runs.
//!
//! The host page pins the loader (`integrity` on its script tag, from `integrity.json`); the
//! loader pins the rest, with the names and hashes this step writes into it. Changing one byte
//! of any file then stops the widget from starting instead of running someone else's code.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use sha2::{Digest as _, Sha384};

use crate::paths;

/// The loader, at a stable URL because host pages name it.
pub const LOADER: &str = "palisade.js";
/// The published hashes: the loader's for host pages, and every pinned file's.
pub const INTEGRITY_FILE: &str = "integrity.json";
/// The loader's block that names its assets, between these two lines.
const ASSETS_START: &str = "  // @pinned-assets-start";
const ASSETS_END: &str = "  // @pinned-assets-end";
/// Trunk's output the loader fetches, by its role in the loader.
const ASSETS: &[(&str, &str)] =
    &[("glue", "palisade-widget.js"), ("wasm", "palisade-widget_bg.wasm"), ("css", "palisade.css")];
/// Files of `trunk serve`'s development page: they name the unhashed files, so they go.
const DEVELOPMENT_ONLY: &[&str] = &["index.html", "dev-mount.js"];

/// `sha384-…`, as the `integrity` attribute and `fetch` take it.
pub fn integrity(bytes: &[u8]) -> String {
    format!("sha384-{}", base64::engine::general_purpose::STANDARD.encode(Sha384::digest(bytes)))
}

/// `palisade-widget.js` becomes `palisade-widget-<16 hex>.js`.
fn hashed_name(name: &str, bytes: &[u8]) -> String {
    let digest = paths::hex(&Sha384::digest(bytes));
    let short = digest.get(..16).unwrap_or(&digest);
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}-{short}.{ext}"),
        None => format!("{name}-{short}"),
    }
}

/// The loader with its asset block replaced by `assets` (one `role: { path, integrity }` each).
fn pin_loader(loader: &str, assets: &[(&str, String, String)]) -> Result<String> {
    let (before, rest) = loader.split_once(ASSETS_START).context("the loader has no @pinned-assets-start line")?;
    let (_, after) = rest.split_once(ASSETS_END).context("the loader has no @pinned-assets-end line")?;
    let mut block = format!("{ASSETS_START}\n  // Written by `cargo xtask` (crates/xtask/src/widget_pin.rs).\n");
    block.push_str("  const ASSETS = {\n");
    for (role, path, integrity) in assets {
        block.push_str(&format!("    {role}: {{ path: {path:?}, integrity: {integrity:?} }},\n"));
    }
    block.push_str("  };\n");
    block.push_str(ASSETS_END);
    Ok(format!("{before}{block}{after}"))
}

/// Renames, rewrites the loader and writes `integrity.json` in `dist`, a fresh trunk build.
pub fn pin(dist: &Path) -> Result<()> {
    let mut pinned = Vec::new();
    for (role, name) in ASSETS {
        let path = dist.join(name);
        let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let hashed = hashed_name(name, &bytes);
        fs::rename(&path, dist.join(&hashed)).with_context(|| format!("renaming {}", path.display()))?;
        pinned.push((*role, hashed, integrity(&bytes)));
    }
    let loader_path = dist.join(LOADER);
    let loader = fs::read_to_string(&loader_path).with_context(|| format!("reading {}", loader_path.display()))?;
    let loader = pin_loader(&loader, &pinned)?;
    fs::write(&loader_path, &loader).with_context(|| format!("writing {}", loader_path.display()))?;
    for name in DEVELOPMENT_ONLY {
        let path = dist.join(name);
        if path.exists() {
            fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    let mut published = serde_json::Map::new();
    published.insert(LOADER.to_owned(), integrity(loader.as_bytes()).into());
    for (_, name, hash) in pinned {
        published.insert(name, hash.into());
    }
    let text = serde_json::to_string_pretty(&published)?;
    fs::write(dist.join(INTEGRITY_FILE), text + "\n").context("writing integrity.json")?;
    Ok(())
}

/// The loader's published hash, for the `integrity` of a host page's script tag.
pub fn loader_integrity(dist: &Path) -> Result<String> {
    let path = dist.join(INTEGRITY_FILE);
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let published: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    match published.get(LOADER).and_then(serde_json::Value::as_str) {
        Some(hash) => Ok(hash.to_owned()),
        None => bail!("{} names no hash for {LOADER}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOADER_SOURCE: &str = "(() => {\n  // @pinned-assets-start\n  const ASSETS = {\n    glue: { path: \"palisade-widget.js\", integrity: \"\" },\n  };\n  // @pinned-assets-end\n  go(ASSETS);\n})();\n";

    #[test]
    fn integrity_is_the_sha384_of_the_bytes_in_base64() {
        // The W3C SRI specification's own example value for "alert('Hello, world.');".
        assert_eq!(
            integrity(b"alert('Hello, world.');"),
            "sha384-H8BRh8j48O9oYatfu5AZzq6A9RINhZO5H16dQZngK7T62em8MUt1FLm52t+eX6xO"
        );
    }

    #[test]
    fn a_build_is_renamed_pinned_and_published() {
        let dir = tempfile::tempdir().unwrap();
        let dist = dir.path();
        for (_, name) in ASSETS {
            fs::write(dist.join(name), format!("contents of {name}")).unwrap();
        }
        fs::write(dist.join(LOADER), LOADER_SOURCE).unwrap();
        fs::write(dist.join("index.html"), "<script src=palisade-widget.js>").unwrap();

        pin(dist).unwrap();

        let glue = hashed_name("palisade-widget.js", b"contents of palisade-widget.js");
        assert!(glue.starts_with("palisade-widget-") && glue.ends_with(".js") && glue.len() == 35, "{glue}");
        assert!(dist.join(&glue).is_file() && !dist.join("palisade-widget.js").exists());
        assert!(!dist.join("index.html").exists(), "the development page names unhashed files");
        let loader = fs::read_to_string(dist.join(LOADER)).unwrap();
        let glue_hash = integrity(b"contents of palisade-widget.js");
        assert!(loader.contains(&format!("glue: {{ path: \"{glue}\", integrity: \"{glue_hash}\" }}")), "{loader}");
        assert!(loader.contains("wasm: { path: \"palisade-widget_bg-") && loader.ends_with("  go(ASSETS);\n})();\n"));
        assert!(!loader.contains("integrity: \"\""));
        assert_eq!(loader_integrity(dist).unwrap(), integrity(loader.as_bytes()));
        let published: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dist.join(INTEGRITY_FILE)).unwrap()).unwrap();
        assert_eq!(published[&glue], glue_hash.as_str());
    }

    #[test]
    fn a_loader_without_its_markers_is_an_error_not_an_unpinned_build() {
        assert!(pin_loader("(() => {})();", &[]).is_err());
    }
}
