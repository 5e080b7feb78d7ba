//! The release build of the widget (`trunk build --release --offline`), skipped when a
//! fingerprint of its inputs matches the one stored beside the last build's output.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest as _, Sha256};

use crate::cmd::Cmd;
use crate::{paths, sizes, widget_pin};

/// Stored in the dist directory after a successful build. A dotfile, so static file servers
/// (actix-files by default) do not serve it.
const STAMP_FILE: &str = ".palisade-build-stamp";

/// Everything a release build of the widget depends on, relative to the repository root.
/// package-lock.json pins wasm-opt, whose version changes the output too, and
/// .cargo/config.toml sets the widget's compiler flags.
const INPUTS: &[&str] =
    &["widget-app", "shared", "Cargo.toml", "Cargo.lock", "Trunk.toml", "package-lock.json", ".cargo/config.toml"];

/// Directories never part of the inputs, wherever they are.
const SKIPPED_DIRS: &[&str] = &["target", "node_modules", ".git"];

/// A SHA-256 over the relative paths and contents of every file under `inputs` (files or
/// directories, relative to `base`), in sorted order, except `excluded` paths and
/// [`SKIPPED_DIRS`]. Missing inputs count as absent, so creating one changes the fingerprint.
pub fn fingerprint(base: &Path, inputs: &[&str], excluded: &[&str]) -> Result<String> {
    let excluded: Vec<PathBuf> = excluded.iter().map(|e| base.join(e)).collect();
    let mut files = Vec::new();
    for input in inputs {
        collect_files(&base.join(input), &excluded, &mut files)?;
    }
    files.sort();
    let mut hasher = Sha256::new();
    for file in &files {
        let relative = file.strip_prefix(base).unwrap_or(file);
        let contents = fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let name = relative.to_string_lossy();
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update((contents.len() as u64).to_le_bytes());
        hasher.update(&contents);
    }
    Ok(paths::hex(&hasher.finalize()))
}

fn collect_files(path: &Path, excluded: &[PathBuf], files: &mut Vec<PathBuf>) -> Result<()> {
    if excluded.iter().any(|e| e == path) {
        return Ok(());
    }
    let Ok(metadata) = fs::metadata(path) else {
        return Ok(());
    };
    if metadata.is_file() {
        files.push(path.to_path_buf());
    } else if metadata.is_dir() {
        let skipped = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| SKIPPED_DIRS.contains(&n));
        if skipped {
            return Ok(());
        }
        for entry in fs::read_dir(path).with_context(|| format!("listing {}", path.display()))? {
            let entry = entry.with_context(|| format!("listing {}", path.display()))?;
            collect_files(&entry.path(), excluded, files)?;
        }
    }
    Ok(())
}

/// The fingerprint of the widget's release build inputs in this repository.
pub fn current_fingerprint() -> Result<String> {
    fingerprint(paths::root(), INPUTS, &[paths::WIDGET_DIST])
}

