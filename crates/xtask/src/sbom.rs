//! `cargo xtask sbom [--out path]`: a CycloneDX 1.5 JSON software bill of materials of the
//! workspace, built from `cargo metadata --locked` and the SHA-256 checksums in Cargo.lock, so
//! nothing needs installing.
//!
//! The workspace is the BOM's subject (`metadata.component`, with the member crates nested in
//! it); every other package of the lock file is a component with its purl, license expression
//! and checksum; `dependencies` is Cargo's resolved graph for all targets and platforms.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::cmd::Cmd;
use crate::paths;

/// Where the SBOM goes, relative to the repository root.
pub const DEFAULT_OUT: &str = "target/sbom/palisade.cdx.json";
pub const SPEC_VERSION: &str = "1.5";
const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";
/// The BOM's subject: the workspace as a whole.
const ROOT_REF: &str = "palisade";

/// One `[[package]]` of Cargo.lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPackage {
    pub name: String,
    pub version: String,
    pub source: Option<String>,
    pub checksum: Option<String>,
}

impl LockedPackage {
    pub fn is_registry(&self) -> bool {
        self.source.as_deref().is_some_and(|source| source.starts_with("registry+") || source.starts_with("sparse+"))
    }
}

/// The packages of a Cargo.lock (format v3/v4): only the keys an SBOM needs.
pub fn parse_lock(text: &str) -> Vec<LockedPackage> {
    let mut packages = Vec::new();
    let mut current: Option<LockedPackage> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            packages.extend(current.take());
            if line == "[[package]]" {
                current =
                    Some(LockedPackage { name: String::new(), version: String::new(), source: None, checksum: None });
            }
            continue;
        }
        let (Some(package), Some((key, value))) = (current.as_mut(), line.split_once('=')) else {
            continue;
        };
        let Some(value) = value.trim().strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
            continue;
        };
        match key.trim() {
            "name" => package.name = value.to_owned(),
            "version" => package.version = value.to_owned(),
            "source" => package.source = Some(value.to_owned()),
            "checksum" => package.checksum = Some(value.to_owned()),
            _ => {}
        }
    }
    packages.extend(current);
    packages
}

/// The package URL: plain for crates.io, qualified with where it came from otherwise.
pub fn purl(name: &str, version: &str, source: Option<&str>) -> String {
    let base = format!("pkg:cargo/{name}@{version}");
    match source {
        Some(CRATES_IO) | None => base,
        Some(source) => match source.split_once('+') {
            Some(("git", url)) => format!("{base}?vcs_url={}", percent_encode(&format!("git+{url}"))),
            Some((_, url)) => format!("{base}?repository_url={}", percent_encode(url)),
            None => base,
        },
    }
}

