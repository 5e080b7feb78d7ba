//! `cargo xtask asvs`: SECURITY.md's ASVS table may only name tests that exist.
//!
//! The table has the columns `ID | status | test or reason`. A test is named
//! `path/to/file.rs::fn_name`, relative to the repository root, several separated by `, `. For
//! every such name the file must exist and contain `fn fn_name(` (so `async fn` counts too).
//! Beyond existence the rows must be well formed: a known status (`proven`, `not applicable`,
//! `open: issue N`), a `proven` row names at least one test, a `not applicable` row gives a
//! reason, no ID appears twice, and the counts written under the table
//! (`Counts: N proven, N not applicable, N open`) are the real ones. Test names elsewhere in
//! SECURITY.md and in THREAT_MODEL.md are checked for existence the same way, so the prose
//! cannot go stale either.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::paths;

/// The documents whose test names are checked; the first holds the ASVS table.
const SECURITY_MD: &str = "SECURITY.md";
const THREAT_MODEL_MD: &str = "THREAT_MODEL.md";

/// A test named in the documentation: `path` relative to the repository root, `name` the
/// function.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TestRef {
    pub path: String,
    pub name: String,
}

impl fmt::Display for TestRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::{}", self.path, self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Proven,
    NotApplicable,
    Open,
}

/// One row of the ASVS table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The line in the document, for error messages.
    pub line: usize,
    pub id: String,
    pub status: Status,
    /// The tests the third cell names (it may also give a reason).
    pub tests: Vec<TestRef>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub proven: usize,
    pub not_applicable: usize,
    pub open: usize,
}

impl Counts {
    pub fn of(rows: &[Row]) -> Self {
        rows.iter().fold(Self::default(), |mut counts, row| {
            match row.status {
                Status::Proven => counts.proven += 1,
                Status::NotApplicable => counts.not_applicable += 1,
                Status::Open => counts.open += 1,
            }
            counts
        })
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} proven, {} not applicable, {} open", self.proven, self.not_applicable, self.open)
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_path_char(c: char) -> bool {
    is_ident_char(c) || matches!(c, '/' | '.' | '-')
}

/// Every `path.rs::name` in `text`, in order of appearance, each once.
pub fn test_refs(text: &str) -> Vec<TestRef> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(".rs::") {
        let (before, after) = rest.split_at(at);
        let path_start =
            before.char_indices().rev().find(|(_, c)| !is_path_char(*c)).map_or(0, |(i, c)| i + c.len_utf8());
        let path = format!("{}.rs", &before[path_start..]);
        let after = &after[".rs::".len()..];
        let name_len = after.find(|c: char| !is_ident_char(c)).unwrap_or(after.len());
        let name = &after[..name_len];
        let path_ok = path.len() > ".rs".len() && !path.starts_with('/');
        if path_ok && !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) {
            let test = TestRef { path, name: name.to_owned() };
            if !found.contains(&test) {
                found.push(test);
            }
        }
        rest = &after[name_len..];
    }
    found
}

fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(|cell| cell.trim().to_owned()).collect()
}

fn is_header(line: &str) -> bool {
    let cells = cells(line);
    line.trim_start().starts_with('|')
        && cells.len() >= 3
        && cells[0].eq_ignore_ascii_case("id")
        && cells[1].eq_ignore_ascii_case("status")
}

fn parse_status(cell: &str) -> Option<Status> {
    let status = cell.trim().to_ascii_lowercase();
    if status == "proven" {
        Some(Status::Proven)
    } else if status == "not applicable" {
        Some(Status::NotApplicable)
    } else if let Some(rest) = status.strip_prefix("open:") {
        // `open: issue 4` or `open: issues 3, 4`: the row says which issue brings it.
        let rest = rest.trim();
        let named = rest.starts_with("issue") && rest.chars().any(|c| c.is_ascii_digit());
        named.then_some(Status::Open)
    } else {
        None
    }
}

/// `v5.0.0-<chapter>.<section>.<n>`, all numbers.
fn valid_id(id: &str) -> bool {
    id.strip_prefix("v5.0.0-").is_some_and(|rest| {
        let parts: Vec<&str> = rest.split('.').collect();
        parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    })
}