/// The `.wasm` and `.js` files of a build, sorted.
pub fn artifacts(dist: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dist).with_context(|| format!("listing {}", dist.display()))? {
        let path = entry.with_context(|| format!("listing {}", dist.display()))?.path();
        let ext = path.extension().and_then(|e| e.to_str());
        if path.is_file() && matches!(ext, Some("wasm" | "js")) {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// Writes `<file>.br` beside each file a host page loads (the app, the loader, the stylesheet),
/// which the server sends to browsers that accept brotli: compressed once, at the strongest
/// setting, instead of on every request.
fn write_brotli_copies(dist: &Path) -> Result<()> {
    for entry in fs::read_dir(dist).with_context(|| format!("listing {}", dist.display()))? {
        let path = entry.with_context(|| format!("listing {}", dist.display()))?.path();
        let ext = path.extension().and_then(|e| e.to_str());
        if !path.is_file() || !matches!(ext, Some("wasm" | "js" | "css")) {
            continue;
        }
        let data = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let mut copy = path.clone().into_os_string();
        copy.push(".br");
        fs::write(&copy, sizes::brotli_file(&path, &data)?).with_context(|| format!("writing {copy:?}"))?;
    }
    Ok(())
}

/// Every `.wasm` in `dist` is a WebAssembly module (starts with `\0asm`), and there is one.
fn check_wasm(dist: &Path) -> Result<()> {
    let modules: Vec<PathBuf> =
        artifacts(dist)?.into_iter().filter(|f| f.extension().is_some_and(|e| e == "wasm")).collect();
    if modules.is_empty() {
        bail!("no .wasm file in {}", dist.display());
    }
    for module in modules {
        let mut magic = [0u8; 4];
        fs::File::open(&module)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
            .with_context(|| format!("reading {}", module.display()))?;
        if &magic != b"\0asm" {
            bail!(
                "{} is not a WebAssembly module (was another trunk build writing to the same dist?)",
                module.display()
            );
        }
    }
    Ok(())
}

/// A fingerprint of the build output: every file in `dist` but the stamp (and trunk's staging
/// directory), so that a dist changed by anything else is rebuilt.
fn output_fingerprint(dist: &Path) -> Result<String> {
    fingerprint(dist, &[""], &[STAMP_FILE, ".stage"])
}

/// The stamp: the fingerprint of the inputs, then that of the output.
fn stamp_text(inputs: &str, outputs: &str) -> String {
    format!("{inputs}\n{outputs}\n")
}

fn is_up_to_date(dist: &Path, inputs: &str) -> bool {
    let Ok(stamp) = fs::read_to_string(dist.join(STAMP_FILE)) else {
        return false;
    };
    check_wasm(dist).is_ok() && output_fingerprint(dist).is_ok_and(|outputs| stamp == stamp_text(inputs, &outputs))
}

/// Builds the release widget unless the inputs are those of the last build and its output is
/// untouched; returns the absolute path of the dist directory.
pub fn ensure_release_build() -> Result<PathBuf> {
    let dist = paths::root().join(paths::WIDGET_DIST);
    let inputs = current_fingerprint()?;
    if is_up_to_date(&dist, &inputs) {
        println!(
            "widget: release build is up to date ({}, inputs {})",
            dist.display(),
            inputs.get(..12).unwrap_or(&inputs)
        );
        return Ok(dist);
    }
    Cmd::new("trunk").args(["build", "--release", "--offline"]).run()?;
    check_wasm(&dist).context("after `trunk build --release`")?;
    widget_pin::pin(&dist).context("pinning the widget build")?;
    write_brotli_copies(&dist).context("compressing the widget build")?;
    let stamp = dist.join(STAMP_FILE);
    fs::write(&stamp, stamp_text(&inputs, &output_fingerprint(&dist)?))
        .with_context(|| format!("writing {}", stamp.display()))?;
    Ok(dist)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_page_loads_gets_a_brotli_copy_that_unpacks_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let dist = dir.path();
        let files = [
            ("app_bg.wasm", "\0asm module ".repeat(100)),
            ("app.js", "export {};\n".repeat(100)),
            ("palisade.css", ".x{}".repeat(100)),
        ];
        for (name, text) in &files {
            fs::write(dist.join(name), text).unwrap();
        }
        fs::write(dist.join("integrity.json"), "{}").unwrap();
        write_brotli_copies(dist).unwrap();
        for (name, text) in &files {
            let packed = fs::read(dist.join(format!("{name}.br"))).unwrap();
            assert!(packed.len() < text.len() / 10, "{name}");
            let mut unpacked = Vec::new();
            brotli::BrotliDecompress(&mut &packed[..], &mut unpacked).unwrap();
            assert_eq!(unpacked, text.as_bytes(), "{name}");
        }
        assert!(!dist.join("integrity.json.br").exists(), "only what a page loads");
    }

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        fs::create_dir_all(base.join("app/src")).unwrap();
        fs::create_dir_all(base.join("app/dist")).unwrap();
        fs::create_dir_all(base.join("app/target")).unwrap();
        fs::write(base.join("app/src/main.rs"), "fn main() {}").unwrap();
        fs::write(base.join("app/dist/app.wasm"), b"\0asm\x01\0\0\0").unwrap();
        fs::write(base.join("app/target/junk"), "junk").unwrap();
        fs::write(base.join("Cargo.toml"), "[workspace]").unwrap();
        dir
    }

    const IN: &[&str] = &["app", "Cargo.toml", "Trunk.toml"];
    const OUT: &[&str] = &["app/dist"];

    #[test]
    fn stable_when_nothing_changes() {
        let dir = tree();
        let a = fingerprint(dir.path(), IN, OUT).unwrap();
        let b = fingerprint(dir.path(), IN, OUT).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn changes_when_a_file_changes_appears_or_moves() {
        let dir = tree();
        let base = dir.path();
        let before = fingerprint(base, IN, OUT).unwrap();

        fs::write(base.join("app/src/main.rs"), "fn main() { }").unwrap();
        let edited = fingerprint(base, IN, OUT).unwrap();
        assert_ne!(before, edited);

        fs::write(base.join("Trunk.toml"), "[build]").unwrap();
        let created = fingerprint(base, IN, OUT).unwrap();
        assert_ne!(edited, created);

        fs::rename(base.join("app/src/main.rs"), base.join("app/src/lib.rs")).unwrap();
        let renamed = fingerprint(base, IN, OUT).unwrap();
        assert_ne!(created, renamed);
    }

    #[test]
    fn ignores_the_output_and_target_dirs() {
        let dir = tree();
        let base = dir.path();
        let before = fingerprint(base, IN, OUT).unwrap();
        fs::write(base.join("app/dist/app.wasm"), "new build").unwrap();
        fs::write(base.join("app/dist/.palisade-build-stamp"), "x").unwrap();
        fs::write(base.join("app/target/junk"), "more junk").unwrap();
        assert_eq!(before, fingerprint(base, IN, OUT).unwrap());
    }

    #[test]
    fn finds_wasm_and_js_artifacts() {
        let dir = tree();
        let dist = dir.path().join("app/dist");
        fs::write(dist.join("app.js"), "glue").unwrap();
        fs::write(dist.join("index.html"), "<!doctype html>").unwrap();
        let names: Vec<_> =
            artifacts(&dist).unwrap().iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["app.js", "app.wasm"]);
        check_wasm(&dist).unwrap();
        fs::write(dist.join("app.wasm"), [0u8; 16]).unwrap();
        assert!(check_wasm(&dist).is_err());
        fs::remove_file(dist.join("app.wasm")).unwrap();
        assert!(check_wasm(&dist).is_err());
    }

    #[test]
    fn up_to_date_only_with_the_same_inputs_and_untouched_output() {
        let dir = tree();
        let dist = dir.path().join("app/dist");
        assert!(!is_up_to_date(&dist, "inputs-1"));
        let outputs = output_fingerprint(&dist).unwrap();
        fs::write(dist.join(STAMP_FILE), stamp_text("inputs-1", &outputs)).unwrap();
        assert!(is_up_to_date(&dist, "inputs-1"));
        assert!(!is_up_to_date(&dist, "inputs-2"));
        // Trunk's staging directory does not count.
        fs::create_dir_all(dist.join(".stage")).unwrap();
        fs::write(dist.join(".stage/x"), "x").unwrap();
        assert!(is_up_to_date(&dist, "inputs-1"));
        // Another build replaced a file.
        fs::write(dist.join("app.js"), "other glue").unwrap();
        assert!(!is_up_to_date(&dist, "inputs-1"));
    }
}