/// Percent-encoding for purl qualifier values.
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~/:".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Cargo's `license` field as an SPDX expression: the legacy `/` separator means OR.
pub fn spdx_expression(license: &str) -> String {
    if license.contains('/') {
        license.split('/').map(str::trim).filter(|part| !part.is_empty()).collect::<Vec<_>>().join(" OR ")
    } else {
        license.trim().to_owned()
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the Unix epoch (proleptic Gregorian, UTC).
pub fn rfc3339(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rem = seconds % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `SOURCE_DATE_EPOCH` when set (reproducible builds), else now.
fn build_time() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default())
}

/// A name-based (version 8) UUID: the same lock file at the same time gives the same serial
/// number, so a reproducible build gives a byte-identical SBOM.
fn serial_number(lock: &str, timestamp: &str) -> String {
    let digest = sha2::Sha256::digest(format!("{lock}\n{timestamp}").as_bytes());
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = paths::hex(&bytes);
    format!("urn:uuid:{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

fn str_field<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// What the BOM is made from, besides `cargo metadata`.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub lock_text: &'a str,
    pub timestamp: String,
    /// `(name, version)` of the tools that made the BOM.
    pub tools: Vec<(String, String)>,
}

fn component(package: &Value, bom_ref: &str, member: bool, checksums: &HashMap<(String, String), String>) -> Value {
    let name = str_field(package, "name").unwrap_or_default();
    let version = str_field(package, "version").unwrap_or_default();
    let source = str_field(package, "source");
    let is_binary = array(package, "targets")
        .iter()
        .any(|target| array(target, "kind").iter().any(|kind| kind.as_str() == Some("bin")));
    let mut component = json!({
        "type": if member && is_binary { "application" } else { "library" },
        "bom-ref": bom_ref,
        "name": name,
        "version": version,
    });
    let mut insert = |key: &str, value: Value| {
        if let Some(object) = component.as_object_mut() {
            object.insert(key.to_owned(), value);
        }
    };
    if let Some(description) = str_field(package, "description") {
        insert("description", json!(description.trim()));
    }
    if let Some(license) = str_field(package, "license") {
        insert("licenses", json!([{ "expression": spdx_expression(license) }]));
    } else if let Some(file) = str_field(package, "license_file") {
        insert("licenses", json!([{ "license": { "name": format!("see {file}") } }]));
    }
    if !member {
        insert("purl", json!(purl(name, version, source)));
    }
    if let Some(checksum) = checksums.get(&(name.to_owned(), version.to_owned())) {
        insert("hashes", json!([{ "alg": "SHA-256", "content": checksum }]));
    }
    let references: Vec<Value> = [("repository", "vcs"), ("homepage", "website"), ("documentation", "documentation")]
        .iter()
        .filter_map(|(key, kind)| str_field(package, key).map(|url| json!({ "type": kind, "url": url })))
        .collect();
    if !references.is_empty() {
        insert("externalReferences", Value::Array(references));
    }
    component
}

/// The CycloneDX document for a `cargo metadata --format-version 1` output and its lock file.
pub fn build(metadata: &Value, inputs: &Inputs<'_>) -> Result<Value> {
    let lock = parse_lock(inputs.lock_text);
    let checksums: HashMap<(String, String), String> = lock
        .iter()
        .filter(|p| p.is_registry())
        .filter_map(|p| Some(((p.name.clone(), p.version.clone()), p.checksum.clone()?)))
        .collect();
    let members: BTreeSet<&str> = array(metadata, "workspace_members").iter().filter_map(Value::as_str).collect();
    ensure!(!members.is_empty(), "cargo metadata lists no workspace members");

    let mut refs: HashMap<&str, String> = HashMap::new();
    let mut member_components = Vec::new();
    let mut components = Vec::new();
    for package in array(metadata, "packages") {
        let id = str_field(package, "id").context("a package without an id")?;
        let name = str_field(package, "name").context("a package without a name")?;
        let version = str_field(package, "version").context("a package without a version")?;
        let member = members.contains(id);
        let bom_ref = if member {
            format!("{ROOT_REF}/{name}@{version}")
        } else {
            purl(name, version, str_field(package, "source"))
        };
        let component = component(package, &bom_ref, member, &checksums);
        if member {
            member_components.push(component)
        } else {
            components.push(component)
        }
        refs.insert(id, bom_ref);
    }
    let by_ref = |a: &Value, b: &Value| str_field(a, "bom-ref").cmp(&str_field(b, "bom-ref"));
    member_components.sort_by(by_ref);
    components.sort_by(by_ref);

    let mut dependencies: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let nodes = metadata.get("resolve").map_or(&[][..], |resolve| array(resolve, "nodes"));
    for node in nodes {
        let id = str_field(node, "id").context("a resolve node without an id")?;
        let from = refs.get(id).with_context(|| format!("resolve node {id} is not a package"))?;
        let mut to = BTreeSet::new();
        for dep in array(node, "deps") {
            let pkg = str_field(dep, "pkg").context("a dependency without a package id")?;
            to.insert(refs.get(pkg).with_context(|| format!("dependency {pkg} is not a package"))?.clone());
        }
        dependencies.insert(from.clone(), to);
    }
    let member_refs: BTreeSet<String> = members.iter().filter_map(|id| refs.get(id).cloned()).collect();
    dependencies.insert(ROOT_REF.to_owned(), member_refs);

    let version = member_components
        .iter()
        .find(|c| str_field(c, "name") == Some("palisade-server"))
        .or(member_components.first())
        .and_then(|c| str_field(c, "version"))
        .unwrap_or("0.0.0")
        .to_owned();
    let tools: Vec<Value> = inputs
        .tools
        .iter()
        .map(|(name, version)| json!({ "type": "application", "name": name, "version": version }))
        .collect();
    Ok(json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": serial_number(inputs.lock_text, &inputs.timestamp),
        "version": 1,
        "metadata": {
            "timestamp": inputs.timestamp,
            "tools": { "components": tools },
            "component": {
                "type": "application",
                "bom-ref": ROOT_REF,
                "name": ROOT_REF,
                "version": version,
                "description": "Palisade: an embeddable chat widget and its server (the Cargo workspace)",
                "licenses": [{ "expression": "Apache-2.0" }],
                "components": member_components,
            },
        },
        "components": components,
        "dependencies": dependencies
            .into_iter()
            .map(|(from, to)| json!({ "ref": from, "dependsOn": to }))
            .collect::<Vec<_>>(),
    }))
}