/// The rows of the first table whose header starts `| ID | status |`. Malformed rows are errors
/// (all of them, listed), not silently skipped.
pub fn parse_table(markdown: &str) -> Result<Vec<Row>> {
    let lines: Vec<&str> = markdown.lines().collect();
    let Some(header) = lines.iter().position(|line| is_header(line)) else {
        bail!("no table with the header `| ID | status | test or reason |`");
    };
    let body_start = header + 2;
    if !lines.get(header + 1).is_some_and(|sep| sep.trim_start().starts_with("|-") || sep.contains("---")) {
        bail!("line {}: the ASVS table header must be followed by a `|---|` separator line", header + 2);
    }
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for (index, line) in lines.iter().enumerate().skip(body_start) {
        if !line.trim_start().starts_with('|') {
            break;
        }
        let number = index + 1;
        let cells = cells(line);
        if cells.len() != 3 {
            problems.push(format!("line {number}: expected 3 cells, found {}", cells.len()));
            continue;
        }
        let id = cells[0].trim_matches('`').to_owned();
        if !valid_id(&id) {
            problems.push(format!("line {number}: {id:?} is not an ID like v5.0.0-6.2.1"));
        }
        if !seen.insert(id.clone()) {
            problems.push(format!("line {number}: {id} appears twice"));
        }
        let Some(status) = parse_status(&cells[1]) else {
            problems.push(format!(
                "line {number}: {id}: status {:?} is not `proven`, `not applicable` or `open: issue N`",
                cells[1]
            ));
            continue;
        };
        let evidence = &cells[2];
        let tests = test_refs(evidence);
        match status {
            Status::Proven if tests.is_empty() => {
                problems.push(format!("line {number}: {id} is proven but names no test (path/to/file.rs::test_fn)"));
            }
            Status::NotApplicable if evidence.is_empty() => {
                problems.push(format!("line {number}: {id} is not applicable but gives no reason"));
            }
            _ => {}
        }
        rows.push(Row { line: number, id, status, tests });
    }
    if !problems.is_empty() {
        bail!("the ASVS table is malformed:\n  {}", problems.join("\n  "));
    }
    if rows.is_empty() {
        bail!("the ASVS table has no rows");
    }
    Ok(rows)
}

/// Why a named test was not found under `root`, or `None` when it exists.
pub fn missing(root: &Path, test: &TestRef) -> Option<String> {
    if Path::new(&test.path).components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return Some(format!("{test}: the path must stay inside the repository"));
    }
    let file = root.join(&test.path);
    match std::fs::read_to_string(&file) {
        Ok(source) if source.contains(&format!("fn {}(", test.name)) => None,
        Ok(_) => Some(format!("{test}: {} has no `fn {}(`", test.path, test.name)),
        Err(_) => Some(format!("{test}: no such file {}", test.path)),
    }
}

/// Every missing test, each with the places that name it.
pub fn missing_tests<'a>(root: &Path, named: impl IntoIterator<Item = (String, &'a TestRef)>) -> Vec<String> {
    let mut by_test: BTreeMap<&TestRef, Vec<String>> = BTreeMap::new();
    for (place, test) in named {
        by_test.entry(test).or_default().push(place);
    }
    by_test
        .into_iter()
        .filter_map(|(test, places)| missing(root, test).map(|why| format!("{why} (named by {})", places.join(", "))))
        .collect()
}

