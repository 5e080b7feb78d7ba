//! Transfer sizes of the release widget: raw, gzip -9 and brotli -q 11.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use crate::cmd::which;
use crate::widget_build;

/// Sizes of one file, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub raw: usize,
    pub gzip: usize,
    pub brotli: usize,
}

pub fn gzip_len(data: &[u8]) -> Result<usize> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).context("gzip")?;
    Ok(encoder.finish().context("gzip")?.len())
}

/// Brotli with the crate.
fn brotli_bytes(data: &[u8]) -> Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &data[..], &mut out, &params).context("brotli")?;
    Ok(out)
}

/// The file `path` (holding `data`) brotli-compressed, with the `brotli` command (Debian
/// package brotli) when it is installed, else the crate; same settings either way.
pub fn brotli_file(path: &Path, data: &[u8]) -> Result<Vec<u8>> {
    if which("brotli").is_some() {
        let output = std::process::Command::new("brotli")
            .args(["-q", "11", "-w", "22", "-c"])
            .arg(path)
            .output()
            .context("running brotli")?;
        if output.status.success() {
            return Ok(output.stdout);
        }
    }
    brotli_bytes(data)
}

#[cfg(test)]
fn measure(data: &[u8]) -> Result<Sizes> {
    Ok(Sizes { raw: data.len(), gzip: gzip_len(data)?, brotli: brotli_bytes(data)?.len() })
}

pub fn measure_file(path: &Path) -> Result<Sizes> {
    let data = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Sizes { raw: data.len(), gzip: gzip_len(&data)?, brotli: brotli_file(path, &data)?.len() })
}

fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// Prints the sizes of the `.wasm` and `.js` files in a dist directory.
pub fn report(dist: &Path) -> Result<()> {
    println!("release widget sizes ({}):", dist.display());
    println!("  {:<44} {:>12} {:>12} {:>12}", "file", "raw", "gzip -9", "brotli -q11");
    let files = widget_build::artifacts(dist)?;
    // wasm-bindgen names its JS glue after the module: `x_bg.wasm` and `x.js`.
    let glue: Vec<String> = files
        .iter()
        .filter_map(|f| f.file_name()?.to_str()?.strip_suffix("_bg.wasm"))
        .map(|stem| format!("{stem}.js"))
        .collect();
    for file in &files {
        let sizes = measure_file(file)?;
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let kind = if name.ends_with(".wasm") {
            "wasm"
        } else if glue.contains(&name) {
            "JS glue"
        } else {
            "JS"
        };
        println!(
            "  {:<44} {:>12} {:>12} {:>12}",
            format!("{name} ({kind})"),
            kib(sizes.raw),
            kib(sizes.gzip),
            kib(sizes.brotli)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_sizes_are_smaller_for_repetitive_data() {
        let data = "Palisade keeps the chat safe. ".repeat(200);
        let sizes = measure(data.as_bytes()).unwrap();
        assert_eq!(sizes.raw, data.len());
        assert!(sizes.gzip < sizes.raw / 10, "{sizes:?}");
        assert!(sizes.brotli < sizes.raw / 10, "{sizes:?}");
    }

    #[test]
    fn file_sizes_match_the_in_memory_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("glue.js");
        let data = "export function palisade() { return 42; }\n".repeat(50);
        fs::write(&path, &data).unwrap();
        let from_file = measure_file(&path).unwrap();
        let in_memory = measure(data.as_bytes()).unwrap();
        assert_eq!(from_file.raw, in_memory.raw);
        assert_eq!(from_file.gzip, in_memory.gzip);
        // The brotli CLI and the crate may differ by a few bytes.
        assert!(from_file.brotli.abs_diff(in_memory.brotli) < 16, "{from_file:?} {in_memory:?}");
    }

    #[test]
    fn empty_input_has_small_containers() {
        let sizes = measure(b"").unwrap();
        assert_eq!(sizes.raw, 0);
        assert!(sizes.gzip > 0 && sizes.gzip < 32);
        assert!(sizes.brotli < 8);
    }
}