/// What [`validate`] counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub components: usize,
    pub members: usize,
    pub dependencies: usize,
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Checks the shape CycloneDX 1.5 requires of what this BOM uses, and that it is complete:
/// every registry package of the lock file is a component exactly once, with its purl and its
/// lock-file SHA-256; every bom-ref is unique; every dependency reference resolves.
pub fn validate(bom: &Value, lock_text: &str) -> Result<Summary> {
    let mut problems = Vec::new();
    if str_field(bom, "bomFormat") != Some("CycloneDX") {
        problems.push("bomFormat is not CycloneDX".to_owned());
    }
    if str_field(bom, "specVersion") != Some(SPEC_VERSION) {
        problems.push(format!("specVersion is not {SPEC_VERSION}"));
    }
    if bom.get("version").and_then(Value::as_u64) != Some(1) {
        problems.push("version is not 1".to_owned());
    }
    if !str_field(bom, "serialNumber").is_some_and(|s| s.starts_with("urn:uuid:") && s.len() == 45) {
        problems.push("serialNumber is not a urn:uuid".to_owned());
    }
    let metadata = bom.get("metadata").unwrap_or(&Value::Null);
    if str_field(metadata, "timestamp").is_none_or(|t| t.len() != 20 || !t.ends_with('Z')) {
        problems.push("metadata.timestamp is not an RFC 3339 UTC time".to_owned());
    }
    if metadata.get("tools").map(|tools| array(tools, "components")).is_none_or(<[Value]>::is_empty) {
        problems.push("metadata.tools names no tool".to_owned());
    }
    let subject = metadata.get("component").unwrap_or(&Value::Null);
    let members = array(subject, "components");
    let components = array(bom, "components");

    let mut refs = BTreeSet::new();
    for component in std::iter::once(subject).chain(members).chain(components) {
        let bom_ref = str_field(component, "bom-ref").unwrap_or_default();
        for key in ["type", "bom-ref", "name", "version"] {
            if str_field(component, key).is_none_or(str::is_empty) {
                problems.push(format!("component {bom_ref:?} has no {key}"));
            }
        }
        if !refs.insert(bom_ref.to_owned()) {
            problems.push(format!("bom-ref {bom_ref:?} appears more than once"));
        }
    }

    let lock = parse_lock(lock_text);
    let registry: Vec<&LockedPackage> = lock.iter().filter(|p| p.is_registry()).collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for component in components {
        let purl = str_field(component, "purl").unwrap_or_default();
        if !purl.starts_with("pkg:cargo/") {
            problems.push(format!("component {:?} has no cargo purl", str_field(component, "bom-ref")));
        }
        *seen.entry(purl.to_owned()).or_default() += 1;
    }
    for package in &registry {
        let expected = purl(&package.name, &package.version, package.source.as_deref());
        let matching: Vec<&Value> =
            components.iter().filter(|c| str_field(c, "purl") == Some(expected.as_str())).collect();
        if matching.len() != 1 {
            problems.push(format!("{expected} appears {} times, not once", matching.len()));
            continue;
        }
        let sha = matching
            .first()
            .map(|c| array(c, "hashes"))
            .and_then(|hashes| hashes.iter().find(|h| str_field(h, "alg") == Some("SHA-256")))
            .and_then(|h| str_field(h, "content"));
        match (sha, package.checksum.as_deref()) {
            (Some(sha), Some(checksum)) if sha == checksum && is_sha256(sha) => {}
            (sha, checksum) => problems.push(format!("{expected}: SHA-256 {sha:?}, Cargo.lock has {checksum:?}")),
        }
    }
    let locked: BTreeSet<String> = lock.iter().map(|p| purl(&p.name, &p.version, p.source.as_deref())).collect();
    for purl in seen.keys().filter(|purl| !locked.contains(*purl)) {
        problems.push(format!("{purl} is not in Cargo.lock"));
    }

    let dependencies = array(bom, "dependencies");
    let mut dependency_refs = BTreeSet::new();
    for dependency in dependencies {
        let from = str_field(dependency, "ref").unwrap_or_default();
        if !refs.contains(from) {
            problems.push(format!("dependency ref {from:?} is no component"));
        }
        if !dependency_refs.insert(from) {
            problems.push(format!("dependencies list {from:?} twice"));
        }
        for to in array(dependency, "dependsOn") {
            let to = to.as_str().unwrap_or_default();
            if !refs.contains(to) {
                problems.push(format!("{from:?} depends on {to:?}, which is no component"));
            }
        }
    }
    if let Some(missing) = refs.iter().find(|r| !dependency_refs.contains(r.as_str())) {
        problems.push(format!("component {missing:?} has no dependencies entry"));
    }

    if !problems.is_empty() {
        let shown: Vec<&str> = problems.iter().take(10).map(String::as_str).collect();
        bail!("the SBOM is not valid ({} problems):\n  {}", problems.len(), shown.join("\n  "));
    }
    Ok(Summary { components: components.len(), members: members.len(), dependencies: dependencies.len() })
}