/// Checks the documents under `root`; returns the table's counts and the number of distinct tests
/// named, or every problem found.
pub fn check(root: &Path) -> Result<(Counts, usize)> {
    let read = |name: &str| {
        std::fs::read_to_string(root.join(name)).with_context(|| format!("reading {}", root.join(name).display()))
    };
    let security = read(SECURITY_MD)?;
    let rows = parse_table(&security).context(SECURITY_MD)?;
    let counts = Counts::of(&rows);
    println!("{SECURITY_MD}: {} ASVS rows: {counts}", rows.len());
    let mut problems = Vec::new();
    // The counts written under the table must be the real ones.
    let stated = format!("Counts: {counts}");
    if !security.contains(&stated) {
        problems.push(format!("{SECURITY_MD}: the counts under the ASVS table must read `{stated}`"));
    }

    let threat_model = read(THREAT_MODEL_MD)?;
    let mut named: Vec<(String, &TestRef)> = rows
        .iter()
        .flat_map(|row| row.tests.iter().map(move |t| (format!("{} ({SECURITY_MD} line {})", row.id, row.line), t)))
        .collect();
    // Names in the rest of SECURITY.md (the Top 10 sections, say) that the table does not hold.
    let in_table: HashSet<&TestRef> = rows.iter().flat_map(|row| &row.tests).collect();
    let security_refs: Vec<TestRef> = test_refs(&security).into_iter().filter(|t| !in_table.contains(t)).collect();
    let threat_refs = test_refs(&threat_model);
    named.extend(security_refs.iter().map(|t| (SECURITY_MD.to_owned(), t)));
    named.extend(threat_refs.iter().map(|t| (THREAT_MODEL_MD.to_owned(), t)));
    let distinct: HashSet<&TestRef> = named.iter().map(|(_, t)| *t).collect();

    let missing = missing_tests(root, named.iter().map(|(place, t)| (place.clone(), *t)));
    if !missing.is_empty() {
        problems.push(format!(
            "{} of {} named tests do not exist (rename the reference, or restore the test):\n  {}",
            missing.len(),
            distinct.len(),
            missing.join("\n  ")
        ));
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    println!("{} distinct tests named in {SECURITY_MD} and {THREAT_MODEL_MD}: all exist", distinct.len());
    Ok((counts, distinct.len()))
}

pub fn run() -> Result<()> {
    check(paths::root()).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "| ID | status | test or reason |\n|---|---|---|\n";

    fn table(rows: &str) -> String {
        format!("# Security\n\nSome text.\n\n{HEADER}{rows}\nAfter the table.\n")
    }

    fn test_ref(path: &str, name: &str) -> TestRef {
        TestRef { path: path.into(), name: name.into() }
    }

    #[test]
    fn a_row_with_two_tests_names_both() {
        let rows = parse_table(&table(
            "| v5.0.0-6.2.1 | proven | `shared/src/limits.rs::password_bounds`, `server/tests/api.rs::too_short` |\n",
        ))
        .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].id, "v5.0.0-6.2.1");
        assert_eq!(rows[0].status, Status::Proven);
        assert_eq!(rows[0].line, 7);
        assert_eq!(
            rows[0].tests,
            [test_ref("shared/src/limits.rs", "password_bounds"), test_ref("server/tests/api.rs", "too_short")]
        );
    }

    #[test]
    fn statuses_are_counted() {
        let rows = parse_table(&table(
            "| `v5.0.0-9.1.1` | proven | a.rs::t |\n\
             | v5.0.0-6.4.2 | not applicable | there are no security questions |\n\
             | v5.0.0-6.3.3 | open: issue 4 | MFA comes with accounts |\n\
             | v5.0.0-13.3.4 | open: issues 3, 4 | partial: b.rs::u |\n",
        ))
        .unwrap();
        assert_eq!(Counts::of(&rows), Counts { proven: 1, not_applicable: 1, open: 2 });
        assert_eq!(rows[3].tests, [test_ref("b.rs", "u")]);
        assert_eq!(Counts::of(&rows).to_string(), "1 proven, 1 not applicable, 2 open");
    }

    #[test]
    fn malformed_rows_are_all_reported() {
        let error = parse_table(&table(
            "| v5.0.0-6.2.1 | proven | by inspection |\n\
             | v5.0.0-6.2.1 | open: issue 4 | twice |\n\
             | 6.2.2 | open: issue 4 | bad id |\n\
             | v5.0.0-6.2.3 | open | which issue? |\n\
             | v5.0.0-6.2.4 | not applicable | |\n\
             | v5.0.0-6.2.5 | maybe | x |\n\
             | v5.0.0-6.2.6 | proven |\n",
        ))
        .unwrap_err()
        .to_string();
        for expected in [
            "line 7: v5.0.0-6.2.1 is proven but names no test",
            "line 8: v5.0.0-6.2.1 appears twice",
            "line 9: \"6.2.2\" is not an ID",
            "line 10: v5.0.0-6.2.3: status \"open\"",
            "line 11: v5.0.0-6.2.4 is not applicable but gives no reason",
            "line 12: v5.0.0-6.2.5: status \"maybe\"",
            "line 13: expected 3 cells, found 2",
        ] {
            assert!(error.contains(expected), "{expected:?} missing from:\n{error}");
        }
        assert!(parse_table("no table here").is_err());
        assert!(parse_table(HEADER).is_err(), "a table without rows");
    }

    #[test]
    fn test_names_are_found_in_prose_once_each() {
        let text = "See `server/tests/at_rest.rs::a_database_thief_learns_no_message_text_and_no_email`, \
                    crates/vault/src/key_file.rs::refuses_wrong_length; and again \
                    (server/tests/at_rest.rs::a_database_thief_learns_no_message_text_and_no_email). \
                    After a wide character:→e2e/tests/chat.rs::live. \
                    Not tests: palisade_store::Store, foo.rs, x.rs::, std::fs::read, .rs::x.";
        assert_eq!(
            test_refs(text),
            [
                test_ref("server/tests/at_rest.rs", "a_database_thief_learns_no_message_text_and_no_email"),
                test_ref("crates/vault/src/key_file.rs", "refuses_wrong_length"),
                test_ref("e2e/tests/chat.rs", "live"),
            ]
        );
    }

    #[test]
    fn a_missing_test_or_file_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("server/tests")).unwrap();
        std::fs::write(
            root.join("server/tests/api.rs"),
            "#[tokio::test]\nasync fn login_works() {}\n#[test]\nfn limits_hold() {}\nfn limits_hold_too() {}\n",
        )
        .unwrap();
        let present = [test_ref("server/tests/api.rs", "login_works"), test_ref("server/tests/api.rs", "limits_hold")];
        for test in &present {
            assert_eq!(missing(root, test), None, "{test}");
        }
        let renamed = test_ref("server/tests/api.rs", "limits");
        assert!(missing(root, &renamed).unwrap().contains("has no `fn limits(`"));
        let gone = test_ref("server/tests/gone.rs", "anything");
        assert!(missing(root, &gone).unwrap().contains("no such file"));
        let outside = test_ref("../server/tests/api.rs", "login_works");
        assert!(missing(root, &outside).unwrap().contains("inside the repository"));

        let named = [("v5.0.0-6.2.1".to_owned(), &present[0]), ("v5.0.0-6.2.1".to_owned(), &renamed)];
        let problems = missing_tests(root, named.iter().map(|(p, t)| (p.clone(), *t)));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("server/tests/api.rs::limits") && problems[0].contains("v5.0.0-6.2.1"));
    }

    #[test]
    fn check_reads_both_documents_and_fails_on_a_missing_test() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("a.rs"), "#[test]\nfn t() {}\n").unwrap();
        let security = table("| v5.0.0-9.1.1 | proven | `a.rs::t` |\n");
        std::fs::write(root.join(SECURITY_MD), &security).unwrap();
        std::fs::write(root.join(THREAT_MODEL_MD), "Proven by a.rs::t and a.rs::u.\n").unwrap();
        let error = format!("{:#}", check(root).unwrap_err());
        assert!(error.contains("must read `Counts: 1 proven, 0 not applicable, 0 open`"), "{error}");
        assert!(error.contains("1 of 2 named tests do not exist") && error.contains("a.rs::u"), "{error}");

        std::fs::write(root.join(THREAT_MODEL_MD), "Proven by a.rs::t.\n").unwrap();

        std::fs::write(root.join(SECURITY_MD), format!("{security}\n**Counts: 1 proven, 0 not applicable, 0 open**\n"))
            .unwrap();
        let (counts, tests) = check(root).unwrap();
        assert_eq!((counts, tests), (Counts { proven: 1, not_applicable: 0, open: 0 }, 1));

        std::fs::write(root.join(THREAT_MODEL_MD), "Proven by a.rs::gone.\n").unwrap();
        let error = format!("{:#}", check(root).unwrap_err());
        assert!(error.contains("a.rs::gone") && error.contains(THREAT_MODEL_MD), "{error}");
    }
}