/// The SBOM of this workspace, validated.
pub fn generate() -> Result<(Value, Summary)> {
    let root = paths::root();
    let metadata = Cmd::new("cargo").args(["metadata", "--format-version", "1", "--locked"]).read()?;
    let metadata: Value = serde_json::from_str(&metadata).context("cargo metadata printed no JSON")?;
    let lock_path = root.join("Cargo.lock");
    let lock_text = fs::read_to_string(&lock_path).with_context(|| format!("reading {}", lock_path.display()))?;
    let cargo = Cmd::new("cargo").arg("--version").read()?;
    let cargo_version = crate::tools::version_token(&cargo).unwrap_or("unknown").to_owned();
    let inputs = Inputs {
        lock_text: &lock_text,
        timestamp: rfc3339(build_time()),
        tools: vec![
            ("cargo-xtask-sbom".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
            ("cargo".to_owned(), cargo_version),
        ],
    };
    let bom = build(&metadata, &inputs)?;
    let summary = validate(&bom, &lock_text)?;
    Ok((bom, summary))
}

/// `cargo xtask sbom`: writes the SBOM to `out` (default [`DEFAULT_OUT`]).
pub fn run(out: Option<&Path>) -> Result<PathBuf> {
    let out = match out {
        Some(path) if path.is_absolute() => path.to_path_buf(),
        Some(path) => std::env::current_dir().context("the current directory")?.join(path),
        None => paths::root().join(DEFAULT_OUT),
    };
    let (bom, summary) = generate()?;
    if let Some(dir) = out.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&bom).context("serializing the SBOM")?;
    fs::write(&out, format!("{text}\n")).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "SBOM (CycloneDX {SPEC_VERSION}): {} third-party components, {} workspace crates, {} dependency entries -> {}",
        summary.components,
        summary.members,
        summary.dependencies,
        out.display()
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"# This file is automatically @generated by Cargo.
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "serde",
]

[[package]]
name = "serde"
version = "1.0.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
dependencies = [
 "itoa",
]

[[package]]
name = "itoa"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
"#;

    fn package(name: &str, version: &str, source: Option<&str>, license: Option<&str>) -> Value {
        let id = match source {
            Some(source) => format!("{source}#{name}@{version}"),
            None => format!("path+file:///w/{name}#{version}"),
        };
        json!({ "name": name, "version": version, "id": id, "source": source, "license": license,
                "targets": [{ "kind": ["lib"] }] })
    }

    fn metadata() -> Value {
        let app = package("app", "0.1.0", None, Some("Apache-2.0"));
        let serde = package("serde", "1.0.1", Some(CRATES_IO), Some("MIT/Apache-2.0"));
        let itoa = package("itoa", "1.0.0", Some(CRATES_IO), None);
        let id = |p: &Value| p["id"].clone();
        json!({
            "packages": [app, serde, itoa],
            "workspace_members": [id(&app)],
            "resolve": { "nodes": [
                { "id": id(&app), "deps": [{ "name": "serde", "pkg": id(&serde) }] },
                { "id": id(&serde), "deps": [{ "name": "itoa", "pkg": id(&itoa) }] },
                { "id": id(&itoa), "deps": [] },
            ]},
        })
    }

    fn inputs() -> Inputs<'static> {
        Inputs { lock_text: LOCK, timestamp: rfc3339(0), tools: vec![("xtask".into(), "0.1.0".into())] }
    }

    #[test]
    fn parses_lock_files() {
        let packages = parse_lock(LOCK);
        assert_eq!(packages.len(), 3);
        assert_eq!(
            packages[0],
            LockedPackage { name: "app".into(), version: "0.1.0".into(), source: None, checksum: None }
        );
        assert!(packages[1].is_registry() && !packages[0].is_registry());
        assert_eq!(packages[2].checksum.as_deref(), Some("b".repeat(64).as_str()));
    }

    #[test]
    fn purls_licenses_and_times() {
        assert_eq!(purl("serde", "1.0.1", Some(CRATES_IO)), "pkg:cargo/serde@1.0.1");
        assert_eq!(
            purl("x", "1.0.0", Some("git+https://github.com/o/x?rev=1#abc")),
            "pkg:cargo/x@1.0.0?vcs_url=git%2Bhttps://github.com/o/x%3Frev%3D1%23abc"
        );
        assert_eq!(spdx_expression("MIT/Apache-2.0"), "MIT OR Apache-2.0");
        assert_eq!(spdx_expression("Apache-2.0 / MIT"), "Apache-2.0 OR MIT");
        assert_eq!(spdx_expression("(MIT OR Apache-2.0) AND Unicode-3.0"), "(MIT OR Apache-2.0) AND Unicode-3.0");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_599), "2025-12-31T23:59:59Z");
    }

    #[test]
    fn builds_a_valid_bom_of_a_small_workspace() {
        let bom = build(&metadata(), &inputs()).unwrap();
        let summary = validate(&bom, LOCK).unwrap();
        assert_eq!(summary, Summary { components: 2, members: 1, dependencies: 4 });
        assert_eq!(bom["metadata"]["component"]["components"][0]["bom-ref"], "palisade/app@0.1.0");
        let serde = &bom["components"][1];
        assert_eq!(serde["purl"], "pkg:cargo/serde@1.0.1");
        assert_eq!(serde["licenses"][0]["expression"], "MIT OR Apache-2.0");
        assert_eq!(serde["hashes"][0]["content"], "a".repeat(64));
        assert!(bom["components"][0].get("licenses").is_none(), "no license field, no license claimed");
        let deps = bom["dependencies"].as_array().unwrap();
        assert!(deps.contains(&json!({ "ref": "palisade", "dependsOn": ["palisade/app@0.1.0"] })));
        assert!(deps.contains(&json!({ "ref": "pkg:cargo/serde@1.0.1", "dependsOn": ["pkg:cargo/itoa@1.0.0"] })));
        assert_eq!(build(&metadata(), &inputs()).unwrap(), bom, "same inputs, same BOM");
    }

    #[test]
    fn validation_catches_incomplete_boms() {
        let good = build(&metadata(), &inputs()).unwrap();
        let broken = |change: &dyn Fn(&mut Value)| {
            let mut bom = good.clone();
            change(&mut bom);
            validate(&bom, LOCK).unwrap_err().to_string()
        };
        assert!(broken(&|b| b["components"].as_array_mut().unwrap().truncate(1)).contains("appears 0 times"));
        assert!(
            broken(&|b| {
                let first = b["components"][0].clone();
                b["components"].as_array_mut().unwrap().push(first);
            })
            .contains("more than once")
        );
        assert!(broken(&|b| b["components"][1]["hashes"] = json!([])).contains("SHA-256 None"));
        assert!(broken(&|b| b["components"][1]["hashes"][0]["content"] = json!("c".repeat(64))).contains("SHA-256"));
        assert!(broken(&|b| b["dependencies"][0]["dependsOn"] = json!(["pkg:cargo/ghost@1.0.0"])).contains("ghost"));
        assert!(broken(&|b| b["components"][0]["purl"] = json!("pkg:cargo/ghost@1.0.0")).contains("not in Cargo.lock"));
        assert!(broken(&|b| b["specVersion"] = json!("1.4")).contains("specVersion"));
        assert!(
            broken(&|b| b["dependencies"].as_array_mut().unwrap().pop().map(drop).unwrap_or(()))
                .contains("no dependencies entry")
        );
    }

    /// The real workspace: each registry package of Cargo.lock exactly once, with its purl and
    /// SHA-256, and a dependency graph whose references all resolve. Counted here from the lock
    /// file directly, not only through [`validate`].
    #[test]
    fn the_workspace_sbom_lists_every_locked_package_once_with_its_hash() {
        let (bom, summary) = generate().unwrap();
        let lock = fs::read_to_string(paths::root().join("Cargo.lock")).unwrap();
        let registry: Vec<LockedPackage> = parse_lock(&lock).into_iter().filter(LockedPackage::is_registry).collect();
        assert!(registry.len() > 100, "only {} registry packages in Cargo.lock?", registry.len());
        let components = bom["components"].as_array().unwrap();
        for package in &registry {
            let purl = format!("pkg:cargo/{}@{}", package.name, package.version);
            let found: Vec<&Value> = components.iter().filter(|c| c["purl"] == purl.as_str()).collect();
            assert_eq!(found.len(), 1, "{purl}");
            assert_eq!(found[0]["hashes"][0]["alg"], "SHA-256", "{purl}");
            assert_eq!(found[0]["hashes"][0]["content"].as_str(), package.checksum.as_deref(), "{purl}");
        }
        assert_eq!(summary.components, registry.len(), "the workspace has no git or path dependencies");
        let refs: BTreeSet<&str> = components
            .iter()
            .chain(bom["metadata"]["component"]["components"].as_array().unwrap())
            .chain(std::iter::once(&bom["metadata"]["component"]))
            .filter_map(|c| c["bom-ref"].as_str())
            .collect();
        for dependency in bom["dependencies"].as_array().unwrap() {
            assert!(refs.contains(dependency["ref"].as_str().unwrap()));
            for to in dependency["dependsOn"].as_array().unwrap() {
                assert!(refs.contains(to.as_str().unwrap()), "{to} does not resolve");
            }
        }
        let members = bom["metadata"]["component"]["components"].as_array().unwrap();
        assert!(members.iter().any(|m| m["name"] == "palisade-protocol"));
        assert!(members.iter().all(|m| m.get("purl").is_none()), "workspace crates are not on crates.io");
    }
}
